"""Compose stage: resolve conf/ for every selected cell and write one small file per consumer.

``dvc repro`` does not compose Hydra configs itself, and edits under conf/ are invisible to DVC
unless conf/ is a dependency. So this stage depends on conf/ and writes, per cell, a slice of the
resolved config for each downstream stage. A stage depends only on its own slice: an edit re-runs
exactly the stages whose slice changed (DVC compares content hashes), and everything else is skipped.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from emovec.config import CONF_DIR, CellConfig, compose_cell, resolve_layer, to_yaml
from emovec.errors import EmovecInputError
from emovec.io import atomic_path
from emovec.stages.common import cell_name, stage_entry

TOY_MODELS = ("toy-base", "toy-instruct")


def read_selection(path: Path) -> dict[str, Any]:
    """The tracked run selection: experiment, models, corpora, overrides."""
    if not path.is_file():
        raise EmovecInputError(f"selection file {path} does not exist")
    sel = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    allowed = {"experiment", "models", "corpora", "overrides"}
    unknown = sorted(set(sel) - allowed)  # type: ignore[arg-type]
    if unknown:
        raise EmovecInputError(f"{path}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    for key in ("experiment", "models", "corpora"):
        if key not in sel:  # type: ignore[operator]
            raise EmovecInputError(f"{path}: missing key {key!r}")
    if not sel["models"] or not sel["corpora"]:  # type: ignore[index]
        raise EmovecInputError(f"{path}: models and corpora must be non-empty lists")
    sel.setdefault("overrides", [])  # type: ignore[union-attr]
    return sel  # type: ignore[return-value]


def upstream_sha256(rel_path: str, manifest: Path = CONF_DIR / "data" / "upstream.yaml") -> str:
    """The pinned sha256 of an upstream input under data/ (from the git-tracked manifest).

    Stimuli stages do not depend on data/ itself (a DVC-tracked, possibly partial directory);
    instead the pinned hash goes into their config slice and the stage verifies the file against
    it. Upstream files are immutable, so the hash stands for the content."""
    from emovec.corpora.manifest import load_manifest

    rel = rel_path.removeprefix("data/")
    for entry in load_manifest(manifest):
        if entry.path == rel:
            return entry.sha256
    raise EmovecInputError(f"{rel_path} is not listed in {manifest}; upstream corpora must come through the manifest")


def slices(cell: CellConfig) -> dict[str, dict[str, Any]]:
    """What each per-cell stage needs, and nothing more (so unrelated edits never re-run it)."""
    full = asdict(cell)
    model, corpus = full["model"], full["corpus"]
    corpus_for_stimuli = {k: v for k, v in corpus.items() if k != "pooling"}
    if cell.corpus.source == "upstream":
        corpus_for_stimuli["input_sha256"] = upstream_sha256(cell.corpus.path or "")
    layer = resolve_layer(cell.vectors.layer, cell.model.n_layers)
    return {
        "stimuli": {"model": model, "corpus": corpus_for_stimuli, "seed": cell.seed},
        "extract": {"model": model, "corpus_kind": corpus["kind"], "extraction": full["extraction"]},
        "vectors": {"emotion_set": corpus["emotion_set"], "pooling": corpus["pooling"], "vectors": full["vectors"]},
        "separation": {"emotion_set": corpus["emotion_set"], "pooling": corpus["pooling"],
                       "vectors": full["vectors"], "separation": full["separation"], "layer": layer},
    }


def paper_cell_entry(cell: CellConfig) -> dict[str, Any]:
    return {"cell": cell_name(cell.model.name, cell.corpus.name), "model": cell.model.name,
            "corpus": cell.corpus.name,
            "method": "generation" if cell.corpus.kind == "generation" else "comprehension",
            "variant": cell.model.variant, "family": cell.model.family, "partner": cell.model.partner,
            "n_layers": cell.model.n_layers, "layer": resolve_layer(cell.vectors.layer, cell.model.n_layers),
            "pooling": cell.corpus.pooling, "baseline": cell.vectors.baseline,
            "normalised": cell.vectors.normalise}


def compose_all(selection: dict[str, Any], out_dir: Path, conf_dir: Path = CONF_DIR) -> None:
    """Compose every cell first (so any error comes before anything is written), then write."""
    cells = [compose_cell(m, c, selection["experiment"], list(selection["overrides"]), conf_dir)
             for m in selection["models"] for c in selection["corpora"]]
    toy_cells = {m: compose_cell(m, selection["corpora"][0], selection["experiment"],
                                 list(selection["overrides"]), conf_dir) for m in TOY_MODELS}
    models = {c.model.name: c.model for c in cells} | {m: c.model for m, c in toy_cells.items()}
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        first = cells[0]
        (tmp / "toy.yaml").write_text(to_yaml(first.toy))
        for name, spec in models.items():
            (tmp / "models").mkdir(exist_ok=True)
            (tmp / "models" / f"{name}.yaml").write_text(to_yaml(spec))
        for cell in cells:
            name = cell_name(cell.model.name, cell.corpus.name)
            cdir = tmp / "cells" / name
            cdir.mkdir(parents=True)
            for stage, content in slices(cell).items():
                (cdir / f"{stage}.yaml").write_text(to_yaml(content))
            (tmp / "resolved").mkdir(exist_ok=True)
            (tmp / "resolved" / f"{name}.yaml").write_text(to_yaml(cell))
        paper = {"digits": first.paper.digits, "experiment": selection["experiment"],
                 "cells": [paper_cell_entry(c) for c in cells]}
        (tmp / "paper.yaml").write_text(to_yaml(paper))


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--selection", default=str(CONF_DIR / "selection.yaml"))
    ap.add_argument("--out", default="build/config")
    args = ap.parse_args(argv)
    compose_all(read_selection(Path(args.selection)), Path(args.out))


if __name__ == "__main__":
    raise SystemExit(main())
