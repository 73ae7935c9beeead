"""Findings statistics on the steering study (Jeong 2026 §5-6): per steered model, from the
analyses stage's steering outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from emovec.errors import EmovecInputError
from emovec.paper.finding_core import Estimate, FindingsContext, Outcome, Subject, read_json, register_statistic


def _models(ctx: FindingsContext) -> list[Mapping[str, Any]]:
    return list((ctx.paper_config.get("steering") or {}).get("models") or [])


def _subject(m: Mapping[str, Any]) -> Subject:
    return Subject(label=str(m["model"]), models=(m["model"],), families=(m["family"],), variants=(m["variant"],))


def _bootstrap_mean(d: np.ndarray, args: Mapping[str, Any]) -> tuple[float, float, int, float]:
    """(low, high, n_boot, level): percentile bootstrap CI of the mean of ``d`` over its units
    (``args.n_boot``, default 2000, seed ``args.seed``, default 0, ``args.level``, default 0.95)."""
    n_boot, seed, level = int(args.get("n_boot", 2000)), int(args.get("seed", 0)), float(args.get("level", 0.95))
    rng = np.random.default_rng(seed)
    boot = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi), n_boot, level


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
    node = read_json(ctx.analyses_dir / "protocol_deltas.json")["result"]
    per_model = {m["model"]: m["rows"] for m in node["per_model"]}
    out = []
    for m in models:
        rows = [r for r in per_model.get(m["model"], [])
                if np.isfinite(r[column.format("emotion")]) and np.isfinite(r[column.format(control)])]
        if len(rows) < 2:
            out.append(Outcome(_subject(m), not_applicable=f"{len(rows)} scenario(s) with both deltas; need 2 or more"))
            continue
        d = np.array([r["direction"] * (r[column.format("emotion")] - r[column.format(control)]) for r in rows])
        lo, hi, n_boot, level = _bootstrap_mean(d, args)
        out.append(Outcome(_subject(m), Estimate(
            value=float(d.mean()), ci_low=lo, ci_high=hi, n=int(d.size),
            unit_of_analysis=f"scenarios (paired: vector vs {control} in each)",
            unit=f"projection change toward the target, {where} (activation units)",
            ci_method=f"percentile bootstrap over scenarios ({n_boot} draws, {level:.0%})",
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
    text). Statistic: the mean over scenarios; CI: percentile bootstrap over scenarios
    (``args.n_boot``, default 2000, seed ``args.seed``, default 0)."""
    return _control_difference(ctx, args, "random")


