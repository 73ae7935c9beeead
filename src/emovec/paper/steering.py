"""LaTeX tables for the steering experiment (Jeong 2026 §5-6 analogue).

Per model the steering stage writes ``<steering_dir>/<model>/measures.csv`` (one row per
generation: scenario, condition, signed strength, text measures, target-emotion projection and
its change against the unsteered generation) and ``summary.json`` (settings); the classify stage
writes ``<classify_dir>/<model>.csv`` in long form: one row per (classifier, generation) with the
target label, its score ``p_target`` and the classifier's own label scores as JSON (columns
``emovec.steering.classifiers.CLASSIFY_COLUMNS``, documented in ``emovec.stages.steer_classify``).
Every classifier listed in the paper config reads every generation; ``p_target`` is a probability
for the 7-label classifiers, a share of lexicon hits for the NRC lexicon and VADER's compound
valence signed by the target emotion's valence for VADER.

Conditions of one scenario (a prompt, a target emotion, a direction +1/-1 and a signed protocol
strength): ``unsteered``; ``induction`` (the prompt asks for the emotion, nothing is steered);
``emotion`` (the emotion vector added at every steered layer, at every magnitude of the sweep
and at the protocol strength); ``random`` (``n_random`` random unit directions of matched norm,
same strengths).

This module reads and cross-checks those files (every reader raises ``EmovecInputError`` naming
the file and the column/key/row) and renders five tables:

* ``steering_deltas.tex``: mean target-projection change per model and scenario, emotion vector
  beside the random control (Jeong Table 4 analogue);
* ``steering_regimes.tex``: perplexity at a low and a high strength, their ratio, distinct-2 and
  repeats, and the regime (surgical / explosive / repetitive collapse);
* ``steering_agreement.tex``: how often each classifier's target score moves toward the target,
  one block per classifier, with Clopper-Pearson intervals;
* ``rlhf_deltas.tex``: base vs instruct separation and steering sensitivity;
* ``script_leakage.tex``: foreign-script characters and the tokens that carry them.

Output is deterministic (fixed sort orders and float formats, no timestamps): identical inputs
give byte-identical ``.tex`` files.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from emovec.errors import EmovecInputError
from emovec.paper.tables import (
    read_json_object,
    require_text_columns,
    _DASH,
    _SAFE_NAME,
    METHODS,
    VARIANTS,
    _parse_bool,
    _require_int,
    _require_str,
    _row,
    _summary,
    _tabular,
    _wrap_table,
    fmt_num,
    fmt_signed,
    latex_escape,
    read_checked_csv,
)
from emovec.paper.valence import _fmt_ratio, _pct, _setting
from emovec.steering.classifiers import CLASSIFY_COLUMNS, classifier_info
from emovec.steering.measures import MEASURE_COLUMNS

__all__ = [
    "CLASSIFY_COLUMNS",
    "COMPARISONS",
    "CONDITIONS",
    "MEASURES_COLUMNS",
    "STEERING_TABLE_FILES",
    "SUMMARY_KEYS",
    "ClassifierSpec",
    "RegimeSpec",
    "SteeringData",
    "SteeringModelSpec",
    "SteeringSpec",
    "agreement_counts",
    "agreement_units",
    "build_steering_tables",
    "classify_regime",
    "latex_token",
    "load_steering",
    "load_steering_spec",
    "protocol_deltas",
    "regime_stats",
    "rlhf_deltas_table",
    "rlhf_steering_pairs",
    "script_leakage_table",
    "steering_agreement_table",
    "steering_deltas_table",
    "steering_regimes_table",
    "steering_sort_key",
    "token_weighted_ppl",
]

CONDITIONS: tuple[str, ...] = ("unsteered", "induction", "emotion", "random")
MEASURES_COLUMNS: tuple[str, ...] = MEASURE_COLUMNS  # written by the steer stage
_MEASURES_INT: tuple[str, ...] = (
    "scenario_index", "direction", "sample", "n_prompt_tokens", "n_gen_tokens", "longest_repeat",
    "n_script_chars", "n_foreign_chars",
)
# Empty when there is nothing to measure: no generated token (ppl, distinct-n, projections),
# no script character (shares), not a random row (random_index).
_MEASURES_NULLABLE = frozenset({
    "random_index", "nll_sum", "ppl", "distinct_1", "distinct_2", "leak_share", "cjk_share", "projection",
    "projection_text", "delta", "delta_text",
})
_MEASURES_NUMERIC: tuple[str, ...] = (
    *_MEASURES_INT, "strength", "magnitude", *sorted(_MEASURES_NULLABLE),
)
_MEASURES_TEXT: tuple[str, ...] = ("id", "model", "scenario", "emotion", "condition")
SUMMARY_KEYS: tuple[str, ...] = (
    "model", "scenarios", "strengths", "layers", "norm_reference", "projection_layer", "vectors_from",
    "n_random", "n_samples", "decoding", "scoring_model", "n_rows", "n_empty",
)
_SCENARIO_KEYS: tuple[str, ...] = ("name", "emotion", "prompt", "strength", "direction")
_REGIME_KEYS: tuple[str, ...] = (
    "low_strength", "high_strength", "explosive_min_ratio", "collapse_max_distinct2", "collapse_min_repeat",
)
# (key, row label) of the agreement table, in print order. "emotion_vs_random" succeeds when the
# emotion vector moves p_target further toward the target than the random directions do.
COMPARISONS: tuple[tuple[str, str], ...] = (
    ("emotion", "emotion vector"),
    ("random", "random direction (matched norm)"),
    ("induction", "prompt induction (no steering)"),
    ("emotion_vs_random", "emotion vector beats random"),
)
SCOPES: tuple[str, ...] = ("protocol", "every strength")
STEERING_TABLE_FILES: tuple[str, ...] = (
    "steering_deltas.tex", "steering_regimes.tex", "steering_agreement.tex", "rlhf_deltas.tex",
    "script_leakage.tex",
)

# Strengths are written by the stage as short decimals (0.005, 0.05); a relative tolerance
# absorbs float round-trips through CSV/JSON without merging genuinely different strengths.
_STRENGTH_RTOL = 1e-6
# The classifier CSV writes p_target and the score it copies at the same precision.
_P_TOL = 1e-6
_TOP_TOKENS = 5  # leaked tokens listed per row of the leakage table
_UNDETERMINED = "undetermined"


# --------------------------------------------------------------------------------------------
# Spec
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SteeringModelSpec:
    """One steered model as listed under ``steering.models`` in the paper config."""

    model: str
    variant: str  # base | instruct
    family: str
    partner: str | None  # the other variant of the same family, for the RLHF comparison


@dataclass(frozen=True)
class ClassifierSpec:
    """One emotion classifier whose scores the tables report (``steering.classifiers[]``).

    ``labels``, the score range and ``score_kind`` come from the classifier registry
    (``emovec.steering.classifiers.CLASSIFIER_INFO``), not from the paper config.
    """

    name: str  # registry name, as written in the classify CSV's ``classifier`` column
    display_name: str  # how captions and axis labels name it (and the CSV's ``display_name``)
    labels: tuple[str, ...] = ()
    score_min: float = 0.0
    score_max: float = 1.0
    score_kind: str = "probability"
    no_hit: str | None = None  # lexicon classifiers: what a text without a lexicon hit scores


@dataclass(frozen=True)
class RegimeSpec:
    """Thresholds of the regime rule (Jeong §6). Strengths are magnitudes (unsigned)."""

    low_strength: float
    high_strength: float
    explosive_min_ratio: float  # PPL(high)/PPL(low) at or above this: explosive
    collapse_max_distinct2: float  # mean distinct-2 at high at or below this: repetitive collapse
    collapse_min_repeat: float  # or median longest repeat (tokens) at high at or above this


@dataclass(frozen=True)
class SteeringSpec:
    """The ``steering`` part of the composed paper config.

    ``models`` may be empty (a selection without steering); then ``classifiers`` may be empty,
    ``regimes`` and ``ci_level`` None, and no steering table or figure is made. With models they
    are always set (at least one classifier, names distinct, in config order).
    """

    digits: int
    models: tuple[SteeringModelSpec, ...]
    classifiers: tuple[ClassifierSpec, ...]
    regimes: RegimeSpec | None
    ci_level: float | None


def _require_mapping(value: Any, where: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise EmovecInputError(f"{where} must be a mapping; got {type(value).__name__}")
    return value


def _require_number(value: Any, where: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EmovecInputError(f"{where} must be a finite number; got {value!r}")
    if positive and value <= 0:
        raise EmovecInputError(f"{where} must be > 0; got {value!r}")
    return float(value)


def _model_spec(raw: Any, where: str) -> SteeringModelSpec:
    raw = _require_mapping(raw, where)
    missing = [k for k in ("model", "variant", "family") if k not in raw]
    if missing:
        raise EmovecInputError(f"{where}: missing key(s) {missing}")
    model = _require_str(raw["model"], f"{where}.model")
    if not _SAFE_NAME.match(model):  # a directory, a CSV and a figure are named after it
        raise EmovecInputError(f"{where}.model={model!r} must match {_SAFE_NAME.pattern} (used in file names)")
    variant = _require_str(raw["variant"], f"{where}.variant")
    if variant not in VARIANTS:
        raise EmovecInputError(f"{where}.variant={variant!r}; expected one of {list(VARIANTS)}")
    partner = raw.get("partner")
    if partner is not None:
        partner = _require_str(partner, f"{where}.partner")
        if partner == model:
            raise EmovecInputError(f"{where}.partner names the model itself ({model!r})")
    return SteeringModelSpec(model=model, variant=variant, family=_require_str(raw["family"], f"{where}.family"),
                             partner=partner)


def _classifier_spec(raw: Any, where: str) -> ClassifierSpec:
    raw = _require_mapping(raw, where)
    missing = [k for k in ("name", "display_name") if k not in raw]
    if missing:
        raise EmovecInputError(f"{where}: missing key(s) {missing}")
    name = _require_str(raw["name"], f"{where}.name")
    try:
        info = classifier_info(name)
    except EmovecInputError as exc:
        raise EmovecInputError(f"{where}.name: {exc}") from None
    return ClassifierSpec(name=name, display_name=_require_str(raw["display_name"], f"{where}.display_name"),
                          labels=info.labels, score_min=info.score_min, score_max=info.score_max,
                          score_kind=info.score_kind, no_hit=info.no_hit)


def _classifier_specs(raw: Any, where: str) -> tuple[ClassifierSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise EmovecInputError(f"{where} must be a non-empty list of {{name, display_name}}; got {raw!r}")
    specs = tuple(_classifier_spec(c, f"{where}[{i}]") for i, c in enumerate(raw))
    names = [c.name for c in specs]
    if len(set(names)) != len(names):
        raise EmovecInputError(f"{where} lists a classifier twice: {names}")
    return specs


def _regime_spec(raw: Any, where: str) -> RegimeSpec:
    raw = _require_mapping(raw, where)
    missing = [k for k in _REGIME_KEYS if k not in raw]
    if missing:
        raise EmovecInputError(f"{where}: missing key(s) {missing}")
    v = {k: _require_number(raw[k], f"{where}.{k}", positive=True) for k in _REGIME_KEYS}
    if v["high_strength"] <= v["low_strength"]:
        raise EmovecInputError(
            f"{where}: high_strength={v['high_strength']:g} must exceed low_strength={v['low_strength']:g}")
    if v["collapse_max_distinct2"] > 1:
        raise EmovecInputError(
            f"{where}.collapse_max_distinct2={v['collapse_max_distinct2']:g} must be in (0, 1] (a share)")
    return RegimeSpec(**v)


def load_steering_spec(raw: Mapping | None, digits: int, where: str) -> SteeringSpec:
    """Validate the ``steering`` mapping of the paper config (``where`` names it in errors).

    ``raw`` None or ``models`` empty/absent: a spec without models (nothing to report); other
    keys are then checked only when present. With models, ``classifiers`` (a non-empty list of
    {name, display_name}, registered names, no repeats), ``regimes`` (the five thresholds,
    high_strength > low_strength) and ``ci_level`` in (0, 1) are required. The old single
    ``classifier`` key is refused (re-compose).

    Raises:
        EmovecInputError: a missing/ill-typed key, a model listed twice, a bad threshold.
    """
    digits = _require_int(digits, f"{where}: digits", minimum=0)
    if digits > 10:
        raise EmovecInputError(f"{where}: digits={digits} is implausibly large (max 10)")
    if raw is None:
        raw = {}
    raw = _require_mapping(raw, where)
    entries = raw.get("models")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise EmovecInputError(f"{where}.models must be a list; got {type(entries).__name__}")
    models = tuple(_model_spec(m, f"{where}.models[{i}]") for i, m in enumerate(entries))
    seen: set[str] = set()
    for m in models:
        if m.model in seen:
            raise EmovecInputError(f"{where}.models lists {m.model!r} twice")
        seen.add(m.model)
    required = bool(models)
    if raw.get("classifier") is not None:
        raise EmovecInputError(f"{where}: key 'classifier' is the old single-classifier form; the paper config "
                               "lists 'classifiers' (re-run the compose stage)")
    for key in ("classifiers", "regimes", "ci_level"):
        if required and raw.get(key) is None:
            raise EmovecInputError(f"{where}: missing key {key!r} (needed when models are listed)")
    classifiers = _classifier_specs(raw["classifiers"], f"{where}.classifiers") \
        if raw.get("classifiers") is not None else ()
    regimes = _regime_spec(raw["regimes"], f"{where}.regimes") if raw.get("regimes") is not None else None
    ci_level = None
    if raw.get("ci_level") is not None:
        ci_level = _require_number(raw["ci_level"], f"{where}.ci_level")
        if not 0 < ci_level < 1:
            raise EmovecInputError(f"{where}.ci_level={ci_level:g} must be in (0, 1)")
    return SteeringSpec(digits=digits, models=models, classifiers=classifiers, regimes=regimes, ci_level=ci_level)


def steering_sort_key(spec: SteeringModelSpec) -> tuple[str, int, str]:
    """Deterministic model order: family, base before instruct, model name."""
    return (spec.family, VARIANTS.index(spec.variant), spec.model)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


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
    classify_path: Path

    def scores(self, classifier: str) -> pd.DataFrame:
        """``classified[classifier]``; an unknown name lists the classifiers that were read."""
        if classifier not in self.classified:
            raise EmovecInputError(f"classifier {classifier!r} did not read {self.classify_path}; "
                                   f"it holds {list(self.classified)}")
        return self.classified[classifier]


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_STRENGTH_RTOL, abs_tol=1e-12)


def _magnitude_key(x: float) -> float:
    # Groups magnitudes that differ only by float noise from CSV round-trips.
    return float(f"{float(x):.9g}")


def _first_row(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0])


def _read_measures(path: Path, model: str) -> pd.DataFrame:
    df = read_checked_csv(path, MEASURES_COLUMNS, _MEASURES_NUMERIC, (), _MEASURES_NULLABLE)
    # random_index is nullable, so read_checked_csv cannot convert it; the others it could but
    # would not name the row, so every integer column is checked here.
    for col in _MEASURES_INT:
        v = df[col].to_numpy(dtype=float)
        bad = ~np.isfinite(v) | (v != np.round(v))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise EmovecInputError(f"{path}: column {col!r} row {row}: {v[row]!r} is not an integer")
        df[col] = v.astype(np.int64)
    require_text_columns(df, path, _MEASURES_TEXT, unique="id")
    wrong = df["model"] != model
    if wrong.any():
        raise EmovecInputError(
            f"{path}: column 'model' row {_first_row(wrong)} is {df['model'].iloc[_first_row(wrong)]!r}; "
            f"this file belongs to model {model!r}")
    bad = ~df["condition"].isin(CONDITIONS)
    if bad.any():
        raise EmovecInputError(f"{path}: column 'condition' row {_first_row(bad)}: "
                               f"{df['condition'].iloc[_first_row(bad)]!r}; expected one of {list(CONDITIONS)}")
    bad = ~df["direction"].isin([1, -1])
    if bad.any():
        raise EmovecInputError(f"{path}: column 'direction' row {_first_row(bad)} must be +1 or -1")
    df["is_protocol"] = [_parse_bool(v, f"{path}: column 'is_protocol' row {i}")
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
        if not _same(abs(strength[i]), magnitude[i]):
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
            raise EmovecInputError(f"{path}: column {col!r} row {_first_row(mask)} {why}")
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
    raw = read_json_object(path, SUMMARY_KEYS)
    if raw["model"] != model:
        raise EmovecInputError(f"{path}: key 'model' is {raw['model']!r}; expected {model!r}; stale output?")
    _require_int(raw["projection_layer"], f"{path}: key 'projection_layer'", minimum=0)
    for key, minimum in (("n_random", 0), ("n_samples", 1), ("n_rows", 1), ("n_empty", 0)):
        _require_int(raw[key], f"{path}: key {key!r}", minimum=minimum)
    layers = raw["layers"]
    if not isinstance(layers, list) or not layers or not all(
            isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in layers):
        raise EmovecInputError(f"{path}: key 'layers' must be a non-empty list of block indices; got {layers!r}")
    strengths = raw["strengths"]
    if not isinstance(strengths, list) or not strengths:
        raise EmovecInputError(f"{path}: key 'strengths' must be a non-empty list of magnitudes")
    for i, s in enumerate(strengths):
        _require_number(s, f"{path}: key 'strengths'[{i}]", positive=True)
    if not isinstance(raw["decoding"], dict):
        raise EmovecInputError(f"{path}: key 'decoding' must be an object")
    _require_str(raw["scoring_model"], f"{path}: key 'scoring_model'")
    _require_str(raw["vectors_from"], f"{path}: key 'vectors_from'")
    scenarios = raw["scenarios"]
    if not isinstance(scenarios, list) or not scenarios:
        raise EmovecInputError(f"{path}: key 'scenarios' must be a non-empty list")
    names: set[str] = set()
    for i, sc in enumerate(scenarios):
        where = f"{path}: key 'scenarios'[{i}]"
        sc = _require_mapping(sc, where)
        miss = [k for k in _SCENARIO_KEYS if k not in sc]
        if miss:
            raise EmovecInputError(f"{where}: missing key(s) {miss}")
        name = _require_str(sc["name"], f"{where}.name")
        if name in names:
            raise EmovecInputError(f"{where}: scenario {name!r} is listed twice")
        names.add(name)
        _require_str(sc["emotion"], f"{where}.emotion")
        if _require_number(sc["strength"], f"{where}.strength") == 0:
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
        if not _same(float(r["magnitude"]), protocol[r["scenario"]]):
            raise EmovecInputError(
                f"{mpath}: row {i} is marked is_protocol at magnitude {r['magnitude']:g}, but scenario "
                f"{r['scenario']!r} has protocol strength {protocol[r['scenario']]:g} in {spath}")
    for name in table["scenario"]:
        rows_e = df[(df["scenario"] == name) & (df["condition"] == "emotion") & df["is_protocol"]]
        if rows_e.empty:
            raise EmovecInputError(f"{mpath}: scenario {name!r} has no emotion row with is_protocol True")
    allowed = [float(s) for s in summary["strengths"]] + list(protocol.values())
    for i, m in zip(df.index, df["magnitude"], strict=True):
        if df.at[i, "condition"] in ("emotion", "random") and not any(_same(m, a) for a in allowed):
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


def _read_classified(path: Path, measures: pd.DataFrame, mpath: Path,
                     classifiers: Sequence[ClassifierSpec]) -> dict[str, pd.DataFrame]:
    """Read the long-form classify CSV: per configured classifier, ``measures`` merged with its
    rows (see ``SteeringData.classified``). Errors name the file, the column, the 0-based data
    row and the classifier."""
    df = read_checked_csv(path, CLASSIFY_COLUMNS, ("p_target", "n_hits"), (), {"n_hits"})
    require_text_columns(df, path, ("id", "classifier", "display_name", "target_label", "scores"))
    wanted = [c.name for c in classifiers]
    present = list(dict.fromkeys(df["classifier"]))
    lacking, extra = [n for n in wanted if n not in present], [n for n in present if n not in wanted]
    if lacking or extra:
        raise EmovecInputError(
            f"{path}: column 'classifier' holds {present} but the paper config lists {wanted} (no rows for "
            f"{lacking}, rows of unlisted {extra}); stale output? re-run the steer_classify stage")
    dup = df.duplicated(["classifier", "id"])
    if dup.any():
        row = _first_row(dup)
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
            row = int(part.index[_first_row(wrong)])
            raise EmovecInputError(
                f"{path}: column 'display_name' row {row} is {df.at[row, 'display_name']!r}; the paper config "
                f"names classifier {c.name!r} {c.display_name!r}; stale output?")
        bad = ~part["target_label"].isin(c.labels)
        if bad.any():
            row = int(part.index[_first_row(bad)])
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


def load_steering(spec: SteeringSpec, steering_dir: str | Path, classify_dir: str | Path) -> dict[str, SteeringData]:
    """Read and cross-check every listed model's steering and classifier outputs.

    Files: ``steering_dir/<model>/measures.csv``, ``steering_dir/<model>/summary.json`` and
    ``classify_dir/<model>.csv``; missing ones are reported all at once.

    Checks: exact columns/keys; types (ints, +-1 directions, known conditions, magnitude =
    |strength|, random_index on random rows only, JSON token lists); the summary's model, scenarios
    (emotion, direction), strengths, n_rows, n_empty, n_random and n_samples agree with the rows;
    protocol rows sit at the scenario's protocol magnitude and every scenario has some; the
    classify CSV holds rows of exactly the configured classifiers, each with exactly the
    measures' ids (an error names both files) and the configured display name, target labels of
    that classifier, scores over its labels within its range, and p_target equal to the score
    of the target label.

    Returns:
        {model: SteeringData} in ``steering_sort_key`` order ({} when no models are listed).
    """
    steering_dir, classify_dir = Path(steering_dir), Path(classify_dir)
    ordered = sorted(spec.models, key=steering_sort_key)
    paths = {m.model: (steering_dir / m.model / "measures.csv", steering_dir / m.model / "summary.json",
                       classify_dir / f"{m.model}.csv") for m in ordered}
    absent = [str(p) for group in paths.values() for p in group if not p.is_file()]
    if absent:
        raise EmovecInputError(f"missing steering output file(s) for listed models: {', '.join(absent)}")
    if not ordered:
        return {}
    assert spec.classifiers  # load_steering_spec requires them when models are listed
    out: dict[str, SteeringData] = {}
    for m in ordered:
        mpath, spath, cpath = paths[m.model]
        measures = _read_measures(mpath, m.model)
        summary = _read_summary(spath, m.model)
        scenarios = _scenario_table(measures, summary, mpath, spath)
        classified = _read_classified(cpath, measures, mpath, spec.classifiers)
        out[m.model] = SteeringData(spec=m, measures=measures, classified=classified, summary=summary,
                                    scenarios=scenarios, measures_path=mpath, summary_path=spath, classify_path=cpath)
    _check_shared_scenarios(out)
    return out


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


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def _mean(values: Any) -> float:
    """Mean over the finite values; NaN when there are none (no warning)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def _at_magnitude(df: pd.DataFrame, magnitude: float) -> pd.Series:
    return pd.Series([_same(float(m), magnitude) for m in df["magnitude"]], index=df.index, dtype=bool)


