"""Claim measures on **model outputs**: the tracked separation, steering, classifier and valence
outputs of the named model. They exist only when the run selected that model (which needs its
weights); otherwise a measure raises ``NotRun`` naming the absent file.

Adding a measure is one function plus ``@register_measure("name", "model outputs")``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from emovec.errors import EmovecInputError
from emovec.paper.claim_ledger import ClaimContext, Measured, NotRun, measure_arg, register_measure

__all__: list[str] = []  # measures are reached through emovec.paper.claim_ledger.MEASURES


# --------------------------------------------------------------------------------------------
# Separation
# --------------------------------------------------------------------------------------------

def _separation(ctx: ClaimContext, model: str, corpus: str) -> pd.DataFrame:
    path = ctx.separation_dir / f"{model}__{corpus}.csv"
    if not path.is_file():
        raise NotRun(f"{path} absent (cell {model}__{corpus} not in the run)")
    key = ("sep", str(path))
    if key not in ctx.cache:
        ctx.cache[key] = pd.read_csv(path)
    return ctx.cache[key]


def _reported_row(df: pd.DataFrame, layer: Any = None) -> pd.Series:
    if layer is None:
        rows = df[df["is_reported_layer"].astype(str) == "True"]
        return rows.iloc[0]
    if not 0 <= int(layer) < len(df):
        raise NotRun(f"layer {layer} outside the model's {len(df)} blocks")
    return df.iloc[int(layer)]


@register_measure("separation_mean_cosine", "model outputs")
def _m_sep_cos(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    df = _separation(ctx, measure_arg(args, "model"), measure_arg(args, "corpus"))
    return float(_reported_row(df, args.get("layer"))["mean_cosine"])


@register_measure("separation_pair_cosine", "model outputs")
def _m_pair(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    df = _separation(ctx, measure_arg(args, "model"), measure_arg(args, "corpus"))
    col = f"cos_{measure_arg(args, 'pair')}"
    if col not in df.columns:
        raise EmovecInputError(f"pair {args['pair']!r} is not reported by the separation stage")
    return float(_reported_row(df)[col])


@register_measure("separation_difference", "model outputs")
def _m_diff(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    g = _separation(ctx, measure_arg(args, "model"), measure_arg(args, "generation_corpus"))
    c = _separation(ctx, args["model"], measure_arg(args, "comprehension_corpus"))
    return float(_reported_row(c)["mean_cosine"]) - float(_reported_row(g)["mean_cosine"])


@register_measure("anisotropy_baseline", "model outputs")
def _m_aniso(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return float(_reported_row(_separation(ctx, measure_arg(args, "model"), measure_arg(args, "corpus")))["anisotropy"])


@register_measure("anisotropy_gap", "model outputs")
def _m_aniso_gap(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return float(_reported_row(_separation(ctx, measure_arg(args, "model"), measure_arg(args, "corpus")))["gap_to_anisotropy"])


@register_measure("rlhf_separation_delta", "model outputs")
def _m_rlhf(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    b = _separation(ctx, measure_arg(args, "base"), measure_arg(args, "corpus"))
    i = _separation(ctx, measure_arg(args, "instruct"), args["corpus"])
    return float(_reported_row(b)["mean_cosine"]) - float(_reported_row(i)["mean_cosine"])


def _method_comparison(args: Mapping[str, Any], ctx: ClaimContext) -> Any:
    from emovec.paper.results.gen_vs_comp import compare_methods

    model = measure_arg(args, "model")
    recs = []
    for corpus in (measure_arg(args, "generation_corpus"), measure_arg(args, "comprehension_corpus")):
        path = ctx.separation_dir / f"{model}__{corpus}.resampling.json"
        if not path.is_file():
            raise NotRun(f"{path} absent (cell {model}__{corpus} not in the run)")
        recs.append(json.loads(path.read_text()))
    return compare_methods(model, recs[0], recs[1])


@register_measure("loo_mannwhitney_p", "model outputs")
def _m_loo_p(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return _method_comparison(args, ctx).mwu_p


@register_measure("loo_cohens_d", "model outputs")
def _m_loo_d(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return _method_comparison(args, ctx).d_loo


# --------------------------------------------------------------------------------------------
# Steering
# --------------------------------------------------------------------------------------------

def _steering(ctx: ClaimContext, model: str) -> Any:
    """One model's validated steering outputs (``emovec.paper.loaders.steering.SteeringData``) with the
    steering spec it was loaded under."""
    from emovec.paper.loaders.spec import load_steering_spec
    from emovec.paper.loaders.steering import load_steering

    key = ("steer", model)
    if key in ctx.cache:
        return ctx.cache[key]
    raw = ctx.paper_config.get("steering") or {"models": []}
    spec = load_steering_spec(raw, int(ctx.paper_config.get("digits", 3)), "paper config")
    wanted = [m for m in spec.models if m.model == model]
    if not wanted:
        raise NotRun(f"model {model} was not steered in this run")
    spec = dataclasses.replace(spec, models=tuple(wanted))
    ctx.cache[key] = (spec, load_steering(spec, ctx.steering_dir, ctx.classify_dir)[model])
    return ctx.cache[key]


@register_measure("steering_delta", "model outputs")
def _m_delta(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    from emovec.paper.results.steering import protocol_deltas

    _, d = _steering(ctx, measure_arg(args, "model"))
    table = protocol_deltas(d).set_index("scenario")
    scenario = measure_arg(args, "scenario")
    if scenario not in table.index:
        raise NotRun(f"scenario {scenario} not run for {args['model']}")
    return float(table.loc[scenario, "emotion_delta"])


def _emotion_rows_at(d: Any, strength: float, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Emotion-vector rows at |strength| of ``frame`` (default: the model's measures)."""
    frame = d.measures if frame is None else frame
    rows = frame[frame["condition"] == "emotion"]
    hit = rows[np.isclose(rows["magnitude"].astype(float), abs(float(strength)), rtol=1e-9, atol=1e-12)]
    if hit.empty:
        raise NotRun(f"no emotion-vector generations at strength {strength:g}")
    return hit


