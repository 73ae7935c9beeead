"""Steering results (Jeong 2026 §5-6 analogue), from validated steering outputs: the protocol
deltas, perplexity and the regime rule, base/instruct sensitivity and script leakage (classifier
agreement: ``emovec.analysis.agreement``). No LaTeX here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from emovec.analysis.regime_records import NormScale, RegimeStats, ScenarioRegime
from emovec.analysis.steering_records import (
    LeakageRow,
    MethodSeparation,
    ModelDeltas,
    ModelLeakage,
    RLHFPair,
    RLHFTable,
    ScenarioDelta,
    ScenarioInfo,
    Sensitivity,
)
from emovec.config.schema import RegimeConfig
from emovec.errors import EmovecInputError
from emovec.readers.paper_separation import METHODS
from emovec.readers.paper_steering import SteeringSpec, steering_sort_key
from emovec.readers.steering import SteeringData, magnitude_key, same_strength

__all__ = [
    "LEAKAGE_CONDITIONS",
    "TOP_TOKENS",
    "UNDETERMINED",
    "at_magnitude",
    "check_separation",
    "classify_regime",
    "norm_ratio_scale",
    "norm_scales",
    "scenario_regimes",
    "mean_finite",
    "ordered_models",
    "protocol_deltas",
    "regime_stats",
    "rlhf_steering",
    "rlhf_steering_pairs",
    "script_leakage",
    "shared_scenarios",
    "steering_sensitivity",
    "token_weighted_ppl",
]

TOP_TOKENS = 5  # leaked tokens listed per row of the leakage table
UNDETERMINED = "undetermined"


def ordered_models(data: Mapping[str, SteeringData]) -> list[SteeringData]:
    """The models in ``steering_sort_key`` order (family, base before instruct, name)."""
    return sorted(data.values(), key=lambda d: steering_sort_key(d.spec))


def mean_finite(values: Any) -> float:
    """Mean over the finite values; NaN when there are none (no warning)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def at_magnitude(df: pd.DataFrame, magnitude: float) -> pd.Series:
    """Boolean mask of the rows of ``df`` steered at ``magnitude`` (up to float noise)."""
    return pd.Series([same_strength(float(m), magnitude) for m in df["magnitude"]], index=df.index, dtype=bool)


def shared_scenarios(data: Sequence[SteeringData]) -> tuple[ScenarioInfo, ...]:
    """Union of the models' scenarios, ordered by their smallest scenario_index, then name."""
    frames = pd.concat([d.scenarios for d in data], ignore_index=True)
    first = frames.groupby("scenario", sort=True).agg(
        scenario_index=("scenario_index", "min"), emotion=("emotion", "first"), direction=("direction", "first"))
    table = first.reset_index().sort_values(["scenario_index", "scenario"], kind="stable")
    return tuple(ScenarioInfo(scenario=str(r.scenario), scenario_index=int(r.scenario_index), emotion=str(r.emotion),
                              direction=int(r.direction)) for r in table.itertuples(index=False))