def protocol_deltas(d: SteeringData) -> pd.DataFrame:
    """Per scenario at the protocol strength: mean ``delta`` of the emotion rows (over samples)
    and of the random rows (over directions and samples), with their row counts.

    Returns:
        One row per scenario in scenario_index order: ``scenario, emotion, direction, protocol,
        emotion_delta, random_delta, n_emotion, n_random, n_missing`` (n_* count rows with a
        delta; n_missing counts protocol rows whose delta is empty: no generated token).
    """
    df = d.measures[d.measures["is_protocol"]]
    rows = []
    for sc in d.scenarios.itertuples(index=False):
        part = df[df["scenario"] == sc.scenario]
        emo = part.loc[part["condition"] == "emotion", "delta"]
        rnd = part.loc[part["condition"] == "random", "delta"]
        rows.append({"scenario": sc.scenario, "emotion": sc.emotion, "direction": int(sc.direction),
                     "protocol": float(sc.protocol), "emotion_delta": _mean(emo), "random_delta": _mean(rnd),
                     "n_emotion": int(emo.notna().sum()), "n_random": int(rnd.notna().sum()),
                     "n_missing": int(emo.isna().sum() + rnd.isna().sum())})
    return pd.DataFrame(rows)


def token_weighted_ppl(rows: pd.DataFrame) -> float:
    """exp(sum nll_sum / sum n_gen_tokens) over ``rows`` (natural log; every generated token
    weighs the same, so long generations count more than short ones). NaN without tokens."""
    used = rows[rows["n_gen_tokens"] > 0]
    tokens = int(used["n_gen_tokens"].sum())
    if tokens == 0:
        return math.nan
    return float(math.exp(float(used["nll_sum"].sum()) / tokens))


