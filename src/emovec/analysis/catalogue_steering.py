"""The steering experiment's analyses (registered in :data:`emovec.analysis.catalogue.ANALYSES`): each
computes one record of :mod:`emovec.analysis.steering_records` from the validated steering
inputs, over the steered models in ``steering_sort_key`` order. ``about`` says what the numbers
are (unit of analysis, n, CI method, correction); it is written beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from emovec.analysis.agreement import agreement_counts, model_counts, no_hit_count
from emovec.analysis.dose_response import DoseResponseTable, dose_response
from emovec.analysis.per_strength import label_means, ppl_by_strength
from emovec.analysis.regime_records import RegimeCheck, RegimeTable
from emovec.analysis.steering import (
    TOP_TOKENS,
    norm_scales,
    ordered_models,
    protocol_deltas,
    regime_stats,
    rlhf_steering,
    scenario_regimes,
    script_leakage,
    shared_scenarios,
)
from emovec.analysis.steering_records import (
    AgreementCount,
    AgreementTable,
    ClassifierAgreement,
    DeltasTable,
    LeakageTable,
    NoHit,
    NoHitTable,
    PPLTable,
    RLHFTable,
    ScoreTable,
)
from emovec.readers.paper_inputs import PaperInputs, SteeringInputs
from emovec.readers.steering import SteeringData

__all__ = ["STEERING_ANALYSES", "steering_models"]

_NO_CI = "Descriptive statistics of one run: no CI; correction: none."


def _steering(inputs: PaperInputs) -> tuple[SteeringInputs, list[SteeringData], tuple[str, ...]]:
    st = inputs.steering
    assert st is not None  # registered for the steering experiment only
    ordered = ordered_models(st.data)
    return st, ordered, tuple(d.spec.model for d in ordered)


def steering_models(inputs: PaperInputs) -> tuple[str, ...]:
    """The steered models every steering analysis covers, in ``steering_sort_key`` order."""
    return _steering(inputs)[2]


def regime_table(inputs: PaperInputs) -> RegimeTable:
    st, ordered, models = _steering(inputs)
    rg = st.spec.regimes
    assert rg is not None
    return RegimeTable(models=models, low_strength=float(rg.low_strength), high_strength=float(rg.high_strength),
                       explosive_min_ratio=float(rg.explosive_min_ratio),
                       collapse_max_distinct2=float(rg.collapse_max_distinct2),
                       collapse_min_repeat=float(rg.collapse_min_repeat),
                       rows=tuple(regime_stats(d, rg) for d in ordered))


def rlhf_table(inputs: PaperInputs) -> RLHFTable:
    st, _, _ = _steering(inputs)
    return rlhf_steering(st.spec, st.data, st.separation)


def _pooled_scores(ordered: list[SteeringData], classifier: str) -> pd.DataFrame:
    return pd.concat([d.scores(classifier) for d in ordered], ignore_index=True)


def agreement_table(inputs: PaperInputs) -> AgreementTable:
    st, ordered, models = _steering(inputs)
    assert st.spec.ci_level is not None
    blocks = []
    for c in st.spec.classifiers:
        df = _pooled_scores(ordered, c.name)
        counts = tuple(AgreementCount(scope=str(r.scope), comparison=str(r.comparison), k=int(r.k), n=int(r.n),
                                      proportion=float(r.proportion), ci_low=float(r.ci_low),
                                      ci_high=float(r.ci_high), mean_shift=float(r.mean_shift))
                       for r in agreement_counts(df, st.spec.ci_level).itertuples(index=False))
        blocks.append(ClassifierAgreement(classifier=c.name, counts=counts, per_model=tuple(model_counts(df, models))))
    return AgreementTable(models=models, ci_level=float(st.spec.ci_level), classifiers=tuple(blocks))


def no_hit_table(inputs: PaperInputs) -> NoHitTable:
    st, ordered, models = _steering(inputs)
    rows = []
    for c in st.spec.classifiers:
        no_hit, with_count = no_hit_count(_pooled_scores(ordered, c.name))
        rows.append(NoHit(classifier=c.name, no_hit=no_hit, with_count=with_count))
    return NoHitTable(models=models, classifiers=tuple(rows))


def leakage_table(inputs: PaperInputs) -> LeakageTable:
    st, ordered, models = _steering(inputs)
    assert st.spec.regimes is not None
    high = float(st.spec.regimes.high_strength)
    return LeakageTable(models=models, high_strength=high, top=TOP_TOKENS,
                        per_model=tuple(script_leakage(d, high, TOP_TOKENS) for d in ordered))


def deltas_table(inputs: PaperInputs) -> DeltasTable:
    _, ordered, models = _steering(inputs)
    return DeltasTable(models=models, scenarios=shared_scenarios(ordered),
                       per_model=tuple(protocol_deltas(d) for d in ordered))


def ppl_table(inputs: PaperInputs) -> PPLTable:
    _, ordered, models = _steering(inputs)
    return PPLTable(models=models, per_model=tuple(ppl_by_strength(d) for d in ordered))


def score_table(inputs: PaperInputs) -> ScoreTable:
    st, ordered, models = _steering(inputs)
    return ScoreTable(models=models, rows=tuple(m for c in st.spec.classifiers for d in ordered
                                                for m in label_means(d, c)))


def regime_check(inputs: PaperInputs) -> RegimeCheck:
    st, ordered, models = _steering(inputs)
    rg = st.spec.regimes
    assert rg is not None
    check = [st.check[m] for m in models if m in st.check]
    runs = [("main", d) for d in ordered] + [("check", d) for d in check]
    return RegimeCheck(models=models, check_label=st.check_label, low_strength=float(rg.low_strength),
                       high_strength=float(rg.high_strength), main=tuple(regime_stats(d, rg) for d in ordered),
                       check=tuple(regime_stats(d, rg) for d in check),
                       scenarios=tuple(r for run, d in runs for r in scenario_regimes(d, run, rg)),
                       norms=tuple(n for run, d in runs for n in norm_scales(d, run)))


def dose_response_table(inputs: PaperInputs) -> DoseResponseTable:
    st, ordered, models = _steering(inputs)
    names = [c.name for c in st.spec.classifiers]
    return DoseResponseTable(models=models, per_model=tuple(dose_response(d, names) for d in ordered))


# name -> (compute, result type, about), in the order the stage runs them.
STEERING_ANALYSES: dict[str, tuple[Callable[[PaperInputs], Any], type, str]] = {
    "regime_stats": (regime_table, RegimeTable, (
        "per steered model, the emotion-vector generations at low_strength and high_strength (unit of analysis: "
        "generations; n = n_low / n_high, all scenarios and samples). ppl_low / ppl_high: token-weighted "
        "perplexity exp(sum NLL / sum generated tokens), natural log; ratio = ppl_high / ppl_low; random_ratio: "
        "the same over the random-direction generations; distinct2_high: mean distinct-2 of the generations at "
        "high that have one; repeat_high: median longest repeated span (tokens) at high. regime, first rule that "
        "applies: repetitive collapse (distinct2_high <= collapse_max_distinct2 or repeat_high >= "
        "collapse_min_repeat), explosive (ratio >= explosive_min_ratio), surgical; undetermined when a needed "
        "value is NaN. " + _NO_CI)),
    "rlhf_steering": (rlhf_table, RLHFTable, (
        "per base/instruct pair (an instruct model and the base model named as its partner, both steered). "
        "separation: mean pairwise cosine of the emotion vectors at each separation cell's reported layer, per "
        "method; delta = instruct - base (one number per cell: no CI; null where a model has no cell). "
        "sensitivity (Jeong 2026 §5.5): unit of analysis = scenarios both models ran; mean, low, high = mean, min, "
        "max over them of |mean delta instruct| / |mean delta base|, the emotion-vector generations' mean "
        "target-projection change at each model's protocol strength; n = scenarios in the mean, n_dropped = "
        "scenarios left out for a zero or missing base delta. No CI (descriptive ratio of means of one run); "
        "correction: none.")),
    "agreement_counts": (agreement_table, AgreementTable, (
        "per classifier, all models pooled: does steering move p_target (the classifier's score of the "
        "scenario's target) toward the target? shift = mean p_target of a condition's generations minus mean "
        "p_target of the unsteered generations of the same (model, scenario); a unit succeeds when direction x "
        "shift > 0 (strictly); emotion_vs_random: direction x (shift_emotion - shift_random) > 0. Unit of "
        "analysis: scope 'protocol' = (model, scenario), emotion and random generations at the protocol strength "
        "and all induction generations; scope 'every strength' = (model, scenario, strength), no induction (n = "
        "0). n = units that have the shift(s); mean_shift: mean of direction x shift over them, in the "
        "classifier's score units. CI: Clopper-Pearson exact interval of k/n at ci_level, treating units as "
        "independent (they are not across strengths); correction: none. per_model: each model's k and n (the "
        "pooled counts are their sums).")),
    "no_hit_count": (no_hit_table, NoHitTable, (
        "per classifier, all models pooled; unit of analysis: generations. no_hit = generations in which the "
        "classifier found no lexicon hit; with_count = generations with a hit count (both 0 for a classifier "
        "without a lexicon). Counts: no CI; correction: none.")),
    "script_leakage": (leakage_table, LeakageTable, (
        "per model x condition (emotion and random generations at high_strength; all unsteered and induction "
        "generations); unit of analysis: generations, n = generations of the row. leak_share / cjk_share: mean "
        "over the generations with script characters of the share of foreign-script / CJK characters (NaN when "
        "none); k_foreign: generations with a foreign-script character; top_tokens: the `top` most frequent "
        "leaked tokens with their counts, ties in code-point order. " + _NO_CI)),
    "protocol_deltas": (deltas_table, DeltasTable, (
        "per model x scenario at the scenario's protocol strength; unit of analysis: generations. emotion_delta: "
        "mean delta (target-emotion projection of the generated tokens with steering minus the same for the "
        "unsteered generation of the scenario and sample) of the emotion-vector generations, n_emotion of them "
        "(samples); random_delta: the same for the random-direction generations, n_random of them (directions x "
        "samples); n_missing: protocol generations without tokens (no delta, left out). *_delta_text: the same "
        "deltas read by the unsteered model from the generated text alone (delta_text: without the added vector, "
        "which a delta read inside the steered pass contains). induction_delta / induction_delta_text: the "
        "prompt-induction generations of the scenario (no steering; their own prompt), n_induction of them. "
        "scenarios: the union over the models, by smallest scenario_index then name. " + _NO_CI)),
    "regime_check": (regime_check, RegimeCheck, (
        "the regimes under the main run's steering and under the steering check (the selection's steering_check: "
        "the same models and vectors under its steering.* overrides, e.g. the median token norm as reference; "
        "check_label names it; check and its scenarios are empty when the run has none). main / check: "
        "regime_stats rows (see regime_stats). scenarios: per model x run x scenario, the emotion-vector "
        "generations at high_strength (distinct2_high: mean distinct-2 of those with one; repeat_high: median "
        "longest repeated span, tokens; n_high) and the token-weighted perplexity at low and high: the units a "
        "bootstrap over scenarios resamples. norms: per model x run x steered layer, norms.csv: the reference a "
        "strength multiplies and the typical (median) token norm over the run's distinct prompts; ratio_mean = "
        "mean over prompts of reference / typical, so strength s adds s x ratio_mean typical-token norms. " + _NO_CI)),
    "steering_ppl": (ppl_table, PPLTable, (
        "per model x magnitude (merged up to float noise, 9 significant digits) of the emotion-vector "
        "generations; unit of analysis: generations, n per magnitude (all scenarios and samples), n_tokens their "
        "generated tokens. ppl = exp(sum NLL / n_tokens) (token-weighted, natural log; NaN without tokens). "
        "max_ppl: the largest per-generation perplexity of the model's emotion-vector generations with tokens "
        "(null when none). " + _NO_CI)),
    "classifier_scores": (score_table, ScoreTable, (
        "per classifier x model x magnitude x scenario of the emotion-vector generations; unit of analysis: "
        "generations, n of them. means: mean score per label of the classifier (NaN-skipping; a probability for "
        "probability classifiers, else the classifier's score). " + _NO_CI)),
    "dose_response": (dose_response_table, DoseResponseTable, (
        "the dose-response figure's points, per model x panel x magnitude (merged up to float noise, 9 "
        "significant digits); unit of analysis: scenarios. panels: one per classifier (measure = its name): shift "
        "= mean p_target of a scenario's generations minus the mean p_target of that scenario's unsteered "
        "generations (the agreement_counts shift), then measure 'delta': mean target-projection change "
        "(steered minus unsteered, as recorded per generation). Every value is multiplied by the scenario's "
        "direction (toward the target = positive). scenarios: one line per scenario (emotion-vector generations, "
        "mean over n_samples samples); mean: mean over the scenarios with a value; random_mean / random_lo / "
        "random_hi: per random direction the mean over scenarios of its signed shift, then mean / min / max over "
        "the n_random directions; induction, unsteered: mean over scenarios of the signed shift of the "
        "prompt-induction and the unsteered generations (unsteered is 0 by definition). " + _NO_CI)),
}
