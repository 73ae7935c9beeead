"""Builders the tests share: pipeline outputs written through the pipeline's own writers, and
the typed paper config built from plain mappings (no test imports from another test file)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from emovec.artefacts.declarations import SEPARATION_LAYERS, write_csv
from emovec.emotions import OPPOSITE_PAIRS
from emovec.readers.paper_config import PaperConfig
from emovec.readers.paper_separation import PaperSpec, parse_cell_spec
from emovec.readers.paper_steering import SteeringModelSpec, load_steering_spec
from emovec.readers.paper_valence import parse_valence_spec

__all__ = ["cell_entry", "claim_record", "claims_ledger", "paper_config", "write_separation_csv"]


def cell_entry(model: str, corpus: str, *, n_layers: int, layer: int, method: str = "generation",
               variant: str = "instruct", family: str = "f", partner: str | None = None,
               pooling: str = "last_token", baseline: str = "neutral_mean", normalised: bool = True) -> dict[str, Any]:
    """One ``cells`` entry of the composed paper config, as compose writes it."""
    return {"cell": f"{model}__{corpus}", "model": model, "corpus": corpus, "method": method, "variant": variant,
            "family": family, "partner": partner, "n_layers": n_layers, "layer": layer, "pooling": pooling,
            "baseline": baseline, "normalised": normalised}


def paper_config(cells: Sequence[Mapping[str, Any]] = (), valence_cells: Sequence[Mapping[str, Any]] = (),
                 steering: Mapping[str, Any] | None = None, steering_models: Sequence[Mapping[str, Any]] = (),
                 digits: int = 3) -> PaperConfig:
    """The typed paper config of a run with these entries (any part may be empty). ``steering`` is
    a whole ``steering`` mapping (validated as the paper stage does); ``steering_models`` only its
    models (for statistics that read nothing else: no classifiers or regimes are set)."""
    raw = {"digits": digits, "experiment": "separation", "cells": list(cells), "valence_cells": list(valence_cells),
           "steering": dict(steering) if steering is not None else None}
    spec = load_steering_spec(raw["steering"], digits, "paper.yaml")
    if steering_models:
        spec = dataclasses.replace(spec, models=tuple(
            SteeringModelSpec(model=m["model"], variant=m["variant"], family=m["family"], partner=m.get("partner"))
            for m in steering_models))
    return PaperConfig(
        separation=PaperSpec(digits, "separation", tuple(parse_cell_spec(c, f"cells[{i}]") for i, c in enumerate(cells))),
        valence=parse_valence_spec(raw, Path("paper.yaml")), steering=spec, provenance={}, raw=raw)


def write_separation_csv(path: Path, mean_cosines: Sequence[float], reported: int, **columns: Any) -> None:
    """A separation CSV through the separation stage's writer: one row per layer with these mean
    cosines, ``reported`` flagged, every other column a fixed plausible value or ``columns[name]``."""
    rows = []
    for layer, m in enumerate(mean_cosines):
        row: dict[str, Any] = {
            "layer": layer, "mean_cosine": m, "floor": -0.05, "null_mean": 0.0, "null_lo": -0.02, "null_hi": 0.02,
            "p_null": 0.001, "anisotropy": 0.9, "gap_to_anisotropy": 0.9 - m,
            **{f"cos_{a}-{b}": 0.5 for a, b in OPPOSITE_PAIRS},
            "n_emotions": 20, "n_permutations": 999, "baseline": "neutral_mean", "normalised": True, "removed_k": None,
            "n_stimuli": 60, "min_n_per_emotion": 3, "n_neutral": 3, "pooling": "last_token",
            "is_reported_layer": layer == reported}
        rows.append(row | {k: (v[layer] if isinstance(v, (list, tuple)) else v) for k, v in columns.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(path, SEPARATION_LAYERS, rows)


def claim_record(cid: str, value, measure, *, needs_weights: bool = False, tolerance=0.001, **extra) -> dict:
    """One claims-ledger entry (paper/claims.yaml's shape) with defaults for what a test leaves out."""
    rec = {"id": cid, "paper": "jeong2026", "source": {"doc": "001", "table": "Table 2", "row": "r", "column": "c"},
           "statement": "s", "value": value, "needs_weights": needs_weights, "measure": measure, **extra}
    if tolerance is not None:
        rec["tolerance"] = tolerance
    return rec


def claims_ledger(tmp_path: Path, claims: list[dict]) -> Path:
    """``claims`` written as a claims ledger under ``tmp_path``."""
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump({"claims": claims}))
    return path