def classify_regime(ratio: float, distinct2: float, median_repeat: float, regimes: RegimeSpec) -> str:
    """The regime by Jeong's rule, applied in this order:

    1. ``distinct2 <= collapse_max_distinct2`` or ``median_repeat >= collapse_min_repeat``:
       "repetitive collapse" (checked first: a collapsed text repeats cheap tokens, which can
       keep its perplexity low, so the ratio alone would call it surgical);
    2. ``ratio >= explosive_min_ratio`` (PPL at high / PPL at low): "explosive";
    3. otherwise "surgical".

    A missing (NaN) input that the rule would still need gives "undetermined".
    """
    if (math.isfinite(distinct2) and distinct2 <= regimes.collapse_max_distinct2) or \
            (not math.isnan(median_repeat) and median_repeat >= regimes.collapse_min_repeat):
        return "repetitive collapse"
    if math.isnan(distinct2) or math.isnan(median_repeat) or math.isnan(ratio):
        return _UNDETERMINED
    if ratio >= regimes.explosive_min_ratio:
        return "explosive"
    return "surgical"


def _check_strength_present(d: SteeringData, condition: str, magnitude: float, key: str) -> pd.DataFrame:
    rows = d.measures[d.measures["condition"] == condition]
    hit = rows[_at_magnitude(rows, magnitude)]
    if hit.empty:
        present = sorted({_magnitude_key(m) for m in rows["magnitude"]})
        raise EmovecInputError(
            f"{d.measures_path}: regimes.{key}={magnitude:g} has no {condition} rows; magnitudes present: "
            f"{[f'{m:g}' for m in present]}")
    return hit


