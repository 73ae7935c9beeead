"""Stage model@<m>: provide a model's weights and write its card
(:func:`emovec.models.card.write_model_card`, whose docstring says what is written where)."""

from __future__ import annotations

import argparse

from emovec.config.schema import ModelConfig, load_yaml_dataclass
from emovec.errors import stage_entry
from emovec.models.card import write_model_card


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model-config", required=True)
    ap.add_argument("--out", required=True, help="build/models/<m>.json (the card)")
    ap.add_argument("--weights-out", required=True, help="build/weights/<m> (converted weights, or a note)")
    args = ap.parse_args(argv)
    spec: ModelConfig = load_yaml_dataclass(args.model_config, ModelConfig)
    write_model_card(spec, args.out, args.weights_out)


if __name__ == "__main__":
    raise SystemExit(main())
