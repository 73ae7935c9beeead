"""Stage: train one toy model (toy-base from scratch, toy-instruct continuing from toy-base);
:func:`emovec.toy.train.run_toy_training`.

Only when the selection needs it (``--selected``, written by compose): otherwise the stage writes a
one-line NOT_SELECTED note instead of weights, in well under a second, so a real-model run never
trains a toy (torch is imported only once training is decided)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emovec.config.schema import ModelConfig, load_yaml_dataclass, read_selected_flag
from emovec.errors import stage_entry
from emovec.stages.common import write_not_selected
from emovec.toy.train import run_toy_training


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model-config", required=True)
    ap.add_argument("--toy-config", default="build/config/toy.yaml")
    ap.add_argument("--corpus", default="build/toy/corpus")
    ap.add_argument("--models-dir", default="build/toy/models")
    ap.add_argument("--selected", default=None, help="build/config/toys/<name>.yaml ({selected: bool})")
    args = ap.parse_args(argv)
    spec: ModelConfig = load_yaml_dataclass(args.model_config, ModelConfig)
    if args.selected is not None and not read_selected_flag(args.selected):
        write_not_selected(Path(args.models_dir) / spec.name, f"toy model {spec.name} is not needed by the selection")
        return
    print(run_toy_training(args.model_config, args.toy_config, args.corpus, args.models_dir))


if __name__ == "__main__":
    raise SystemExit(main())
