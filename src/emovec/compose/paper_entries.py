"""What the compose stage writes into ``build/config/paper.yaml`` (and ``cka.yaml``) beside the
stage slices: one entry per reported cell, the steering models and rules, the model families,
and the provenance every table prints. Read back by :mod:`emovec.readers.paper_config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emovec.artefacts.declarations import cell_name
from emovec.config.schema import CellConfig, ModelConfig, resolve_layer
from emovec.errors import EmovecInputError

__all__ = ["generator_name", "model_families", "model_source_phrase", "paper_cell_entry", "provenance_entry",
           "steering_check_entry", "steering_paper_entry", "valence_cell_entry"]


def generator_name(cell: CellConfig) -> str:
    """Who wrote a story corpus: a model config name, 'project' or 'upstream:<model>'."""
    c = cell.corpus
    if c.source == "project":
        return "project"
    if c.source == "upstream":
        return f"upstream:{c.stories.generator or 'unknown'}"
    return str(c.stories.generator)


def valence_cell_entry(cell: CellConfig) -> dict[str, Any]:
    """One entry of ``valence_cells`` in the paper (and CKA) config: a story cell as the tables name it."""
    return {"cell": cell_name(cell.model.name, cell.corpus.name), "model": cell.model.name,
            "corpus": cell.corpus.name, "generator": generator_name(cell), "variant": cell.model.variant,
            "family": cell.model.family, "n_layers": cell.model.n_layers, "norms": cell.valence.norms,
            "emotion_set": cell.corpus.emotion_set}


def paper_cell_entry(cell: CellConfig) -> dict[str, Any]:
    """One entry of ``cells`` in the paper config: a separation cell with its reported layer and method."""
    return {"cell": cell_name(cell.model.name, cell.corpus.name), "model": cell.model.name,
            "corpus": cell.corpus.name,
            "method": "generation" if cell.corpus.kind == "generation" else "comprehension",
            "variant": cell.model.variant, "family": cell.model.family, "partner": cell.model.partner,
            "n_layers": cell.model.n_layers, "layer": resolve_layer(cell.vectors.layer, cell.model.n_layers),
            "pooling": cell.corpus.pooling, "baseline": cell.vectors.baseline,
            "normalised": cell.vectors.normalise}


def steering_paper_entry(cells: list[CellConfig]) -> dict[str, Any]:
    """What the paper stage needs to render the steering tables: models, classifier, regimes."""
    from emovec.readers.paper_steering import SteeringModelSpec, steering_entry  # the shape's one home
    from emovec.steering.classifiers import classifier_display_name

    if not cells:
        return steering_entry([], [], None, None)
    first = cells[0].steering
    for c in cells[1:]:
        if (c.steering.classifiers, c.steering.regimes, c.steering.ci_level) != (first.classifiers, first.regimes, first.ci_level):
            raise EmovecInputError(f"model {c.model.name!r}: its classifiers/regimes/ci_level differ from "
                                   f"{cells[0].model.name!r}'s; one steering table compares models under one rule")
    models = [SteeringModelSpec(model=c.model.name, variant=c.model.variant, family=c.model.family,
                                partner=c.model.partner) for c in cells]
    return steering_entry(models, [(c.name, classifier_display_name(c)) for c in first.classifiers],
                          first.regimes, first.ci_level)


def model_families(conf_dir: Path) -> list[str]:
    """Every ``family:`` named in ``conf_dir/model/*.yaml``, sorted: the families a findings entry's
    ``applies.family`` may name (recorded in paper.yaml so the findings stage need not read conf/)."""
    import yaml

    names = set()
    for p in sorted((conf_dir / "model").glob("*.yaml")):
        family = (yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("family")
        if isinstance(family, str):
            names.add(family)
    return sorted(names)


def steering_check_entry(check: dict[str, Any] | None, cells: list[CellConfig]) -> dict[str, Any] | None:
    """The paper's view of the steering check: its label, overrides and the norm reference and
    strengths it ran (None when the selection has no check)."""
    if not check:
        return None
    return {"label": check["label"], "overrides": check["overrides"], "models": [c.model.name for c in cells],
            "norm_reference": sorted({c.steering.norm_reference for c in cells}),
            "strengths": sorted({float(x) for c in cells for x in c.steering.strengths})}


def model_source_phrase(m: ModelConfig) -> str:
    """Where a model's weights came from, for provenance lines and captions: a packaged GGUF says
    package, version, sha256 and that it is a quantised checkpoint dequantised to ``dtype``."""
    w = m.weights
    if w is None:
        return f"{m.hf_id or m.local_dir or 'unknown'}@{m.revision or 'unpinned'}, {m.dtype}"
    packages = [f"{c.package}=={c.version}" for c in w.chunks] if w.chunks else [f"{w.package}=={w.version}"]
    what = f"{len(w.chunks)} chunks" if w.chunks else (w.file or "").rsplit("/", 1)[-1]
    return (f"quantised {w.quantisation} GGUF checkpoint {what} from {' + '.join(packages)}, sha256 {w.sha256[:16]}, "
            f"dequantised to {m.dtype}")


def _values(items: list[str]) -> str:
    """Distinct values in first-seen order, joined: one value when every cell agrees."""
    return " / ".join(dict.fromkeys(items)) or "none"


def provenance_entry(cells: list[CellConfig], story_cells: list[CellConfig], steering_cells: list[CellConfig],
                     config_hash: str) -> dict[str, Any]:
    """What every generated table states about its origin (besides the git revision, which the
    paper stage adds at run time): the hash of every composed config slice, the models with
    their weight source and revision, and the value of each method axis across the cells."""
    all_cells = [*cells, *story_cells]
    models = {c.model.name: c.model for c in all_cells}
    model_rows = []
    for name, m in models.items():
        model_rows.append(f"{name} ({model_source_phrase(m)})")
    axes = {
        "emotions": _values([c.corpus.emotion_set for c in all_cells]),
        "pooling": _values([f"{c.corpus.kind}={c.corpus.pooling}" for c in all_cells]),
        "baseline": _values([c.vectors.baseline for c in all_cells]),
        "normalise": _values([str(c.vectors.normalise).lower() for c in all_cells]),
        "layer": _values([str(c.vectors.layer) for c in cells]),
        "stimulus decoding": _values([("sampled T=%g top-p=%g" % (c.corpus.decoding.temperature, c.corpus.decoding.top_p))
                                      if c.corpus.decoding.do_sample else "greedy"
                                      for c in all_cells if c.corpus.kind == "generation"]),
        "norms": _values([c.valence.norms for c in story_cells]),
        "steering": _values([f"layers={c.steering.layers}, {c.steering.norm_reference}, "
                             + ("sampled" if c.steering.decoding.do_sample else "greedy") for c in steering_cells]),
        "cache": _values([c.extraction.cache_dtype for c in all_cells]),
    }
    return {"config_hash": config_hash, "models": model_rows, "axes": axes}
