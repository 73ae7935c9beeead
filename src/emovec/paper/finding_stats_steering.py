"""Findings statistics on the steering study (Jeong 2026 §5-6): per steered model, from the
analyses stage's steering outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from emovec.paper.finding_core import Estimate, FindingsContext, Outcome, Subject, read_json, register_statistic


@register_statistic("steering_minus_random")
def steering_minus_random(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per steered model: how much more the emotion vector moves the target-emotion projection
    than a random direction of matched norm, at the protocol strength. Per scenario s:
    direction_s x (emotion delta_s - random delta_s) (deltas from the analyses stage's
    ``protocol_deltas``: means over samples, and over random directions; direction -1 scenarios
    steer away, so the sign makes "toward the target" positive). Statistic: the mean over
    scenarios; CI: percentile bootstrap over scenarios (``args.n_boot``, default 2000, seed
    ``args.seed``, default 0)."""
    n_boot, seed, level = int(args.get("n_boot", 2000)), int(args.get("seed", 0)), float(args.get("level", 0.95))
    steering = ctx.paper_config.get("steering") or {}
    models = steering.get("models") or []
    if not models:
        return []
    node = read_json(ctx.analyses_dir / "protocol_deltas.json")["result"]
    per_model = {m["model"]: m["rows"] for m in node["per_model"]}
    out = []
    for m in models:
        subject = Subject(label=str(m["model"]), models=(m["model"],), families=(m["family"],), variants=(m["variant"],))
        rows = [r for r in per_model.get(m["model"], [])
                if np.isfinite(r["emotion_delta"]) and np.isfinite(r["random_delta"])]
        if len(rows) < 2:
            out.append(Outcome(subject, not_applicable=f"{len(rows)} scenario(s) with both deltas; need 2 or more"))
            continue
        d = np.array([r["direction"] * (r["emotion_delta"] - r["random_delta"]) for r in rows], dtype=float)
        rng = np.random.default_rng(seed)
        boot = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
        lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
        out.append(Outcome(subject, Estimate(
            value=float(d.mean()), ci_low=float(lo), ci_high=float(hi), n=int(d.size),
            unit_of_analysis="scenarios (paired: vector vs random at one strength)",
            unit="projection change toward the target (activation units)",
            ci_method=f"percentile bootstrap over scenarios ({n_boot} draws, {level:.0%})",
            detail=f"scenarios positive: {int((d > 0).sum())} of {d.size}")))
    return out