def protocol_deltas(d: SteeringData) -> ModelDeltas:
    """Per scenario at the protocol strength: mean ``delta`` of the emotion rows (over samples)
    and of the random rows (over directions and samples), with their row counts.

    Returns:
        One ``ScenarioDelta`` per scenario in scenario_index order (n_emotion, n_random count
        rows with a delta; n_missing counts protocol rows whose delta is empty: no generated token).
    """
    df = d.measures[d.measures["is_protocol"]]
    induction = d.measures[d.measures["condition"] == "induction"]
    rows = []
    for sc in d.scenarios.itertuples(index=False):
        part = df[df["scenario"] == sc.scenario]
        emo = part.loc[part["condition"] == "emotion", ["delta", "delta_text"]]
        rnd = part.loc[part["condition"] == "random", ["delta", "delta_text"]]
        ind = induction.loc[induction["scenario"] == sc.scenario, ["delta", "delta_text"]]
        rows.append(ScenarioDelta(
            scenario=str(sc.scenario), emotion=str(sc.emotion), direction=int(sc.direction),
            protocol=float(sc.protocol), emotion_delta=mean_finite(emo["delta"]), random_delta=mean_finite(rnd["delta"]),
            n_emotion=int(emo["delta"].notna().sum()), n_random=int(rnd["delta"].notna().sum()),
            n_missing=int(emo["delta"].isna().sum() + rnd["delta"].isna().sum()),
            emotion_delta_text=mean_finite(emo["delta_text"]), random_delta_text=mean_finite(rnd["delta_text"]),
            induction_delta=mean_finite(ind["delta"]), induction_delta_text=mean_finite(ind["delta_text"]),
            n_induction=int(ind["delta"].notna().sum())))
    return ModelDeltas(model=d.spec.model, rows=tuple(rows))


def token_weighted_ppl(rows: pd.DataFrame) -> float:
    """exp(sum nll_sum / sum n_gen_tokens) over ``rows`` (natural log; every generated token
    weighs the same, so long generations count more than short ones). NaN without tokens."""
    used = rows[rows["n_gen_tokens"] > 0]
    tokens = int(used["n_gen_tokens"].sum())
    if tokens == 0:
        return math.nan
    return float(math.exp(float(used["nll_sum"].sum()) / tokens))


def classify_regime(ratio: float, distinct2: float, median_repeat: float, regimes: RegimeConfig) -> str:
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
        return UNDETERMINED
    if ratio >= regimes.explosive_min_ratio:
        return "explosive"
    return "surgical"


def _rows_at_strength(d: SteeringData, condition: str, magnitude: float, key: str) -> pd.DataFrame:
    rows = d.measures[d.measures["condition"] == condition]
    hit = rows[at_magnitude(rows, magnitude)]
    if hit.empty:
        present = sorted({magnitude_key(m) for m in rows["magnitude"]})
        raise EmovecInputError(
            f"{d.measures_path}: regimes.{key}={magnitude:g} has no {condition} rows; magnitudes present: "
            f"{[f'{m:g}' for m in present]}")
    return hit


def regime_stats(d: SteeringData, regimes: RegimeConfig) -> RegimeStats:
    """One model's regime row (see ``RegimeStats``).

    Raises:
        EmovecInputError: low or high strength without emotion or random rows (names the
            magnitudes present).
    """
    emo_low = _rows_at_strength(d, "emotion", regimes.low_strength, "low_strength")
    emo_high = _rows_at_strength(d, "emotion", regimes.high_strength, "high_strength")
    rnd_low = _rows_at_strength(d, "random", regimes.low_strength, "low_strength")
    rnd_high = _rows_at_strength(d, "random", regimes.high_strength, "high_strength")
    ppl_low, ppl_high = token_weighted_ppl(emo_low), token_weighted_ppl(emo_high)
    r_low, r_high = token_weighted_ppl(rnd_low), token_weighted_ppl(rnd_high)
    ratio = ppl_high / ppl_low if math.isfinite(ppl_low) and math.isfinite(ppl_high) else math.nan
    random_ratio = r_high / r_low if math.isfinite(r_low) and math.isfinite(r_high) else math.nan
    distinct2 = mean_finite(emo_high["distinct_2"])
    repeat = float(np.median(emo_high["longest_repeat"].to_numpy(dtype=float)))
    unsteered = mean_finite(_unsteered(d)["distinct_2"])
    return RegimeStats(model=d.spec.model, ppl_low=ppl_low, ppl_high=ppl_high, ratio=ratio, random_ratio=random_ratio,
                       distinct2_high=distinct2, repeat_high=repeat, n_low=len(emo_low), n_high=len(emo_high),
                       regime=classify_regime(ratio, distinct2, repeat, regimes), distinct2_unsteered=unsteered,
                       distinct2_random_high=mean_finite(rnd_high["distinct_2"]),
                       unsteered_collapsed=bool(math.isfinite(unsteered)
                                                and unsteered <= regimes.collapse_max_distinct2))


