"""Findings statistics on the steering study (Jeong 2026 §5-6): per steered model, from the
analyses stage's steering outputs.

The unit of analysis is the scenario, and a run has few (5 per model by default): every CI over
scenarios is the Student t interval of the mean paired difference, with the exact sign-flip p and
its smallest attainable value beside it (``emovec.stats.small_n``), because a percentile bootstrap
over 5 units is far too narrow. Regimes are judged against the controls of the same prompts (the
unsteered text and the matched-norm random direction), never against a fixed threshold alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from emovec.analysis.catalogue import read_analysis
from emovec.analysis.regime_records import RegimeCheck
from emovec.errors import EmovecInputError
from emovec.ledgers.finding_core import Estimate, FindingsContext, Outcome, Subject, register_statistic
from emovec.readers.paper_steering import SteeringModelSpec


def _models(ctx: FindingsContext) -> tuple[SteeringModelSpec, ...]:
    return ctx.paper.steering.models


def _subject(m: SteeringModelSpec) -> Subject:
    return Subject(label=m.model, models=(m.model,), families=(m.family,), variants=(m.variant,))


def _mean_interval(d: np.ndarray, args: Mapping[str, Any]) -> tuple[float, float, str]:
    """(low, high, ci_method) of the mean of the paired differences ``d`` over scenarios: the t
    interval at ``args.level`` (default 0.95), the exact two-sided sign-flip p and its floor."""
    from emovec.stats.small_n import sign_flip_p, t_interval

    level = float(args.get("level", 0.95))
    lo, hi = t_interval(d, level)
    p, floor = sign_flip_p(d, "two-sided")
    return lo, hi, (f"t interval over scenarios (df {d.size - 1}, {level:.0%}); exact sign-flip p {p:.3g} "
                    f"(two-sided; smallest attainable with n = {d.size}: {floor:.3g})")


_MEASURES = {
    # where the target projection is read: inside the steered pass (Jeong's delta: it contains the
    # added vector itself, so any vector with a component along the target "moves" it), or by the
    # unsteered model from the generated text alone (what the text carries).
    "steered": ("{}_delta", "read inside the steered pass (contains the added vector)"),
    "text": ("{}_delta_text", "read by the unsteered model from the generated text"),
}


def _measure(args: Mapping[str, Any]) -> tuple[str, str]:
    name = str(args.get("measure", ""))
    if name not in _MEASURES:
        raise EmovecInputError(f"steering statistics need args.measure, one of {sorted(_MEASURES)}; got {name!r}")
    return _MEASURES[name]


def _control_difference(ctx: FindingsContext, args: Mapping[str, Any], control: str) -> list[Outcome]:
    """Per steered model and scenario s: direction_s x (emotion delta_s - control delta_s) at the
    protocol strength; the mean over scenarios with a percentile bootstrap over scenarios."""
    column, where = _measure(args)
    models = _models(ctx)
    if not models:
        return []
    deltas = read_analysis(ctx.analyses_dir, "protocol_deltas")
    per_model = {m.model: m.rows for m in deltas.per_model}
    mine, other = column.format("emotion"), column.format(control)
    out = []
    for m in models:
        rows = [r for r in per_model.get(m.model, ())
                if np.isfinite(getattr(r, mine)) and np.isfinite(getattr(r, other))]
        if len(rows) < 2:
            out.append(Outcome(_subject(m), not_applicable=f"{len(rows)} scenario(s) with both deltas; need 2 or more"))
            continue
        d = np.array([r.direction * (getattr(r, mine) - getattr(r, other)) for r in rows])
        lo, hi, method = _mean_interval(d, args)
        out.append(Outcome(_subject(m), Estimate(
            value=float(d.mean()), ci_low=lo, ci_high=hi, n=int(d.size),
            unit_of_analysis=f"scenarios (paired: vector vs {control} in each)",
            unit=f"projection change toward the target, {where} (activation units)",
            ci_method=method,
            detail=f"scenarios positive: {int((d > 0).sum())} of {d.size}")))
    return out


@register_statistic("steering_minus_random")
def steering_minus_random(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per steered model: how much more the emotion vector moves the target-emotion projection
    than a random direction of matched norm, at the protocol strength. Per scenario s:
    direction_s x (emotion delta_s - random delta_s) (deltas from the analyses stage's
    ``protocol_deltas``: means over samples, and over random directions; direction -1 scenarios
    steer away, so the sign makes "toward the target" positive), read where ``args.measure`` says
    (``steered``: inside the steered pass, as Jeong; ``text``: by the unsteered model from the
    text). Statistic: the mean over scenarios; CI: t interval over scenarios (``_mean_interval``)."""
    return _control_difference(ctx, args, "random")


