"""The steering experiment's tracked outputs, read and cross-checked.

Per model the steer stage writes ``<steering_dir>/<model>/measures.csv`` (one row per
generation: scenario, condition, signed strength, text measures, target-emotion projection and
its change against the unsteered generation; columns
``emovec.artefacts.STEERING_MEASURES``) and ``summary.json`` (settings); the classify stage
writes ``<classify_dir>/<model>.csv`` (read by ``emovec.readers.classify``).

Conditions of one scenario (a prompt, a target emotion, a direction +1/-1 and a signed protocol
strength): ``unsteered``; ``induction`` (the prompt asks for the emotion, nothing is steered);
``emotion`` (the emotion vector added at every steered layer, at every magnitude of the sweep
and at the protocol strength); ``random`` (``n_random`` random unit directions of matched norm,
same strengths).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emovec.artefacts.declarations import STEERING_MEASURES as M
from emovec.artefacts.declarations import STEERING_NORMS, STEERING_SUMMARY
from emovec.config.values import require_int, require_mapping, require_number, require_str
from emovec.errors import EmovecInputError
from emovec.readers.checked import (
    first_row,
    parse_bool,
    read_checked_csv,
    read_json_artefact,
    require_text_columns,
)
from emovec.readers.classify import read_classified
from emovec.readers.paper_steering import SteeringModelSpec, SteeringSpec, steering_sort_key

__all__ = [
    "CONDITIONS",
    "SteeringData",
    "load_steering",
    "magnitude_key",
    "same_strength",
]

CONDITIONS: tuple[str, ...] = ("unsteered", "induction", "emotion", "random")
_SCENARIO_KEYS: tuple[str, ...] = ("name", "emotion", "prompt", "strength", "direction")

# Strengths are written by the stage as short decimals (0.005, 0.05); a relative tolerance
# absorbs float round-trips through CSV/JSON without merging genuinely different strengths.
_STRENGTH_RTOL = 1e-6


@dataclass(frozen=True, eq=False)
class SteeringData:
    """One model's validated steering outputs.

    Attributes:
        spec: the model's config entry.
        measures: ``measures.csv`` (one row per generation, file order); integer columns as
            int, ``random_index`` as pandas Int64 (NA off random rows), ``is_protocol`` as
            bool, ``leaked_tokens`` as tuples of str. No classifier columns: see ``classified``.
        classified: per classifier name (config order), ``measures`` merged with that
            classifier's ``classifier, display_name, target_label, p_target, n_hits`` (float,
            NaN when the classifier has no lexicon) and one ``p_<label>`` column per label of
            the classifier (its score; a probability only for probability classifiers).
        summary: ``summary.json`` as read.
        scenarios: one row per scenario sorted by scenario_index: ``scenario, scenario_index,
            emotion, direction, protocol`` (the protocol magnitude, unsigned).
        measures_path, summary_path, classify_path: where they were read from (for errors).
    """

    spec: SteeringModelSpec
    measures: pd.DataFrame
    classified: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    scenarios: pd.DataFrame
    measures_path: Path
    summary_path: Path
    classify_path: Path | None
    norms: pd.DataFrame | None = None

    def scores(self, classifier: str) -> pd.DataFrame:
        """``classified[classifier]``; an unknown name lists the classifiers that were read."""
        if classifier not in self.classified:
            raise EmovecInputError(f"classifier {classifier!r} did not read {self.classify_path}; "
                                   f"it holds {list(self.classified)}")
        return self.classified[classifier]


def same_strength(a: float, b: float) -> bool:
    """Whether two steering magnitudes are the same strength (equal up to CSV/JSON float noise)."""
    return math.isclose(a, b, rel_tol=_STRENGTH_RTOL, abs_tol=1e-12)


def magnitude_key(x: float) -> float:
    """A magnitude rounded to 9 significant digits: a grouping key that merges magnitudes
    differing only by float noise from CSV round-trips."""
    return float(f"{float(x):.9g}")


def _read_measures(path: Path, model: str) -> pd.DataFrame:
    df = read_checked_csv(path, M.names, M.numeric, (), M.nullable)
    # random_index is nullable, so read_checked_csv cannot convert it; the others it could but
    # would not name the row, so every integer column is checked here.
    for col in M.integer:
        v = df[col].to_numpy(dtype=float)
        bad = ~np.isfinite(v) | (v != np.round(v))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise EmovecInputError(f"{path}: column {col!r} row {row}: {v[row]!r} is not an integer")
        df[col] = v.astype(np.int64)
    require_text_columns(df, path, M.text, unique="id")
    wrong = df["model"] != model
    if wrong.any():
        raise EmovecInputError(
            f"{path}: column 'model' row {first_row(wrong)} is {df['model'].iloc[first_row(wrong)]!r}; "
            f"this file belongs to model {model!r}")
    bad = ~df["condition"].isin(CONDITIONS)
    if bad.any():
        raise EmovecInputError(f"{path}: column 'condition' row {first_row(bad)}: "
                               f"{df['condition'].iloc[first_row(bad)]!r}; expected one of {list(CONDITIONS)}")
    bad = ~df["direction"].isin([1, -1])
    if bad.any():
        raise EmovecInputError(f"{path}: column 'direction' row {first_row(bad)} must be +1 or -1")
    df["is_protocol"] = [parse_bool(v, f"{path}: column 'is_protocol' row {i}")
                         for i, v in enumerate(df["is_protocol"])]
    tokens = []
    for i, text in enumerate(df["leaked_tokens"]):
        try:
            value = json.loads(text) if isinstance(text, str) else None
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise EmovecInputError(f"{path}: column 'leaked_tokens' row {i}: {text!r} is not a JSON list of strings")
        tokens.append(tuple(value))
    df["leaked_tokens"] = pd.Series(tokens, index=df.index, dtype=object)

    strength, magnitude = df["strength"].to_numpy(), df["magnitude"].to_numpy()
    for i in range(len(df)):
        if not same_strength(abs(strength[i]), magnitude[i]):
            raise EmovecInputError(
                f"{path}: row {i}: column 'magnitude'={magnitude[i]!r} is not |strength| (strength={strength[i]!r})")
    cond = df["condition"]
    steered = cond.isin(["emotion", "random"])
    checks = [
        (~steered & (df["strength"] != 0), "strength", "must be 0 for unsteered and induction rows"),
        (~steered & df["is_protocol"], "is_protocol", "is True on an unsteered/induction row"),
        (steered & (df["magnitude"] <= 0), "magnitude", "must be > 0 for emotion and random rows"),
        ((cond == "emotion") & (np.sign(df["strength"]) != df["direction"]), "strength",
         "has the wrong sign for the scenario's direction (emotion rows steer at direction x magnitude)"),
        ((cond == "random") & df["random_index"].isna(), "random_index", "is empty on a random row"),
        ((cond != "random") & df["random_index"].notna(), "random_index", "is set on a non-random row"),
        ((cond == "random") & df["random_index"].notna()
         & ((df["random_index"] != np.round(df["random_index"])) | (df["random_index"] < 0)),
         "random_index", "must be a non-negative integer"),
        (df["n_gen_tokens"] < 0, "n_gen_tokens", "is negative"),
        ((df["n_gen_tokens"] > 0) & df["nll_sum"].isna(), "nll_sum", "is empty although tokens were generated"),
    ]
    for mask, col, why in checks:
        mask = pd.Series(mask, index=df.index).fillna(False).astype(bool)
        if mask.any():
            raise EmovecInputError(f"{path}: column {col!r} row {first_row(mask)} {why}")
    df["random_index"] = df["random_index"].astype("Int64")
    for col in ("scenario_index", "emotion", "direction"):
        per = df.groupby("scenario", sort=True)[col].nunique()
        if (per > 1).any():
            raise EmovecInputError(
                f"{path}: column {col!r} differs between rows of scenario {per.index[per > 1][0]!r}")
    per = df.groupby("scenario_index", sort=True)["scenario"].nunique()
    if (per > 1).any():
        raise EmovecInputError(f"{path}: column 'scenario_index' {int(per.index[per > 1][0])} is used by two scenarios")
    return df


def _read_summary(path: Path, model: str) -> dict[str, Any]:
    raw = read_json_artefact(path, STEERING_SUMMARY)
    if raw["model"] != model:
        raise EmovecInputError(f"{path}: key 'model' is {raw['model']!r}; expected {model!r}; stale output?")
    require_int(raw["projection_layer"], f"{path}: key 'projection_layer'", minimum=0)
    for key, minimum in (("n_random", 0), ("n_samples", 1), ("n_rows", 1), ("n_empty", 0)):
        require_int(raw[key], f"{path}: key {key!r}", minimum=minimum)
    layers = raw["layers"]
    if not isinstance(layers, list) or not layers or not all(
            isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in layers):
        raise EmovecInputError(f"{path}: key 'layers' must be a non-empty list of block indices; got {layers!r}")
    strengths = raw["strengths"]
    if not isinstance(strengths, list) or not strengths:
        raise EmovecInputError(f"{path}: key 'strengths' must be a non-empty list of magnitudes")
    for i, s in enumerate(strengths):
        require_number(s, f"{path}: key 'strengths'[{i}]", positive=True)
    if not isinstance(raw["decoding"], dict):
        raise EmovecInputError(f"{path}: key 'decoding' must be an object")
    require_str(raw["scoring_model"], f"{path}: key 'scoring_model'")
    require_str(raw["vectors_from"], f"{path}: key 'vectors_from'")
    scenarios = raw["scenarios"]
    if not isinstance(scenarios, list) or not scenarios:
        raise EmovecInputError(f"{path}: key 'scenarios' must be a non-empty list")
    names: set[str] = set()
    for i, sc in enumerate(scenarios):
        where = f"{path}: key 'scenarios'[{i}]"
        sc = require_mapping(sc, where)
        miss = [k for k in _SCENARIO_KEYS if k not in sc]
        if miss:
            raise EmovecInputError(f"{where}: missing key(s) {miss}")
        name = require_str(sc["name"], f"{where}.name")
        if name in names:
            raise EmovecInputError(f"{where}: scenario {name!r} is listed twice")
        names.add(name)
        require_str(sc["emotion"], f"{where}.emotion")
        if require_number(sc["strength"], f"{where}.strength") == 0:
            raise EmovecInputError(f"{where}.strength must be non-zero")
        if sc["direction"] not in (1, -1) or isinstance(sc["direction"], bool):
            raise EmovecInputError(f"{where}.direction must be +1 or -1; got {sc['direction']!r}")
    return raw


def _scenario_table(df: pd.DataFrame, summary: dict[str, Any], mpath: Path, spath: Path) -> pd.DataFrame:
    """Cross-check measures against the summary; one row per scenario sorted by scenario_index."""
    by_name = {sc["name"]: sc for sc in summary["scenarios"]}
    in_measures = sorted(set(df["scenario"]))
    if sorted(by_name) != in_measures:
        raise EmovecInputError(
            f"{mpath}: column 'scenario' holds {in_measures} but key 'scenarios' of {spath} lists "
            f"{sorted(by_name)}; stale output?")
    first = df.drop_duplicates("scenario").set_index("scenario")
    rows = []
    for name in in_measures:
        sc, r = by_name[name], first.loc[name]
        for key in ("emotion", "direction"):
            if r[key] != sc[key]:
                raise EmovecInputError(
                    f"{mpath}: column {key!r} of scenario {name!r} is {r[key]!r} but {spath} says {sc[key]!r}")
        rows.append({"scenario": name, "scenario_index": int(r["scenario_index"]), "emotion": str(r["emotion"]),
                     "direction": int(r["direction"]), "protocol": abs(float(sc["strength"]))})
    table = pd.DataFrame(rows).sort_values("scenario_index", kind="stable").reset_index(drop=True)
    protocol = dict(zip(table["scenario"], table["protocol"], strict=True))
    prot = df[df["is_protocol"]]
    for i, r in prot.iterrows():
        if not same_strength(float(r["magnitude"]), protocol[r["scenario"]]):
            raise EmovecInputError(
                f"{mpath}: row {i} is marked is_protocol at magnitude {r['magnitude']:g}, but scenario "
                f"{r['scenario']!r} has protocol strength {protocol[r['scenario']]:g} in {spath}")
    for name in table["scenario"]:
        rows_e = df[(df["scenario"] == name) & (df["condition"] == "emotion") & df["is_protocol"]]
        if rows_e.empty:
            raise EmovecInputError(f"{mpath}: scenario {name!r} has no emotion row with is_protocol True")
    allowed = [float(s) for s in summary["strengths"]] + list(protocol.values())
    for i, m in zip(df.index, df["magnitude"], strict=True):
        if df.at[i, "condition"] in ("emotion", "random") and not any(same_strength(m, a) for a in allowed):
            raise EmovecInputError(
                f"{mpath}: row {i} steers at magnitude {m:g}, which is neither in key 'strengths' "
                f"{summary['strengths']} of {spath} nor a protocol strength")
    checks = [
        ("n_rows", len(df)),
        ("n_empty", int((df["n_gen_tokens"] == 0).sum())),
    ]
    for key, observed in checks:
        if summary[key] != observed:
            raise EmovecInputError(f"{spath}: key {key!r} is {summary[key]} but {mpath} has {observed}; stale output?")
    rnd = df.loc[df["condition"] == "random", "random_index"]
    if len(rnd) and int(rnd.max()) >= summary["n_random"]:
        raise EmovecInputError(
            f"{mpath}: column 'random_index' reaches {int(rnd.max())} but {spath} says n_random={summary['n_random']}")
    if int(df["sample"].max()) >= summary["n_samples"] or int(df["sample"].min()) < 0:
        raise EmovecInputError(
            f"{mpath}: column 'sample' must be in 0..{summary['n_samples'] - 1} (n_samples in {spath})")
    return table


def load_steering(spec: SteeringSpec, steering_dir: str | Path,
                  classify_dir: str | Path | None) -> dict[str, SteeringData]:
    """Read and cross-check every listed model's steering and classifier outputs.

    Files: ``steering_dir/<model>/measures.csv``, ``steering_dir/<model>/summary.json``,
    ``steering_dir/<model>/norms.csv`` and ``classify_dir/<model>.csv`` (none with
    ``classify_dir=None``: the steering check is not classified); missing ones are reported all at
    once.

    Checks: exact columns/keys; types (ints, +-1 directions, known conditions, magnitude =
    |strength|, random_index on random rows only, JSON token lists); the summary's model, scenarios
    (emotion, direction), strengths, n_rows, n_empty, n_random and n_samples agree with the rows;
    protocol rows sit at the scenario's protocol magnitude and every scenario has some; norms.csv
    has one row per steered layer of the summary, of this model and norm reference; the
    classify CSV holds rows of exactly the configured classifiers, each with exactly the
    measures' ids (an error names both files) and the configured display name, target labels of
    that classifier, scores over its labels within its range, and p_target equal to the score
    of the target label.

    Returns:
        {model: SteeringData} in ``steering_sort_key`` order ({} when no models are listed).
    """
    steering_dir = Path(steering_dir)
    ordered = sorted(spec.models, key=steering_sort_key)
    paths = {m.model: (steering_dir / m.model / "measures.csv", steering_dir / m.model / "summary.json",
                       steering_dir / m.model / "norms.csv",
                       None if classify_dir is None else Path(classify_dir) / f"{m.model}.csv") for m in ordered}
    absent = [str(p) for group in paths.values() for p in group if p is not None and not p.is_file()]
    if absent:
        raise EmovecInputError(f"missing steering output file(s) for listed models: {', '.join(absent)}")
    if not ordered:
        return {}
    assert spec.classifiers  # load_steering_spec requires them when models are listed
    out: dict[str, SteeringData] = {}
    for m in ordered:
        mpath, spath, npath, cpath = paths[m.model]
        measures = _read_measures(mpath, m.model)
        summary = _read_summary(spath, m.model)
        scenarios = _scenario_table(measures, summary, mpath, spath)
        classified = {} if cpath is None else read_classified(cpath, measures, mpath, spec.classifiers)
        out[m.model] = SteeringData(spec=m, measures=measures, classified=classified, summary=summary,
                                    scenarios=scenarios, measures_path=mpath, summary_path=spath, classify_path=cpath,
                                    norms=_read_norms(npath, m.model, summary))
    _check_shared_scenarios(out)
    return out


def _read_norms(path: Path, model: str, summary: Mapping[str, Any]) -> pd.DataFrame:
    """``norms.csv`` (:data:`emovec.artefacts.STEERING_NORMS`): one row per steered layer of the
    summary, in order, of this model and the summary's norm reference."""
    df = read_checked_csv(path, STEERING_NORMS.names, STEERING_NORMS.numeric, STEERING_NORMS.integer,
                          STEERING_NORMS.nullable)
    if list(df["layer"]) != list(summary["layers"]):
        raise EmovecInputError(f"{path}: layers {list(df['layer'])} are not the steered layers {summary['layers']} "
                               "of the summary")
    for col, want in (("model", model), ("norm_reference", summary["norm_reference"])):
        wrong = df[col] != want
        if wrong.any():
            row = int(np.flatnonzero(wrong.to_numpy())[0])
            raise EmovecInputError(f"{path}: column {col!r} row {row}: {df[col].iloc[row]!r}, expected {want!r}")
    return df


def _check_shared_scenarios(data: Mapping[str, SteeringData]) -> None:
    # The tables put one scenario in one column across models; a name must mean the same thing.
    seen: dict[str, tuple[tuple[str, int], SteeringData]] = {}
    for d in data.values():
        for r in d.scenarios.itertuples(index=False):
            key = (r.emotion, int(r.direction))
            if r.scenario in seen and seen[r.scenario][0] != key:
                other = seen[r.scenario][1]
                raise EmovecInputError(
                    f"scenario {r.scenario!r} is {seen[r.scenario][0]} in {other.summary_path} but {key} in "
                    f"{d.summary_path} (emotion, direction); the same name must mean the same scenario")
            seen.setdefault(r.scenario, (key, d))
