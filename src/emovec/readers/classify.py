"""The classify stage's tracked output ``<classify_dir>/<model>.csv``, read and cross-checked
against the model's measures.

Long form: one row per (classifier, generation) with the target label, its score ``p_target``
and the classifier's own label scores as JSON (columns
``emovec.artefacts.CLASSIFY_SCORES``, documented in ``emovec.stages.steer_classify``).
Every classifier listed in the paper config reads every generation; ``p_target`` is a
probability for the 7-label classifiers, a share of lexicon hits for the NRC lexicon and VADER's
compound valence signed by the target emotion's valence for VADER.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emovec.artefacts.declarations import CLASSIFY_SCORES
from emovec.errors import EmovecInputError
from emovec.readers.checked import first_row, read_checked_csv, require_text_columns
from emovec.readers.paper_steering import ClassifierSpec

__all__ = ["read_classified"]

# The classifier CSV writes p_target and the score it copies at the same precision.
_P_TOL = 1e-6


def _parse_scores(text: Any, c: ClassifierSpec, where: str) -> dict[str, float]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise EmovecInputError(f"{where}: column 'scores' is not a JSON object: {text!r}")
    if set(value) != set(c.labels):
        raise EmovecInputError(f"{where}: column 'scores' has labels {sorted(value)}; classifier {c.name!r} has "
                               f"{list(c.labels)}")
    out = {}
    for lab in c.labels:
        v = value[lab]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise EmovecInputError(f"{where}: column 'scores': {lab!r} is {v!r}, not a finite number")
        if not c.score_min - _P_TOL <= v <= c.score_max + _P_TOL:
            raise EmovecInputError(f"{where}: column 'scores': {lab!r} = {v!r} lies outside classifier "
                                   f"{c.name!r}'s range [{c.score_min:g}, {c.score_max:g}]")
        out[lab] = float(v)
    return out


def read_classified(path: Path, measures: pd.DataFrame, mpath: Path,
                     classifiers: Sequence[ClassifierSpec]) -> dict[str, pd.DataFrame]:
    """Read the long-form classify CSV: per configured classifier, ``measures`` merged with its
    rows (see ``SteeringData.classified``). Errors name the file, the column, the 0-based data
    row and the classifier."""
    df = read_checked_csv(path, CLASSIFY_SCORES.names, CLASSIFY_SCORES.numeric, (), CLASSIFY_SCORES.nullable)
    require_text_columns(df, path, (*CLASSIFY_SCORES.text, "scores"))
    wanted = [c.name for c in classifiers]
    present = list(dict.fromkeys(df["classifier"]))
    lacking, extra = [n for n in wanted if n not in present], [n for n in present if n not in wanted]
    if lacking or extra:
        raise EmovecInputError(
            f"{path}: column 'classifier' holds {present} but the paper config lists {wanted} (no rows for "
            f"{lacking}, rows of unlisted {extra}); stale output? re-run the steer_classify stage")
    dup = df.duplicated(["classifier", "id"])
    if dup.any():
        row = first_row(dup)
        raise EmovecInputError(f"{path}: row {row}: id {df['id'].iloc[row]!r} appears twice for classifier "
                               f"{df['classifier'].iloc[row]!r}")
    hits = df["n_hits"].to_numpy(dtype=float)
    bad = np.isfinite(hits) & ((hits < 0) | (hits != np.round(hits)))
    if bad.any():
        raise EmovecInputError(f"{path}: column 'n_hits' row {int(np.flatnonzero(bad)[0])} must be a count >= 0")
    expected = set(measures["id"])
    out: dict[str, pd.DataFrame] = {}
    for c in classifiers:
        part = df[df["classifier"] == c.name]
        ids = set(part["id"])
        if ids != expected:
            more, less = sorted(ids - expected), sorted(expected - ids)
            raise EmovecInputError(
                f"{path}: ids of classifier {c.name!r} do not match {mpath} one to one ({len(less)} id(s) of "
                f"{mpath} missing, e.g. {less[:3]}; {len(more)} id(s) not in {mpath}, e.g. {more[:3]}); "
                "stale output?")
        wrong = part["display_name"] != c.display_name
        if wrong.any():
            row = int(part.index[first_row(wrong)])
            raise EmovecInputError(
                f"{path}: column 'display_name' row {row} is {df.at[row, 'display_name']!r}; the paper config "
                f"names classifier {c.name!r} {c.display_name!r}; stale output?")
        bad = ~part["target_label"].isin(c.labels)
        if bad.any():
            row = int(part.index[first_row(bad)])
            raise EmovecInputError(f"{path}: column 'target_label' row {row}: {df.at[row, 'target_label']!r} is "
                                   f"not a label of classifier {c.name!r} {list(c.labels)}")
        cols: dict[str, list[float]] = {f"p_{lab}": [] for lab in c.labels}
        for i, text, label, p in zip(part.index, part["scores"], part["target_label"], part["p_target"],
                                     strict=True):
            scores = _parse_scores(text, c, f"{path}: row {i} (classifier {c.name!r})")
            if abs(scores[label] - p) > _P_TOL:
                raise EmovecInputError(f"{path}: column 'p_target' row {i} ({p!r}) differs from the score of "
                                       f"its target label {label!r} ({scores[label]!r})")
            for lab in c.labels:
                cols[f"p_{lab}"].append(scores[lab])
        frame = part[["id", "classifier", "display_name", "target_label", "p_target", "n_hits"]].assign(**cols)
        merged = measures.merge(frame, on="id", how="left", validate="one_to_one", sort=False)
        per = merged.groupby("scenario", sort=True)["target_label"].nunique()
        if (per > 1).any():
            raise EmovecInputError(f"{path}: column 'target_label' of classifier {c.name!r} differs between "
                                   f"generations of scenario {per.index[per > 1][0]!r} (ids from {mpath})")
        out[c.name] = merged
    return out
