"""Stage: resolve a model and write its card (source, revision, file hashes, shape).

Downstream stages depend on the card, not on the weights directory: its content changes exactly
when the weights do. For a model without reachable weights this stage fails at once with one
message naming the model and how to provide them, before any expensive work.
"""

from __future__ import annotations

import argparse

from emovec.config import ModelConfig, load_yaml_dataclass
from emovec.io import write_json_atomic
from emovec.models.loading import check_local_dir, load_config_and_tokenizer, model_source, sha256_of_dir, width_and_depth
from emovec.stages.common import stage_entry


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model-config", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    spec: ModelConfig = load_yaml_dataclass(args.model_config, ModelConfig)
    hf_config, tokenizer = load_config_and_tokenizer(spec)
    n_layers, d_model = width_and_depth(hf_config)
    card = {"name": spec.name, "source": spec.local_dir or spec.hf_id, "revision": spec.revision,
            "resolved_commit": getattr(hf_config, "_commit_hash", None), "family": spec.family,
            "variant": spec.variant, "n_layers": n_layers, "d_model": d_model, "dtype": spec.dtype,
            "chat_template": getattr(tokenizer, "chat_template", None) is not None,
            "files_sha256": sha256_of_dir(check_local_dir(spec)) if spec.local_dir else None}
    write_json_atomic(args.out, card)
    print(f"model {spec.name}: {model_source(spec)} ({n_layers} layers, d_model {d_model})")


if __name__ == "__main__":
    raise SystemExit(main())
