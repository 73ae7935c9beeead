"""Synthetic separation outputs (CSV, NPZ, resampling JSON, paper.yaml) written through the
pipeline's own writers, and the paper and analyses stages run on them: the fixture of the
separation tables, figures, analyses and findings tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import yaml

from emovec.artefacts.declarations import RESAMPLING_RECORD, SEPARATION_LAYERS, write_csv, write_json
from emovec.emotions import JEONG_20, OPPOSITE_PAIRS
from emovec.geometry.resampling import per_emotion_cosine
from emovec.geometry.separation import cosine_floor, mean_pairwise_cosine, pair_cosines
from emovec.stages.analyses import main as analyses_main

N_LAYERS = 4
LAYER = N_LAYERS // 2
D = 16
# Awkward names on purpose: LaTeX specials in the family and an underscore in a model name.
FAMILY = "toy_fam & co"
MODELS = {"toy_base": ("base", "toy-instruct"), "toy-instruct": ("instruct", "toy_base")}
CORPORA = {"toy-generation": ("generation", "mid_generation"),
           "toy-comprehension": ("comprehension", "last_token")}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PROVENANCE = {"config_hash": "0123456789abcdef" * 4, "models": ["toy_base (local@unpinned, float32)"],
              "axes": {"baseline": "neutral_mean", "layer": "middle"}}


def separation_cells() -> list[dict]:
    cells = []
    for model, (variant, partner) in MODELS.items():
        for corpus, (method, pooling) in CORPORA.items():
            cells.append({"cell": f"{model}__{corpus}", "model": model, "corpus": corpus, "method": method,
                          "variant": variant, "family": FAMILY, "partner": partner, "n_layers": N_LAYERS,
                          "layer": LAYER, "pooling": pooling, "baseline": "neutral_mean", "normalised": True})
    return cells


def write_separation_outputs(root: Path) -> dict[str, Path]:
    """Synthetic pipeline outputs: vectors with a layer-dependent shared direction (a U-curve)."""
    rng = np.random.default_rng(0)
    sep_dir, vec_dir, cfg_dir = root / "separation", root / "vectors", root / "config"
    for p in (sep_dir, vec_dir, cfg_dir):
        p.mkdir(parents=True)
    cells = separation_cells()
    n = len(JEONG_20)
    for i, c in enumerate(cells):
        common = rng.normal(size=D)
        weight = np.array([2.0, 0.6 + 0.1 * i, 0.9, 2.5])  # shared direction: high at the ends
        vecs = rng.normal(size=(n, N_LAYERS, D)) + weight[None, :, None] * common[None, None, :]
        vecs /= np.linalg.norm(vecs, axis=-1, keepdims=True)
        vecs = vecs.astype(np.float32)
        buf = io.BytesIO()
        np.savez(buf, vectors=vecs, emotions=np.array(JEONG_20))
        (vec_dir / f"{c['cell']}.npz").write_bytes(buf.getvalue())
        mc = mean_pairwise_cosine(vecs)
        pcs = pair_cosines(vecs, JEONG_20, OPPOSITE_PAIRS)
        aniso = rng.uniform(0.5, 0.9, size=N_LAYERS)
        null_mean = rng.uniform(-0.01, 0.01, size=N_LAYERS)
        rows = []
        for layer in range(N_LAYERS):
            row = {"layer": layer, "mean_cosine": mc[layer], "floor": cosine_floor(n),
                   "null_mean": null_mean[layer], "null_lo": null_mean[layer] - 0.02,
                   "null_hi": null_mean[layer] + 0.02, "p_null": [0.5, 0.0009, 0.01, 0.2][layer],
                   "anisotropy": aniso[layer], "gap_to_anisotropy": aniso[layer] - mc[layer]}
            row.update({f"cos_{k}": v[layer] for k, v in pcs.items()})
            row.update(n_emotions=n, n_permutations=999, baseline="neutral_mean", normalised=True,
                       removed_k=None, n_stimuli=60, min_n_per_emotion=3, n_neutral=3,
                       pooling=c["pooling"], is_reported_layer=layer == LAYER)
            rows.append(row)
        # The separation stage's own writer, so the tables must reproduce CSV values.
        write_csv(sep_dir / f"{c['cell']}.csv", SEPARATION_LAYERS, rows)
        # The resampling record at the reported layer (LOO, per-emotion, bootstrap replicates).
        gen = c["method"] == "generation"
        n_loo = 5 if gen else 3
        resampling = {
            "layer": LAYER, "mean_cosine": float(mc[LAYER]), "emotions": list(JEONG_20),
            "per_emotion": [float(x) for x in per_emotion_cosine(vecs[:, LAYER, :])],
            "loo": [float(x) for x in mc[LAYER] + rng.normal(0, 0.01, n_loo)], "n_loo": n_loo,
            "n_per_emotion": {e: n_loo for e in JEONG_20},
            "bootstrap": [float(x) for x in mc[LAYER] + rng.normal(0, 0.03, 200)], "seed": 0,
            "baseline": "neutral_mean", "pooling": c["pooling"], "bootstrap_by_layer": [],
            "pair_bootstrap": {}, "anisotropy_bootstrap": [], "n_anisotropy": 0}
        # The resampling stage's own writer: the record holds exactly the declared keys.
        write_json(sep_dir / f"{c['cell']}.resampling.json", RESAMPLING_RECORD, resampling)
    cfg = cfg_dir / "paper.yaml"
    cfg.write_text(yaml.safe_dump({"digits": 3, "experiment": "separation", "cells": cells,
                                   "provenance": PROVENANCE}))
    return {"config": cfg, "separation": sep_dir, "vectors": vec_dir}


def paper_stage_argv(inp: dict[str, Path], out: Path) -> list[str]:
    """The paper stage's flags; the analyses it formats are in ``inp["analyses"]`` (written by
    :func:`run_analyses_stage`; absent when a test checks a bad input, which is refused first)."""
    analyses = inp.get("analyses", inp["config"].parent / "analyses")
    return ["--config", str(inp["config"]), "--separation-dir", str(inp["separation"]),
            "--vectors-dir", str(inp["vectors"]), "--analyses-dir", str(analyses), "--tables-dir", str(out / "tables"),
            "--figures-dir", str(out / "figures")]


def run_analyses_stage(inp: dict[str, Path]) -> dict[str, Path]:
    """Run the analyses stage on the inputs, as dvc repro does before the paper stage."""
    inp = {**inp, "analyses": inp["config"].parent / "analyses"}
    assert analyses_main(["--config", str(inp["config"]), "--separation-dir", str(inp["separation"]),
                          "--vectors-dir", str(inp["vectors"]), "--out", str(inp["analyses"])]) == 0
    return inp