def _unsteered(d: SteeringData) -> pd.DataFrame:
    return d.measures[d.measures["condition"] == "unsteered"]


def scenario_regimes(d: SteeringData, run: str, regimes: RegimeConfig) -> list[ScenarioRegime]:
    """Per scenario of ``d``: the regime inputs of its emotion-vector generations (``ScenarioRegime``)."""
    emo_low = _rows_at_strength(d, "emotion", regimes.low_strength, "low_strength")
    emo_high = _rows_at_strength(d, "emotion", regimes.high_strength, "high_strength")
    rnd_high = _rows_at_strength(d, "random", regimes.high_strength, "high_strength")
    unsteered = _unsteered(d)
    out = []
    for sc in d.scenarios.itertuples(index=False):
        lo, hi, rnd, base = (x[x["scenario"] == sc.scenario] for x in (emo_low, emo_high, rnd_high, unsteered))
        repeats = hi["longest_repeat"].to_numpy(dtype=float)
        out.append(ScenarioRegime(model=d.spec.model, run=run, scenario=str(sc.scenario), direction=int(sc.direction),
                                  distinct2_high=mean_finite(hi["distinct_2"]),
                                  repeat_high=float(np.median(repeats)) if repeats.size else math.nan,
                                  ppl_low=token_weighted_ppl(lo), ppl_high=token_weighted_ppl(hi), n_high=len(hi),
                                  distinct2_unsteered=mean_finite(base["distinct_2"]),
                                  distinct2_random_high=mean_finite(rnd["distinct_2"])))
    return out


def norm_scales(d: SteeringData, run: str) -> list[NormScale]:
    """``d``'s norms.csv as records (none when it was not read)."""
    if d.norms is None:
        return []
    return [NormScale(model=d.spec.model, run=run, norm_reference=str(r.norm_reference), layer=int(r.layer),
                      reference_norm=float(r.reference_norm), typical_norm=float(r.typical_norm),
                      first_token_norm=float(r.first_token_norm), ratio_mean=float(r.ratio_mean),
                      ratio_min=float(r.ratio_min), ratio_max=float(r.ratio_max))
            for r in d.norms.itertuples(index=False)]


def norm_ratio_scale(norms: Iterable[NormScale], model: str, run: str) -> tuple[float, float, float] | None:
    """What a strength means in ``model`` under ``run`` ("main" or "check"): (median, min, max)
    over the steered layers of ``ratio_mean`` (the norm reference over the typical, median token
    norm; a strength s adds s x ratio typical-token norms). None when ``norms`` has no layer of
    them. The norm-scale table and the findings' distinct-2 details both state this."""
    ratios = [n.ratio_mean for n in norms if n.model == model and n.run == run]
    if not ratios:
        return None
    return float(np.median(ratios)), min(ratios), max(ratios)


def rlhf_steering_pairs(spec: SteeringSpec,
                        data: Mapping[str, SteeringData]) -> list[tuple[SteeringData, SteeringData]]:
    """(base, instruct) pairs: an instruct model and the base model it names as partner (or that
    names it), both among the loaded models; in ``steering_sort_key`` order of the instruct model.

    Raises:
        EmovecInputError: an instruct model linked to several base models.
    """
    ordered = ordered_models(data)
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