def regime_stats(d: SteeringData, regimes: RegimeSpec) -> dict[str, Any]:
    """One model's regime row.

    Returns:
        ``ppl_low, ppl_high`` (token-weighted over the emotion rows at that magnitude, all
        scenarios and samples), ``ratio`` = ppl_high / ppl_low, ``random_ratio`` (the same over
        the random rows), ``distinct2_high`` (mean over emotion rows at high with a distinct-2),
        ``repeat_high`` (median longest_repeat of the emotion rows at high, tokens), ``n_low``,
        ``n_high`` (emotion generations) and ``regime``.

    Raises:
        EmovecInputError: low or high strength without emotion or random rows (names the
            magnitudes present).
    """
    emo_low = _check_strength_present(d, "emotion", regimes.low_strength, "low_strength")
    emo_high = _check_strength_present(d, "emotion", regimes.high_strength, "high_strength")
    rnd_low = _check_strength_present(d, "random", regimes.low_strength, "low_strength")
    rnd_high = _check_strength_present(d, "random", regimes.high_strength, "high_strength")
    ppl_low, ppl_high = token_weighted_ppl(emo_low), token_weighted_ppl(emo_high)
    r_low, r_high = token_weighted_ppl(rnd_low), token_weighted_ppl(rnd_high)
    ratio = ppl_high / ppl_low if math.isfinite(ppl_low) and math.isfinite(ppl_high) else math.nan
    random_ratio = r_high / r_low if math.isfinite(r_low) and math.isfinite(r_high) else math.nan
    distinct2 = _mean(emo_high["distinct_2"])
    repeat = float(np.median(emo_high["longest_repeat"].to_numpy(dtype=float)))
    return {"ppl_low": ppl_low, "ppl_high": ppl_high, "ratio": ratio, "random_ratio": random_ratio,
            "distinct2_high": distinct2, "repeat_high": repeat, "n_low": len(emo_low), "n_high": len(emo_high),
            "regime": classify_regime(ratio, distinct2, repeat, regimes)}


def _unsteered_means(df: pd.DataFrame) -> dict[tuple[str, str], float]:
    u = df[df["condition"] == "unsteered"]
    return {k: _mean(g["p_target"]) for k, g in u.groupby(["model", "scenario"], sort=True)}