@register_measure("steering_ppl", "model outputs")
def _m_ppl(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    from emovec.paper.results.steering import token_weighted_ppl

    _, d = _steering(ctx, measure_arg(args, "model"))
    return token_weighted_ppl(_emotion_rows_at(d, float(measure_arg(args, "strength"))))


@register_measure("steering_ppl_ratio", "model outputs")
def _m_ppl_ratio(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    from emovec.paper.results.steering import regime_stats

    spec, d = _steering(ctx, measure_arg(args, "model"))
    return float(regime_stats(d, spec.regimes).ratio)


@register_measure("steering_regime", "model outputs")
def _m_regime(args: Mapping[str, Any], ctx: ClaimContext) -> str:
    from emovec.paper.results.steering import regime_stats

    spec, d = _steering(ctx, measure_arg(args, "model"))
    return str(regime_stats(d, spec.regimes).regime)


@register_measure("steering_max_ppl", "model outputs")
def _m_max_ppl(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    _, d = _steering(ctx, measure_arg(args, "model"))
    rows = d.measures[(d.measures["condition"] == "emotion") & (d.measures["n_gen_tokens"] > 0)]
    if rows.empty:
        raise NotRun("no emotion-vector generation with tokens")
    return float(rows["ppl"].max())


@register_measure("steering_sensitivity", "model outputs")
def _m_sensitivity(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    from emovec.paper.results.steering import steering_sensitivity

    _, b = _steering(ctx, measure_arg(args, "base"))
    _, i = _steering(ctx, measure_arg(args, "instruct"))
    return steering_sensitivity(b, i).mean


# --------------------------------------------------------------------------------------------
# Classifiers
# --------------------------------------------------------------------------------------------

# Jeong's classifier numbers (37/40 agreement, the GPT-2 sweep's p(anger), p(joy)) were scored by
# j-hartmann/emotion-english-distilroberta-base, which runs as the hf_sequence_classifier entry.
# A claim may name another registered classifier with ``classifier: <name>``; it is never swapped
# silently for whichever classifier did run.
_JEONG_CLASSIFIER = "hf_sequence_classifier"
_JEONG_CLASSIFIER_DISPLAY = "j-hartmann/emotion-english-distilroberta-base"


def _claim_classifier(args: Mapping[str, Any], spec: Any) -> Any:
    """The ClassifierSpec a classifier measure reads: ``args['classifier']`` (a registry name),
    by default Jeong's j-hartmann (hf_sequence_classifier); NotRun when that one did not run."""
    name = args.get("classifier", _JEONG_CLASSIFIER)
    for c in spec.classifiers:
        if c.name == name:
            return c
    ran = "; ".join(f"{c.display_name} ({c.name})" for c in spec.classifiers) or "none"
    if name == _JEONG_CLASSIFIER:
        why = (f"Jeong's number was scored by {_JEONG_CLASSIFIER_DISPLAY} (steering.classifiers entry "
               f"{_JEONG_CLASSIFIER}, which is not among this run's classifiers: {ran}); another classifier's "
               "score is not the same measurement, so it is not used in its place")
    else:
        why = f"classifier {name} is not among this run's classifiers: {ran}"
    raise NotRun(why)


def _read_by(c: Any) -> str:
    return f"classifier: {c.display_name} ({c.name})"


@register_measure("classifier_agreement", "model outputs")
def _m_agreement(args: Mapping[str, Any], ctx: ClaimContext) -> Measured:
    from emovec.paper.results.agreement import agreement_counts

    frames, ci, used = [], 0.95, None
    for model in measure_arg(args, "models"):
        spec, d = _steering(ctx, model)
        used = _claim_classifier(args, spec)
        frames.append(d.scores(used.name))
        ci = spec.ci_level or ci
    counts = agreement_counts(pd.concat(frames, ignore_index=True), ci)
    row = counts[(counts["scope"] == "protocol") & (counts["comparison"] == "emotion")].iloc[0]
    return Measured(float(row["proportion"]), f"{_read_by(used)}; {int(row['k'])}/{int(row['n'])} units")


@register_measure("classifier_probability", "model outputs")
def _m_class_p(args: Mapping[str, Any], ctx: ClaimContext) -> Measured:
    spec, d = _steering(ctx, measure_arg(args, "model"))
    used = _claim_classifier(args, spec)
    label = measure_arg(args, "label")
    if label not in used.labels:
        raise NotRun(f"label {label} is not a label of {used.display_name} ({list(used.labels)})")
    rows = _emotion_rows_at(d, float(measure_arg(args, "strength")), d.scores(used.name))
    rows = rows[rows["scenario"] == measure_arg(args, "scenario")]
    if rows.empty:
        raise NotRun(f"no {args['scenario']} generations")
    return Measured(float(rows[f"p_{label}"].mean()), _read_by(used))


# --------------------------------------------------------------------------------------------
# Valence
# --------------------------------------------------------------------------------------------

def _valence_summary(ctx: ClaimContext, model: str, corpus: str) -> dict[str, Any]:
    path = ctx.valence_dir / f"{model}__{corpus}" / "summary.json"
    if not path.is_file():
        raise NotRun(f"{path} absent (cell {model}__{corpus} not in the run)")
    return json.loads(path.read_text())


@register_measure("valence_peak_r", "model outputs")
def _m_val_r(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return float(_valence_summary(ctx, measure_arg(args, "model"), measure_arg(args, "corpus"))["peaks"]["valence"]["r"])


@register_measure("valence_peak_layer", "model outputs")
def _m_val_layer(args: Mapping[str, Any], ctx: ClaimContext) -> int:
    return int(_valence_summary(ctx, measure_arg(args, "model"), measure_arg(args, "corpus"))["peaks"]["valence"]["layer"])


@register_measure("arousal_peak_r", "model outputs")
def _m_aro_r(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return float(_valence_summary(ctx, measure_arg(args, "model"), measure_arg(args, "corpus"))["peaks"]["arousal"]["r"])