def steering_sensitivity(base: SteeringData, inst: SteeringData) -> Sensitivity:
    """The instruct model's sensitivity relative to its base (see ``Sensitivity``)."""
    b = {r.scenario: r.emotion_delta for r in protocol_deltas(base).rows}
    i = {r.scenario: r.emotion_delta for r in protocol_deltas(inst).rows}
    ratios, dropped = [], 0
    for scenario in [s for s in inst.scenarios["scenario"] if s in b]:
        bv, iv = abs(float(b[scenario])), abs(float(i[scenario]))
        if not (math.isfinite(bv) and math.isfinite(iv)) or bv == 0:
            dropped += 1
            continue
        ratios.append(iv / bv)
    if not ratios:
        return Sensitivity(math.nan, math.nan, math.nan, 0, dropped)
    return Sensitivity(float(np.mean(ratios)), float(min(ratios)), float(max(ratios)), len(ratios), dropped)


def check_separation(separation: Mapping[tuple[str, str], float]) -> None:
    """``separation`` must map (model, method) to a finite mean cosine."""
    for key, value in separation.items():
        if not (isinstance(key, tuple) and len(key) == 2 and key[1] in METHODS):
            raise EmovecInputError(f"separation key {key!r} must be (model, method) with method in {list(METHODS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
            raise EmovecInputError(f"separation[{key!r}] must be a finite number; got {value!r}")


def _optional_float(x: float | None) -> float | None:
    return None if x is None else float(x)


def rlhf_steering(spec: SteeringSpec, data: Mapping[str, SteeringData],
                  separation: Mapping[tuple[str, str], float]) -> RLHFTable:
    """The methods present in ``separation`` (in ``METHODS`` order) and one ``RLHFPair`` per
    pair of ``rlhf_steering_pairs``: separation per method (base, instruct, instruct - base;
    None where a model has no cell of the method) and ``steering_sensitivity(base, instruct)``.

    ``separation``: {(model, method): mean pairwise cosine at the reported layer}; may be empty.
    """
    check_separation(separation)
    methods = tuple(m for m in METHODS if any(k[1] == m for k in separation))
    rows = []
    for base, inst in rlhf_steering_pairs(spec, data):
        sep = []
        for m in methods:
            b, i = separation.get((base.spec.model, m)), separation.get((inst.spec.model, m))
            sep.append(MethodSeparation(method=m, base=_optional_float(b), instruct=_optional_float(i),
                                        delta=float(i) - float(b) if b is not None and i is not None else None))
        rows.append(RLHFPair(family=inst.spec.family, base=base.spec.model, instruct=inst.spec.model,
                             separation=tuple(sep), sensitivity=steering_sensitivity(base, inst)))
    return RLHFTable(models=tuple(d.spec.model for d in ordered_models(data)), methods=methods, pairs=tuple(rows))


LEAKAGE_CONDITIONS: tuple[str, ...] = ("emotion", "random", "unsteered", "induction")


def script_leakage(d: SteeringData, high_strength: float, top: int = TOP_TOKENS) -> ModelLeakage:
    """Foreign-script characters per condition of one model: the emotion and random rows at
    ``high_strength``, all unsteered and all induction rows.

    Returns:
        One ``LeakageRow`` per condition in ``LEAKAGE_CONDITIONS`` order: n (generations),
        leak_share, cjk_share (means over the generations that have script characters; NaN
        when none), k_foreign (generations with a foreign character) and top_tokens: the
        ``top`` most frequent leaked tokens as (token, count), most frequent first, ties by
        code points so the order never depends on row order.
    """
    rows = []
    for cond in LEAKAGE_CONDITIONS:
        part = d.measures[d.measures["condition"] == cond]
        if cond in ("emotion", "random"):
            part = part[at_magnitude(part, high_strength)]
        counts = Counter(t for tokens in part["leaked_tokens"] for t in tokens)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        rows.append(LeakageRow(condition=cond, n=len(part), leak_share=mean_finite(part["leak_share"]),
                               cjk_share=mean_finite(part["cjk_share"]), k_foreign=int((part["n_foreign_chars"] > 0).sum()),
                               top_tokens=tuple((str(t), int(c)) for t, c in ranked)))
    return ModelLeakage(model=d.spec.model, rows=tuple(rows))