def agreement_units(df: pd.DataFrame) -> pd.DataFrame:
    """Per-unit classifier shifts (differences in p_target, a probability).

    ``df``: merged measures of one or more models (columns ``model, scenario, direction,
    condition, magnitude, is_protocol, p_target``). shift(c) = mean p_target over the unit's rows
    of condition c minus mean p_target of the unsteered rows of the same (model, scenario).

    Returns:
        One row per unit: ``scope`` ("protocol": unit = (model, scenario) with the emotion and
        random rows at is_protocol and all induction rows; "every strength": unit = (model,
        scenario, magnitude) over the emotion and random rows, no induction), ``model, scenario,
        direction, magnitude`` (the protocol magnitude for "protocol" units; NaN if the scenario
        has no protocol rows), ``emotion, random, induction`` (shifts; NaN where the unit has no
        such rows or no unsteered rows). Sorted by scope, model, scenario, magnitude.
    """
    base = _unsteered_means(df)
    rows = []
    for (model, scenario), g in df.groupby(["model", "scenario"], sort=True):
        u = base.get((model, scenario), math.nan)
        direction = int(g["direction"].iloc[0])
        prot = g[g["is_protocol"]]
        mag = _magnitude_key(prot["magnitude"].iloc[0]) if len(prot) else math.nan
        rows.append({"scope": "protocol", "model": model, "scenario": scenario, "direction": direction,
                     "magnitude": mag,
                     "emotion": _mean(prot.loc[prot["condition"] == "emotion", "p_target"]) - u,
                     "random": _mean(prot.loc[prot["condition"] == "random", "p_target"]) - u,
                     "induction": _mean(g.loc[g["condition"] == "induction", "p_target"]) - u})
        steered = g[g["condition"].isin(["emotion", "random"])]
        keys = steered["magnitude"].map(_magnitude_key)
        for mag_key, part in steered.groupby(keys, sort=True):
            rows.append({"scope": "every strength", "model": model, "scenario": scenario, "direction": direction,
                         "magnitude": float(mag_key),
                         "emotion": _mean(part.loc[part["condition"] == "emotion", "p_target"]) - u,
                         "random": _mean(part.loc[part["condition"] == "random", "p_target"]) - u,
                         "induction": math.nan})
    out = pd.DataFrame(rows, columns=["scope", "model", "scenario", "direction", "magnitude", "emotion", "random",
                                      "induction"])
    out["_s"] = out["scope"].map(SCOPES.index)
    return out.sort_values(["_s", "model", "scenario", "magnitude"], kind="stable").drop(columns="_s") \
        .reset_index(drop=True)


def _clopper_pearson(k: int, n: int, level: float) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def agreement_counts(df: pd.DataFrame, ci_level: float) -> pd.DataFrame:
    """Success counts of the classifier agreement table.

    A unit (see ``agreement_units``) succeeds for comparison c when direction * shift_c > 0
    (strictly: no change is not a success); "emotion_vs_random" succeeds when
    direction * (shift_emotion - shift_random) > 0. Units lacking the shift(s) are left out of n.

    Returns:
        One row per (scope, comparison) in ``SCOPES`` x ``COMPARISONS`` order: ``scope,
        comparison, k, n, proportion, ci_low, ci_high`` (Clopper-Pearson exact interval at
        ``ci_level``; NaN when n = 0) and ``mean_shift`` (mean of direction * shift over the n
        units, in probability units). The induction row of "every strength" has n = 0 (induction
        has no strength).
    """
    units = agreement_units(df)
    rows = []
    for scope in SCOPES:
        u = units[units["scope"] == scope]
        sign = u["direction"].to_numpy(dtype=float)
        for key, _ in COMPARISONS:
            if key == "emotion_vs_random":
                signed = sign * (u["emotion"].to_numpy(dtype=float) - u["random"].to_numpy(dtype=float))
            else:
                signed = sign * u[key].to_numpy(dtype=float)
            signed = signed[np.isfinite(signed)]
            n, k = int(signed.size), int((signed > 0).sum())
            lo, hi = _clopper_pearson(k, n, ci_level)
            rows.append({"scope": scope, "comparison": key, "k": k, "n": n,
                         "proportion": k / n if n else math.nan, "ci_low": lo, "ci_high": hi,
                         "mean_shift": float(signed.mean()) if n else math.nan})
    return pd.DataFrame(rows)


def rlhf_steering_pairs(spec: SteeringSpec,
                        data: Mapping[str, SteeringData]) -> list[tuple[SteeringData, SteeringData]]:
    """(base, instruct) pairs: an instruct model and the base model it names as partner (or that
    names it), both among the loaded models; in ``steering_sort_key`` order of the instruct model.

    Raises:
        EmovecInputError: an instruct model linked to several base models.
    """
    ordered = _ordered(data)
    pairs = []
    for inst in (d for d in ordered if d.spec.variant == "instruct"):
        linked = [b for b in ordered if b.spec.variant == "base"
                  and (b.spec.model == inst.spec.partner or b.spec.partner == inst.spec.model)]
        if len(linked) > 1:
            raise EmovecInputError(
                f"steering model {inst.spec.model!r} is paired with several base models "
                f"{[b.spec.model for b in linked]}; set partner in the paper config")
        if linked:
            pairs.append((linked[0], inst))
    return pairs


def steering_sensitivity(base: SteeringData, inst: SteeringData) -> tuple[float, float, float, int, int]:
    """Mean over shared scenarios of |mean delta instruct| / |mean delta base| at each model's
    protocol strength; returns (mean, min, max, n used, n left out for a zero/missing base)."""
    b = protocol_deltas(base).set_index("scenario")["emotion_delta"]
    i = protocol_deltas(inst).set_index("scenario")["emotion_delta"]
    ratios, dropped = [], 0
    for scenario in [s for s in inst.scenarios["scenario"] if s in b.index]:
        bv, iv = abs(float(b[scenario])), abs(float(i[scenario]))
        if not (math.isfinite(bv) and math.isfinite(iv)) or bv == 0:
            dropped += 1
            continue
        ratios.append(iv / bv)
    if not ratios:
        return math.nan, math.nan, math.nan, 0, dropped
    return float(np.mean(ratios)), float(min(ratios)), float(max(ratios)), len(ratios), dropped


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def _ordered(data: Mapping[str, SteeringData]) -> list[SteeringData]:
    return sorted(data.values(), key=lambda d: steering_sort_key(d.spec))


def _per_model(data: Sequence[SteeringData], fn: Callable[[SteeringData], str]) -> str:
    """One value when all models agree, else every value with the models it belongs to."""
    return _summary([(latex_escape(d.spec.model), fn(d)) for d in data])


def _ranges(values: Sequence[int]) -> str:
    """Sorted block indices as compact ranges: [0, 1, 2, 5] -> ``0--2, 5``."""
    vals = sorted(set(int(v) for v in values))
    parts, start = [], 0
    for i in range(1, len(vals) + 1):
        if i == len(vals) or vals[i] != vals[i - 1] + 1:
            a, b = vals[start], vals[i - 1]
            parts.append(str(a) if a == b else f"{a}--{b}")
            start = i
    return ", ".join(parts)


def _sign(direction: int) -> str:
    return "$+$" if direction > 0 else "$-$"