@register_statistic("steering_minus_induction")
def steering_minus_induction(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """As :func:`steering_minus_random` against prompt-level induction ("Respond as someone who
    feels ...", no steering) of the same scenario: per scenario, direction x (emotion delta -
    induction delta)."""
    return _control_difference(ctx, args, "induction")


def _scale_detail(check: RegimeCheck, model: str, run: str, strength: float) -> str:
    """"strength s adds k typical-token norms (median layer ratio, range over layers)" for a run
    (the ratios of :func:`emovec.analysis.steering.norm_ratio_scale`, as the norm-scale table)."""
    from emovec.analysis.steering import norm_ratio_scale

    scale = norm_ratio_scale(check.norms, model, run)
    if scale is None:
        return ""
    med, lo, hi = scale
    return (f"{run} run: strength {strength:g} adds {strength * med:.3g} typical-token norms "
            f"(median over layers; {strength * lo:.3g}-{strength * hi:.3g})")


_CONTROLS = {"unsteered": ("distinct2_unsteered", "the unsteered generations of the same prompt"),
             "random": ("distinct2_random_high", "the matched-norm random direction at the same strength")}


@register_statistic("distinct2_vs_control")
def distinct2_vs_control(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per steered model: distinct-2 of the emotion-vector generations at the regime rule's high
    strength minus that of a control of the same scenario (``args.control``: ``unsteered``, or
    ``random``: the matched-norm random direction at the same strength), in the main run or the
    steering check (``args.run``: main | check); the mean over scenarios with a t interval
    (``_mean_interval``). Negative: steering with the vector makes the text more repetitive than
    the control. The detail states the unsteered text's own distinct-2 against the collapse rule's
    threshold, and what the strength adds in typical-token norms."""
    run, control = str(args.get("run", "")), str(args.get("control", ""))
    if run not in ("main", "check"):
        raise EmovecInputError(f"distinct2_vs_control needs args.run, main or check; got {run!r}")
    if control not in _CONTROLS:
        raise EmovecInputError(f"distinct2_vs_control needs args.control, one of {sorted(_CONTROLS)}; got {control!r}")
    column, what = _CONTROLS[control]
    models = _models(ctx)
    if not models:
        return []
    node: RegimeCheck = read_analysis(ctx.analyses_dir, "regime_check")
    threshold = read_analysis(ctx.analyses_dir, "regime_stats").collapse_max_distinct2
    out = []
    for m in models:
        if run == "check" and not node.check:
            out.append(Outcome(_subject(m), not_applicable="the selection has no steering_check"))
            continue
        rows = [r for r in node.scenarios if r.model == m.model and r.run == run
                and np.isfinite(r.distinct2_high) and np.isfinite(getattr(r, column))]
        if len(rows) < 2:
            out.append(Outcome(_subject(m), not_applicable=f"{len(rows)} scenario(s) with both distinct-2; need 2"))
            continue
        d = np.array([r.distinct2_high - getattr(r, column) for r in rows])
        base = np.array([r.distinct2_unsteered for r in rows if np.isfinite(r.distinct2_unsteered)])
        lo, hi, method = _mean_interval(d, args)
        label = f"check ({node.check_label})" if run == "check" else "main"
        state = "already at or below" if base.size and base.mean() <= threshold else "above"
        out.append(Outcome(_subject(m), Estimate(
            value=float(d.mean()), ci_low=lo, ci_high=hi, n=int(d.size),
            unit_of_analysis=f"scenarios (paired: vector vs {control} in each)",
            unit=f"distinct-2 difference (vector at {node.high_strength:g} - {what})",
            ci_method=method,
            detail=f"{label}; vector {np.mean([r.distinct2_high for r in rows]):.3f}, {control} "
                   f"{np.mean([getattr(r, column) for r in rows]):.3f}; unsteered text "
                   f"{base.mean() if base.size else float('nan'):.3f}, "
                   f"{state} the collapse threshold {threshold:g} on its own; "
                   + _scale_detail(node, m.model, run, node.high_strength))))
    return out


@register_statistic("check_minus_main_distinct2")
def check_minus_main_distinct2(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per steered model: distinct-2 at the high strength in the steering check minus in the main
    run, paired by scenario (the same prompts and vectors; only the check's overrides differ);
    mean over scenarios, t interval (``_mean_interval``). Positive: under the check the text
    collapses less."""
    models = _models(ctx)
    if not models:
        return []
    node: RegimeCheck = read_analysis(ctx.analyses_dir, "regime_check")
    out = []
    for m in models:
        if not node.check:
            out.append(Outcome(_subject(m), not_applicable="the selection has no steering_check"))
            continue
        runs = {(r.run, r.scenario): r.distinct2_high for r in node.scenarios if r.model == m.model}
        pairs = [(runs[("check", s)], v) for (run, s), v in runs.items()
                 if run == "main" and ("check", s) in runs and np.isfinite(v) and np.isfinite(runs[("check", s)])]
        if len(pairs) < 2:
            out.append(Outcome(_subject(m), not_applicable=f"{len(pairs)} scenario(s) in both runs; need 2 or more"))
            continue
        d = np.array([c - r for c, r in pairs])
        lo, hi, method = _mean_interval(d, args)
        high = node.high_strength
        out.append(Outcome(_subject(m), Estimate(
            value=float(d.mean()), ci_low=lo, ci_high=hi, n=int(d.size),
            unit_of_analysis="scenarios (paired: the same scenario in both runs)",
            unit="distinct-2 difference (check - main)",
            ci_method=method,
            detail=f"check: {node.check_label}; " + "; ".join(
                x for x in (_scale_detail(node, m.model, "main", high), _scale_detail(node, m.model, "check", high))
                if x))))
    return out


@register_statistic("leakage_minus_control")
def leakage_minus_control(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per steered model: the share of emotion-vector generations at the high strength that hold a
    foreign-script character, minus the same share among the ``args.control`` generations
    (unsteered, default; or random at the high strength), from the analyses' ``script_leakage``
    counts. CI: Newcombe's hybrid score interval for two independent proportions
    (:func:`emovec.stats.proportions.newcombe_difference`, ``args.level``, default 0.95)."""
    from emovec.stats.proportions import newcombe_difference

    control, level = str(args.get("control", "unsteered")), float(args.get("level", 0.95))
    models = _models(ctx)
    if not models:
        return []
    leakage = read_analysis(ctx.analyses_dir, "script_leakage")
    per_model = {m.model: {r.condition: r for r in m.rows} for m in leakage.per_model}
    out = []
    for m in models:
        rows = per_model.get(m.model, {})
        if "emotion" not in rows or control not in rows or not rows["emotion"].n or not rows[control].n:
            out.append(Outcome(_subject(m), not_applicable=f"needs emotion and {control} generations"))
            continue
        e, c = rows["emotion"], rows[control]
        d, lo, hi = newcombe_difference(e.k_foreign, e.n, c.k_foreign, c.n, level)
        out.append(Outcome(_subject(m), Estimate(
            value=d, ci_low=lo, ci_high=hi, n=e.n + c.n,
            unit_of_analysis=f"generations (emotion at strength {leakage.high_strength:g} vs {control}, independent)",
            unit="share of generations with a foreign-script character (difference)",
            ci_method=f"Newcombe hybrid score interval ({level:.0%})",
            detail=f"emotion {e.k_foreign}/{e.n}, {control} {c.k_foreign}/{c.n}")))
    return out