@register_statistic("steering_minus_induction")
def steering_minus_induction(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """As :func:`steering_minus_random` against prompt-level induction ("Respond as someone who
    feels ...", no steering) of the same scenario: per scenario, direction x (emotion delta -
    induction delta)."""
    return _control_difference(ctx, args, "induction")


def _scale_detail(node: Mapping[str, Any], model: str, run: str, strength: float) -> str:
    """"strength s adds k typical-token norms (median layer ratio, range over layers)" for a run."""
    ratios = [n["ratio_mean"] for n in node["norms"] if n["model"] == model and n["run"] == run]
    if not ratios:
        return ""
    return (f"{run} run: strength {strength:g} adds {strength * float(np.median(ratios)):.3g} typical-token norms "
            f"(median over layers; {strength * min(ratios):.3g}-{strength * max(ratios):.3g})")


@register_statistic("collapse_distinct2")
def collapse_distinct2(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per steered model: mean over scenarios of the distinct-2 of the emotion-vector generations at
    the regime rule's high strength (Jeong's repetitive collapse: low distinct-2), in the main run
    or the steering check (``args.run``: main | check); CI: percentile bootstrap over scenarios.
    The detail says what the strength adds in typical-token norms (the analyses' norm scale)."""
    run = str(args.get("run", ""))
    if run not in ("main", "check"):
        raise EmovecInputError(f"collapse_distinct2 needs args.run, main or check; got {run!r}")
    models = _models(ctx)
    if not models:
        return []
    node = read_json(ctx.analyses_dir / "regime_check.json")["result"]
    out = []
    for m in models:
        d = np.array([r["distinct2_high"] for r in node["scenarios"]
                      if r["model"] == m["model"] and r["run"] == run and np.isfinite(r["distinct2_high"])])
        if run == "check" and not node["check"]:
            out.append(Outcome(_subject(m), not_applicable="the selection has no steering_check"))
            continue
        if d.size < 2:
            out.append(Outcome(_subject(m), not_applicable=f"{d.size} scenario(s) with a distinct-2; need 2 or more"))
            continue
        lo, hi, n_boot, level = _bootstrap_mean(d, args)
        label = f"check ({node['check_label']})" if run == "check" else "main"
        out.append(Outcome(_subject(m), Estimate(
            value=float(d.mean()), ci_low=lo, ci_high=hi, n=int(d.size),
            unit_of_analysis="scenarios (emotion-vector generations at the high strength)",
            unit="distinct-2 (fraction of distinct bigrams)",
            ci_method=f"percentile bootstrap over scenarios ({n_boot} draws, {level:.0%})",
            detail=f"{label}; " + _scale_detail(node, m["model"], run, float(node["high_strength"])))))
    return out


@register_statistic("check_minus_main_distinct2")
def check_minus_main_distinct2(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per steered model: distinct-2 at the high strength in the steering check minus in the main
    run, paired by scenario (the same prompts and vectors; only the check's overrides differ);
    mean over scenarios, percentile bootstrap over scenarios. Positive: under the check the text
    collapses less."""
    models = _models(ctx)
    if not models:
        return []
    node = read_json(ctx.analyses_dir / "regime_check.json")["result"]
    out = []
    for m in models:
        if not node["check"]:
            out.append(Outcome(_subject(m), not_applicable="the selection has no steering_check"))
            continue
        runs = {(r["run"], r["scenario"]): r["distinct2_high"] for r in node["scenarios"] if r["model"] == m["model"]}
        pairs = [(runs[("check", s)], v) for (run, s), v in runs.items()
                 if run == "main" and ("check", s) in runs and np.isfinite(v) and np.isfinite(runs[("check", s)])]
        if len(pairs) < 2:
            out.append(Outcome(_subject(m), not_applicable=f"{len(pairs)} scenario(s) in both runs; need 2 or more"))
            continue
        d = np.array([c - r for c, r in pairs])
        lo, hi, n_boot, level = _bootstrap_mean(d, args)
        high = float(node["high_strength"])
        out.append(Outcome(_subject(m), Estimate(
            value=float(d.mean()), ci_low=lo, ci_high=hi, n=int(d.size),
            unit_of_analysis="scenarios (paired: the same scenario in both runs)",
            unit="distinct-2 difference (check - main)",
            ci_method=f"percentile bootstrap over scenarios ({n_boot} draws, {level:.0%})",
            detail=f"check: {node['check_label']}; " + "; ".join(
                x for x in (_scale_detail(node, m["model"], "main", high), _scale_detail(node, m["model"], "check", high))
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
    node = read_json(ctx.analyses_dir / "script_leakage.json")["result"]
    per_model = {m["model"]: {r["condition"]: r for r in m["rows"]} for m in node["per_model"]}
    out = []
    for m in models:
        rows = per_model.get(m["model"], {})
        if "emotion" not in rows or control not in rows or not rows["emotion"]["n"] or not rows[control]["n"]:
            out.append(Outcome(_subject(m), not_applicable=f"needs emotion and {control} generations"))
            continue
        e, c = rows["emotion"], rows[control]
        d, lo, hi = newcombe_difference(int(e["k_foreign"]), int(e["n"]), int(c["k_foreign"]), int(c["n"]), level)
        out.append(Outcome(_subject(m), Estimate(
            value=d, ci_low=lo, ci_high=hi, n=int(e["n"]) + int(c["n"]),
            unit_of_analysis=f"generations (emotion at strength {node['high_strength']:g} vs {control}, independent)",
            unit="share of generations with a foreign-script character (difference)",
            ci_method=f"Newcombe hybrid score interval ({level:.0%})",
            detail=f"emotion {e['k_foreign']}/{e['n']}, {control} {c['k_foreign']}/{c['n']}")))
    return out