def _scoring(d: SteeringData) -> str:
    s = d.summary["scoring_model"]
    return "the unsteered model itself" if s == "self" else f"model {latex_escape(s)}"


def _settings_caption(data: Sequence[SteeringData]) -> str:
    """Steering settings shared by the tables: layers, norm reference, vectors, decoding."""
    return (f" Steered blocks (0-based): {_per_model(data, lambda d: _ranges(d.summary['layers']))}; vector "
            f"scaled by {_per_model(data, lambda d: _setting(d.summary['norm_reference']))}; emotion vectors "
            f"from {_per_model(data, lambda d: latex_escape(d.summary['vectors_from']))}. Decoding: "
            f"{_per_model(data, lambda d: _setting(d.summary['decoding']))}; "
            f"{_per_model(data, lambda d: str(d.summary['n_samples']))} sample(s) per condition, "
            f"{_per_model(data, lambda d: str(d.summary['n_random']))} random directions.")


def _shared_scenarios(data: Sequence[SteeringData]) -> pd.DataFrame:
    """Union of the models' scenarios, ordered by their smallest scenario_index, then name."""
    frames = pd.concat([d.scenarios for d in data], ignore_index=True)
    first = frames.groupby("scenario", sort=True).agg(
        scenario_index=("scenario_index", "min"), emotion=("emotion", "first"), direction=("direction", "first"))
    return first.reset_index().sort_values(["scenario_index", "scenario"], kind="stable").reset_index(drop=True)


def _protocol_caption(data: Sequence[SteeringData], scenarios: pd.DataFrame) -> str:
    parts = []
    for name in scenarios["scenario"]:
        holders = [d for d in data if name in set(d.scenarios["scenario"])]
        value = _summary([(latex_escape(d.spec.model), f"{_protocol_of(d, name):g}") for d in holders])
        parts.append(f"{latex_escape(name)} {value}")
    return "; ".join(parts)


def _protocol_of(d: SteeringData, scenario: str) -> float:
    return float(d.scenarios.set_index("scenario").at[scenario, "protocol"])


def _visible_char(ch: str) -> str:
    # Printable ASCII (0x21-0x7E) is shown as itself (escaped). Everything else -- CJK, accented
    # letters, whitespace, control characters -- becomes its code point: pdflatex's default
    # fonts have no glyphs for CJK and fail on undeclared Unicode characters, and an invisible
    # space or newline would be unreadable in a table anyway.
    return latex_escape(ch) if 0x21 <= ord(ch) <= 0x7E else f"U+{ord(ch):04X}"


def latex_token(token: str) -> str:
    """A leaked token as pdflatex-safe text: printable ASCII escaped, every other character as
    its code point (``快`` -> ``U+5FEB``); code points are separated from each other and from
    ASCII runs by a space. The empty token is ``(empty)``."""
    if not token:
        return "(empty)"
    pieces: list[str] = []
    run = ""
    for ch in token:
        if 0x21 <= ord(ch) <= 0x7E:
            run += latex_escape(ch)
            continue
        if run:
            pieces.append(run)
            run = ""
        pieces.append(_visible_char(ch))
    if run:
        pieces.append(run)
    return " ".join(pieces)


def _top_tokens(rows: pd.DataFrame) -> str:
    counts = Counter(t for tokens in rows["leaked_tokens"] for t in tokens)
    if not counts:
        return _DASH
    # Most frequent first; ties by code points so the order never depends on row order.
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:_TOP_TOKENS]
    return ", ".join(f"{latex_token(t)} ({c})" for t, c in top)


def _label(name: str) -> str:
    return f"tab:steering-{name}"


def _classifier_names(spec: SteeringSpec) -> str:
    """Every classifier's display name, in config order, for captions."""
    return "; ".join(latex_escape(c.display_name) for c in spec.classifiers)


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def steering_deltas_table(spec: SteeringSpec, data: Mapping[str, SteeringData]) -> str:
    """Jeong Table 4 analogue: rows = models, columns = scenarios (by scenario_index); a cell is
    the mean delta of the emotion rows at the protocol strength, then (in parentheses) the mean
    delta of the random rows at the same strength."""
    dg = spec.digits
    ordered = _ordered(data)
    scenarios = _shared_scenarios(ordered)
    body = []
    missing_notes = []
    for d in ordered:
        deltas = protocol_deltas(d).set_index("scenario")
        row = [latex_escape(d.spec.model), d.spec.variant]
        for name in scenarios["scenario"]:
            if name not in deltas.index:
                row.append(_DASH)
                continue
            r = deltas.loc[name]
            row.append(f"{fmt_signed(r['emotion_delta'], dg)} ({fmt_signed(r['random_delta'], dg)})")
            if int(r["n_missing"]):
                missing_notes.append(f"{latex_escape(d.spec.model)}/{latex_escape(name)} {int(r['n_missing'])}")
        body.append(_row(row))
    header = [
        _row(["", ""] + [latex_escape(s) for s in scenarios["scenario"]]),
        _row(["Model", "Variant"] + [f"{latex_escape(e)} ({_sign(int(s))})"
                                     for e, s in zip(scenarios["emotion"], scenarios["direction"], strict=True)]),
    ]
    caption = (
        "Steering effect on the target-emotion projection (analogue of Jeong 2026, Table 4). "
        "$\\Delta$ = projection of the generated tokens on the target emotion's vector (mean over generated "
        "tokens) with steering minus the same for the unsteered generation of the same scenario and sample, "
        f"read at block {_per_model(ordered, lambda d: str(d.summary['projection_layer']))} (0-based). Cell: "
        "mean $\\Delta$ of the emotion-vector generations at the scenario's protocol strength; in parentheses "
        "the mean $\\Delta$ of the random-direction control (random unit directions of matched norm, same "
        "strength), averaged over directions and samples. Unit of analysis: generations of one (model, "
        f"scenario); $n$ = {_per_model(ordered, lambda d: str(d.summary['n_samples']))} emotion and "
        f"{_per_model(ordered, lambda d: str(d.summary['n_random'] * d.summary['n_samples']))} random "
        "generations per cell (directions $\\times$ samples). No confidence interval (descriptive means of "
        "one run) and no multiple-comparison correction. Protocol strengths (signed by the direction $\\pm$ "
        f"in the header, $-$ = steered away from the emotion, so a negative $\\Delta$ is the intended effect): "
        f"{_protocol_caption(ordered, scenarios)}."
        + _settings_caption(ordered)
        + f" {_DASH}: scenario not run for this model."
        + (" Generations without tokens have no $\\Delta$ and are left out: "
           + "; ".join(missing_notes) + "." if missing_notes else "")
    )
    n_cols = 2 + len(scenarios)
    tab = _tabular("ll" + "c" * len(scenarios), header, body)
    return _wrap_table(caption, _label("deltas"), [(tab, n_cols)])


