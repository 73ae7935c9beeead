"""Synthetic valence outputs (layers.csv, norms.csv, summary.json, bootstrap.npz, CKA) written
through the pipeline's own writers, with planted peaks: the fixture of the valence tables,
figures and analyses tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from emovec.analysis.catalogue import with_analyses
from emovec.artefacts.declarations import VALENCE_LAYERS, VALENCE_NORMS, VALENCE_SUMMARY, write_csv, write_json
from emovec.readers.paper_inputs import PaperInputs, ValenceInputs
from emovec.readers.paper_valence import ValenceSpec, parse_valence_spec
from emovec.readers.valence import load_cka, load_valence_cells
from emovec.report.tables import build_tables

N_LAYERS = 4
DIGITS = 3
FAMILY = "toy_fam"
MODELS = {"toy_base": "base", "toy-instruct": "instruct"}
CORPORA = {"stories-a": "project", "stories-b": "upstream:gemma-4-e4b-it"}
MISSING_CELL = "toy-instruct__stories-b"
EMOTIONS = ["afraid", "angry", "calm", "desperate", "excited", "guilty", "happy", "loving",
            "proud", "sad", "surprised", "tired"]
FALLBACK = {"desperate": "warriner", "guilty": "warriner"}
ESTIMATED = {"proud": "estimate_from_pride"}
EXCLUDED = ["brooding", "zealous"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TARGETS = ("valence", "arousal")


def valence_summary(emotions: Sequence[str] = EMOTIONS, **keys: object) -> dict:
    """A valence summary.json record holding every declared key (VALENCE_SUMMARY); ``keys`` override."""
    summary = {
        "cell": "m__c", "model": "m", "corpus": "c", "generator": "m", "norms": "nrc-vad", "norms_fallback": "warriner",
        "on_missing": "exclude", "emotion_set": "toy12", "n_emotions": len(emotions), "emotions": list(emotions),
        "n_layers": N_LAYERS, "pooling": "story_mean", "mean_offset": 1, "baseline": "neutral_mean",
        "weighting": "equal", "normalise": False, "n_stories": {e: 10 for e in emotions}, "n_neutral": 8,
        "n_excluded_short": 1, "excluded_short_by_label": {"neutral": 1}, "removed_k": None, "n_boot": 200,
        "n_perm": 999, "seed": 7, "ci_level": 0.95, "orientation": "anchor_valence", "anchors": ["happy", "sad"],
        "pc_matching": "order", "max_swap_rate": 0.05, "peaks": {}, "compare": None,
    }
    unknown = keys.keys() - summary.keys()
    assert not unknown, f"undeclared summary keys {sorted(unknown)}"
    return summary | keys


def valence_cells() -> list[dict]:
    out = []
    for model, variant in MODELS.items():
        for corpus, generator in CORPORA.items():
            cell = f"{model}__{corpus}"
            if cell == MISSING_CELL:
                continue
            out.append({"cell": cell, "model": model, "corpus": corpus, "generator": generator,
                        "variant": variant, "family": FAMILY, "n_layers": N_LAYERS, "norms": "nrc-vad",
                        "emotion_set": "toy12"})
    return out


def planted_norms(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for emo in EMOTIONS:
        v, a = rng.uniform(-1, 1, size=2)
        status = "fallback" if emo in FALLBACK else "found"
        rows.append({"emotion": emo, "valence": round(v, 6), "arousal": round(a, 6),
                     "norm": FALLBACK.get(emo, "nrc-vad"), "lemma": emo, "valence_raw": round((v + 1) / 2, 6),
                     "arousal_raw": round((a + 1) / 2, 6), "raw_scale": "0-1", "status": status,
                     "note": ESTIMATED.get(emo, "")})
    for emo in EXCLUDED:
        rows.append({"emotion": emo, "valence": None, "arousal": None, "norm": "", "lemma": emo,
                     "valence_raw": None, "arousal_raw": None, "raw_scale": "", "status": "excluded",
                     "note": "not in norms"})
    return pd.DataFrame(rows)


def planted_layers(rng: np.random.Generator) -> pd.DataFrame:
    lam1 = rng.uniform(2, 4, size=N_LAYERS)
    lam2 = rng.uniform(0.5, 1.9, size=N_LAYERS)
    df = pd.DataFrame({"layer": range(N_LAYERS), "n_emotions": len(EMOTIONS), "lambda1": lam1, "lambda2": lam2,
                       "lambda_ratio": lam1 / lam2, "lambda_ratio_ci_low": np.maximum(lam1 / lam2 - 0.4, 1.0),
                       "lambda_ratio_ci_high": lam1 / lam2 + 0.9, "evr1": lam1 / 10, "evr2": lam2 / 10,
                       "n_boot_valid": 200, "swap_rate": rng.choice([0.0, 0.01, 0.2], size=N_LAYERS)})
    for t, pc in zip(TARGETS, (1, 2), strict=True):
        r = rng.uniform(-0.9, 0.9, size=N_LAYERS)
        p = rng.uniform(0.0, 0.2, size=N_LAYERS)
        rho = r - 0.05
        df[f"{t}_pc"] = pc
        df[f"{t}_r"], df[f"{t}_r_ci_low"], df[f"{t}_r_ci_high"] = r, r - 0.21, np.minimum(r + 0.17, 1.0)
        df[f"{t}_p_perm"], df[f"{t}_p_fdr"], df[f"{t}_p_maxT"] = p, np.minimum(p * 1.7, 1), np.minimum(p * 3.1, 1)
        df[f"{t}_rho"], df[f"{t}_rho_ci_low"], df[f"{t}_rho_ci_high"] = rho, rho - 0.2, rho + 0.2
        df[f"{t}_rho_p_perm"], df[f"{t}_rho_p_fdr"] = p, np.minimum(p * 1.7, 1)
        big_r = np.minimum(np.abs(r) + 0.05, 1.0)
        df[f"{t}_R"], df[f"{t}_R_ci_low"], df[f"{t}_R_ci_high"] = big_r, big_r - 0.2, np.minimum(big_r + 0.1, 1.0)
        df[f"{t}_angle"] = rng.uniform(0, 90, size=N_LAYERS)
    # One p below the printed resolution, so the "<0.001" path is exercised.
    df.loc[int(np.argmax(np.abs(df["valence_r"]))), "valence_p_fdr"] = 0.0004
    return df


def planted_peak(df: pd.DataFrame, t: str) -> dict:
    layer = int(np.argmax(np.abs(df[f"{t}_r"].to_numpy())))
    row = df.iloc[layer]
    return {"layer": layer, "pc": int(row[f"{t}_pc"]), "r": float(row[f"{t}_r"]),
            "r_ci_low": float(row[f"{t}_r_ci_low"]), "r_ci_high": float(row[f"{t}_r_ci_high"]),
            "p_perm": float(row[f"{t}_p_perm"]), "p_fdr": float(row[f"{t}_p_fdr"]),
            "p_max": float(row[f"{t}_p_maxT"]), "rho": float(row[f"{t}_rho"]),
            "lambda_ratio": float(row["lambda_ratio"]), "abs_r": abs(float(row[f"{t}_r"])),
            "lambda_ratio_ci_low": float(row["lambda_ratio_ci_low"]),
            "lambda_ratio_ci_high": float(row["lambda_ratio_ci_high"]), "swap_rate": float(row["swap_rate"]),
            "identified": bool(row["swap_rate"] <= 0.05), "R": float(row[f"{t}_R"]),
            "R_ci_low": float(row[f"{t}_R_ci_low"]), "R_ci_high": float(row[f"{t}_R_ci_high"]),
            "angle": float(row[f"{t}_angle"])}


def write_valence_outputs(root: Path) -> dict[str, Path]:
    """Consistent synthetic outputs: 2 models x 2 corpora with one cell not run."""
    rng = np.random.default_rng(0)
    val_dir, cka_dir, cfg_dir = root / "valence", root / "cka", root / "config"
    for p in (cka_dir, cfg_dir):
        p.mkdir(parents=True)
    norms = planted_norms(rng)
    scored = norms[norms["status"] != "excluded"]
    for i, c in enumerate(valence_cells()):
        d = val_dir / c["cell"]
        d.mkdir(parents=True)
        layers = planted_layers(rng)
        write_csv(d / "layers.csv", VALENCE_LAYERS, layers.to_dict("records"))  # the valence stage's writer
        compare = None
        if i % 2 == 0:  # every other cell ran the comparison baseline
            compare_layers = planted_layers(rng)
            write_csv(d / "compare_layers.csv", VALENCE_LAYERS, compare_layers.to_dict("records"))
            compare = {"baseline": "neutral_pca", "variance_threshold": 0.5, "removed_k": [2] * N_LAYERS,
                       "peaks": {t: planted_peak(compare_layers, t) for t in TARGETS}}
        write_csv(d / "norms.csv", VALENCE_NORMS, norms.to_dict("records"))
        valence, arousal = scored["valence"].to_numpy(), scored["arousal"].to_numpy()
        scores = rng.normal(size=(N_LAYERS, len(EMOTIONS), 2))
        scores[..., 0] += 2 * valence[None, :]
        np.savez(d / "scores.npz", scores=scores, emotions=np.array(EMOTIONS), valence=valence, arousal=arousal)
        summary = valence_summary(
            cell=c["cell"], model=c["model"], corpus=c["corpus"], generator=c["generator"],
            n_stories={e: 10 + i % 3 for i, e in enumerate(EMOTIONS)},
            peaks={t: planted_peak(layers, t) for t in TARGETS}, compare=compare)
        write_json(d / "summary.json", VALENCE_SUMMARY, summary)  # the valence stage's writer
    for model in MODELS:
        corpora = [c["corpus"] for c in valence_cells() if c["model"] == model]
        k = len(corpora)
        lbl = rng.uniform(-0.1, 1.0, size=(k, N_LAYERS, N_LAYERS))
        pairs = np.array([corpora], dtype=str) if k == 2 else np.empty((0, 2), dtype=str)
        between = rng.uniform(0, 1, size=(len(pairs), N_LAYERS))
        np.savez(cka_dir / f"{model}.npz", corpora=np.array(corpora), layer_by_layer=lbl, pairs=pairs,
                 between_corpora=between, n_emotions=len(EMOTIONS))
    cfg = cfg_dir / "paper.yaml"
    cfg.write_text(yaml.safe_dump({"digits": DIGITS, "experiment": "separation", "cells": [],
                                   "valence_cells": valence_cells()}), encoding="utf-8")
    return {"config": cfg, "valence": val_dir, "cka": cka_dir}


def build_valence_tables(spec, cells) -> dict[str, str]:
    """The registered valence tables of a run with only these valence cells ({} without cells)."""
    valence = ValenceInputs(spec=spec, cells=cells, cka={}) if spec.cells else None
    return build_tables(with_analyses(PaperInputs(valence=valence)))


def read_valence_spec(path: Path) -> ValenceSpec:
    return parse_valence_spec(yaml.safe_load(path.read_text()), path)


def load_valence_outputs(inp: dict[str, Path]):
    spec = read_valence_spec(inp["config"])
    return spec, load_valence_cells(spec, inp["valence"]), load_cka(spec, inp["cka"])