def steering_regimes_table(spec: SteeringSpec, data: Mapping[str, SteeringData]) -> str:
    """Per model: PPL at low and high strength (token-weighted, emotion rows), their ratio, the
    random control's ratio, distinct-2 and median longest repeat at high, and the regime."""
    assert spec.regimes is not None
    rg, dg = spec.regimes, spec.digits
    ordered = _ordered(data)
    body = []
    stats = {d.spec.model: regime_stats(d, rg) for d in ordered}
    for d in ordered:
        s = stats[d.spec.model]
        body.append(_row([
            latex_escape(d.spec.model), d.spec.variant, fmt_num(s["ppl_low"], dg), fmt_num(s["ppl_high"], dg),
            _fmt_ratio(s["ratio"], dg), _fmt_ratio(s["random_ratio"], dg), fmt_num(s["distinct2_high"], dg),
            fmt_num(s["repeat_high"], 1), s["regime"],
        ]))
    low, high = f"{rg.low_strength:g}", f"{rg.high_strength:g}"
    header = [_row(["Model", "Variant", f"PPL@{low}", f"PPL@{high}", "Ratio", "Random ratio",
                    f"Distinct-2@{high}", f"Repeat@{high}", "Regime"])]
    n_gen = _per_model(ordered, lambda d: f"{stats[d.spec.model]['n_low']} at {low} and "
                                          f"{stats[d.spec.model]['n_high']} at {high}")
    empty = _per_model(ordered, lambda d: str(d.summary["n_empty"]))
    caption = (
        "Steering regimes (after Jeong 2026, \\S6). PPL@$s$: perplexity of the emotion-vector generations "
        f"steered at magnitude $s$, token-weighted over all scenarios and samples, "
        "$\\exp(\\sum \\mathrm{NLL} / \\sum n_{\\mathrm{tokens}})$ (natural log; generated tokens only), scored by "
        f"{_per_model(ordered, _scoring)}. Ratio = PPL@{high} / PPL@{low}; random ratio: the same for the "
        "random-direction control. Distinct-2: share of distinct token bigrams, mean over the generations at "
        f"{high}; repeat: median length (tokens) of the longest repeated span at {high}. Regime, first rule that "
        f"applies: repetitive collapse if distinct-2 $\\le$ {rg.collapse_max_distinct2:g} or repeat $\\ge$ "
        f"{rg.collapse_min_repeat:g}; explosive if ratio $\\ge$ {rg.explosive_min_ratio:g}; else surgical "
        "(undetermined when a needed value is missing). Unit of analysis: generations; $n$ (emotion "
        f"generations per model, scenarios $\\times$ samples) = {n_gen}. No confidence "
        "interval (descriptive statistics of one run) and no multiple-comparison correction. Generations "
        f"without tokens (all strengths and conditions: {empty}) add no tokens to the PPL and no distinct-2."
        + _settings_caption(ordered)
        + f" {_DASH}: not defined."
    )
    tab = _tabular("llrrrrrrl", header, body)
    return _wrap_table(caption, _label("regimes"), [(tab, 9)])


def steering_agreement_table(spec: SteeringSpec, data: Mapping[str, SteeringData]) -> str:
    """Classifier agreement: one block of rows per classifier (config order); in each, how often its
    p_target moves toward the target (direction-signed), per comparison, at the protocol strength
    and at every strength, with Clopper-Pearson CIs. The caption names every classifier, what its
    p_target is, and (lexicon classifiers) how many generations had no lexicon hit."""
    assert spec.ci_level is not None
    dg = spec.digits
    ordered = _ordered(data)
    body: list[str] = []
    n_prot: list[tuple[str, str]] = []
    n_all: list[tuple[str, str]] = []
    notes = []
    for j, c in enumerate(spec.classifiers):
        df = pd.concat([d.scores(c.name) for d in ordered], ignore_index=True)
        counts = agreement_counts(df, spec.ci_level)
        if j:
            body.append("\\midrule")
        title = f"Classifier {j + 1}: {latex_escape(c.display_name)}"
        body.append(_row([f"\\multicolumn{{5}}{{l}}{{\\textbf{{{title}}}}}"]))
        for scope, title in (("protocol", "At the protocol strength: unit = (model, scenario)"),
                             ("every strength", "At every strength: unit = (model, scenario, strength)")):
            body.append(_row([f"\\multicolumn{{5}}{{l}}{{\\textit{{{title}}}}}"]))
            for key, label in COMPARISONS:
                r = counts[(counts["scope"] == scope) & (counts["comparison"] == key)].iloc[0]
                if int(r["n"]) == 0:
                    body.append(_row([label] + [_DASH] * 4))
                    continue
                body.append(_row([label, f"{int(r['k'])}/{int(r['n'])}", fmt_num(r["proportion"], dg),
                                  f"[{fmt_num(r['ci_low'], dg)}, {fmt_num(r['ci_high'], dg)}]",
                                  fmt_signed(r["mean_shift"], dg)]))
        emo = counts[counts["comparison"] == "emotion"].set_index("scope")["n"]
        n_prot.append((f"classifier {j + 1}", str(int(emo["protocol"]))))
        n_all.append((f"classifier {j + 1}", str(int(emo["every strength"]))))
        note = (f"({j + 1}) {latex_escape(c.display_name)}: $p_{{\\mathrm{{target}}}}$ = "
                f"{latex_escape(c.score_kind)}, in $[{c.score_min:g}, {c.score_max:g}]$")
        hits = df["n_hits"].to_numpy(dtype=float)
        if c.no_hit is not None and np.isfinite(hits).any():
            note += (f"; generations without a lexicon hit (scored {latex_escape(c.no_hit)}): "
                     f"{int((hits == 0).sum())} of {int(np.isfinite(hits).sum())}")
        notes.append(note)
    header = [_row(["Comparison", "$k/n$", "Proportion", f"{_pct(spec.ci_level)} CI", "Mean shift"])]
    models = ", ".join(latex_escape(d.spec.model) for d in ordered)
    caption = (
        "Classifier agreement, one block per classifier: does steering move the classifier's score of the "
        f"scenario's target ($p_{{\\mathrm{{target}}}}$) toward the target? Classifiers: {'; '.join(notes)}. "
        "Each maps the scenario's emotion to one of its labels by a documented map (label maps under "
        "src/emovec/stimuli). shift = "
        "mean $p_{\\mathrm{target}}$ of a condition's generations minus mean $p_{\\mathrm{target}}$ of the "
        "unsteered generations of the same model and scenario; a unit succeeds when direction $\\times$ "
        "shift $> 0$ (strictly; direction $-1$ scenarios steer away from the emotion). ``Beats random'': "
        "direction $\\times$ (shift$_{\\mathrm{emotion}}$ $-$ shift$_{\\mathrm{random}}$) $> 0$, the random "
        "shift averaged over the random directions. Mean shift: "
        "mean of direction $\\times$ shift over the $n$ units, in the classifier's score units (not comparable "
        "across classifiers). Unit of analysis: at the protocol "
        f"strength (model, scenario), $n$ = {_summary(n_prot)}; at every strength (model, scenario, strength), "
        f"$n$ = {_summary(n_all)}; models {models}. Induction has no strength ({_DASH}). CI: Clopper--Pearson exact "
        f"{_pct(spec.ci_level)} interval for the proportion $k/n$, treating units as independent (they are "
        "not across strengths: the same scenario and random directions recur); no multiple-comparison "
        "correction (descriptive counts; the classifiers read the same generations, so their blocks are "
        "not independent)."
        + _settings_caption(ordered)
    )
    tab = _tabular("lcrcr", header, body)
    return _wrap_table(caption, _label("agreement"), [(tab, 5)])


def _check_separation(separation: Mapping[tuple[str, str], float]) -> None:
    for key, value in separation.items():
        if not (isinstance(key, tuple) and len(key) == 2 and key[1] in METHODS):
            raise EmovecInputError(f"separation key {key!r} must be (model, method) with method in {list(METHODS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
            raise EmovecInputError(f"separation[{key!r}] must be a finite number; got {value!r}")


def rlhf_deltas_table(spec: SteeringSpec, data: Mapping[str, SteeringData],
                      separation: Mapping[tuple[str, str], float]) -> str:
    """Base vs instruct: separation (mean pairwise cosine at the reported layer) per method
    present in ``separation`` and steering sensitivity (mean ratio of |mean delta|, instruct over
    base, over shared scenarios at the protocol strength)."""
    _check_separation(separation)
    dg = spec.digits
    pairs = rlhf_steering_pairs(spec, data)
    methods = [m for m in METHODS if any(k[1] == m for k in separation)]
    head = ["Family", "Base", "Instruct"]
    for m in methods:
        head += [f"{m.capitalize()}: base", "instr.", "$\\Delta$ (I$-$B)"]
    head += ["Sensitivity (I/B)", "[min, max]", "$n$"]
    body, dropped = [], []
    for base, inst in pairs:
        row = [latex_escape(inst.spec.family), latex_escape(base.spec.model), latex_escape(inst.spec.model)]
        for m in methods:
            b, i = separation.get((base.spec.model, m)), separation.get((inst.spec.model, m))
            row += [fmt_num(b, dg), fmt_num(i, dg),
                    fmt_signed(float(i) - float(b), dg) if b is not None and i is not None else _DASH]
        mean, lo, hi, n, n_drop = steering_sensitivity(base, inst)
        row += [fmt_num(mean, dg), f"[{fmt_num(lo, dg)}, {fmt_num(hi, dg)}]" if n else _DASH, str(n)]
        if n_drop:
            dropped.append(f"{latex_escape(inst.spec.model)} {n_drop}")
        body.append(_row(row))
    if not body:
        body = [_row([f"\\multicolumn{{{len(head)}}}{{c}}{{No base/instruct pair is selected.}}"])]
    involved = [d for pair in pairs for d in pair] or _ordered(data)
    caption = (
        "Base versus instruction-tuned (RLHF) variants: emotion-vector separation and steering sensitivity. "
        + (f"Separation ({', '.join(methods)}): mean pairwise cosine of the emotion vectors at each separation "
           "cell's reported layer (lower = better separation); $\\Delta$ = instruct $-$ base (negative = the "
           "instruct variant separates better); one number per cell, so no confidence interval. "
           if methods else "No separation numbers were passed, so only steering sensitivity is shown. ")
        + "Sensitivity: mean over the scenarios both models ran of "
        "$|\\bar\\Delta_{\\mathrm{instruct}}| / |\\bar\\Delta_{\\mathrm{base}}|$, with $\\bar\\Delta$ the mean "
        "target-projection change of the emotion-vector generations at each model's protocol strength "
        "(Jeong 2026, \\S5.5's mean ratio; $>1$ = the instruct variant moves further per unit strength); "
        "[min, max] over scenarios. Unit of analysis: scenarios; $n$ = scenarios in the mean. No confidence "
        "interval (descriptive ratio of means of one run) and no multiple-comparison correction. Pairs: an "
        "instruct model and the base model named as its partner, both steered."
        + (" Scenarios left out for a zero or missing base $\\bar\\Delta$: " + "; ".join(dropped) + "."
           if dropped else "")
        + _settings_caption(involved)
        + f" {_DASH}: not available."
    )
    colspec = "lll" + "rrr" * len(methods) + "rcr"
    tab = _tabular(colspec, [_row(head)], body)
    return _wrap_table(caption, _label("rlhf-deltas"), [(tab, len(head))])


def script_leakage_table(spec: SteeringSpec, data: Mapping[str, SteeringData]) -> str:
    """Per model x condition (emotion and random at high_strength, unsteered, induction): n
    generations, mean leak_share and cjk_share, k generations with a foreign character, and the
    most frequent leaked tokens (non-ASCII shown as code points)."""
    assert spec.regimes is not None
    dg = spec.digits
    high = spec.regimes.high_strength
    ordered = _ordered(data)
    groups = (("emotion", f"emotion vector @ {high:g}"), ("random", f"random direction @ {high:g}"),
              ("unsteered", "unsteered"), ("induction", "prompt induction"))
    body = []
    for j, d in enumerate(ordered):
        if j:
            body.append("\\midrule")
        for cond, label in groups:
            rows = d.measures[d.measures["condition"] == cond]
            if cond in ("emotion", "random"):
                rows = rows[_at_magnitude(rows, high)]
            n = len(rows)
            k = int((rows["n_foreign_chars"] > 0).sum())
            body.append(_row([
                latex_escape(d.spec.model), label, str(n), fmt_num(_mean(rows["leak_share"]), dg),
                fmt_num(_mean(rows["cjk_share"]), dg), f"{k}/{n}" if n else _DASH,
                _top_tokens(rows) if n else _DASH,
            ]))
    header = [_row(["Model", "Condition", "$n$", "Leak share", "CJK share", "$k$ foreign",
                    f"Top {_TOP_TOKENS} leaked tokens (count)"])]
    caption = (
        "Script leakage: characters outside the prompt's script in the generated text. Unit of analysis: "
        "generations; $n$ = generations per model and condition (emotion vector and random directions at "
        f"magnitude {high:g}, all scenarios, samples and directions). Leak share: foreign-script characters "
        "as a share of the generation's script characters; CJK share: likewise for CJK characters; both as "
        "recorded per generation by the steering stage, mean over the generations that have script "
        "characters. $k$ foreign: generations with at least one foreign-script character. Leaked tokens: "
        "the tokens carrying them, most frequent first (ties in code-point order), counted over all "
        "generations of the row. Characters outside printable ASCII are written as their Unicode code "
        "point (U+XXXX, separated by spaces) because pdflatex's default fonts cannot typeset CJK and "
        "other scripts. No confidence interval (descriptive counts of one run) and no multiple-comparison "
        f"correction. {_DASH}: none or not defined."
        + _settings_caption(ordered)
    )
    tab = _tabular("llrrrrp{0.34\\linewidth}", header, body)
    return _wrap_table(caption, _label("script-leakage"), [(tab, 7)])


def build_steering_tables(spec: SteeringSpec, data: Mapping[str, SteeringData],
                          separation: Mapping[tuple[str, str], float]) -> dict[str, str]:
    """Render every steering table: {file name: LaTeX text} in ``STEERING_TABLE_FILES`` order;
    {} when no model is listed or loaded.

    ``separation``: {(model, method): mean pairwise cosine at the reported layer} for the RLHF
    table (method "generation" or "comprehension"); may be empty.
    """
    if not spec.models or not data:
        return {}
    builders: dict[str, Callable[[], str]] = {
        "steering_deltas.tex": lambda: steering_deltas_table(spec, data),
        "steering_regimes.tex": lambda: steering_regimes_table(spec, data),
        "steering_agreement.tex": lambda: steering_agreement_table(spec, data),
        "rlhf_deltas.tex": lambda: rlhf_deltas_table(spec, data, separation),
        "script_leakage.tex": lambda: script_leakage_table(spec, data),
    }
    return {name: builders[name]() for name in STEERING_TABLE_FILES}
