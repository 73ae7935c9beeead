"""Findings statistics on cross-model emotion geometry (Jeong's follow-up, arXiv 2604.11050):
per model pair, from the RSA rows the findings stage computes (:mod:`emovec.geometry.rsa_study`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emovec.ledgers.finding_core import Estimate, FindingsContext, Outcome, Subject, register_statistic


@register_statistic("rsa_rho")
def rsa_rho(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per model pair of a corpus (``args.kind``: cross_model or base_instruct; ``args.depth``,
    default the reported layers): Spearman rho of the two models' emotion cosine matrices, bootstrap
    CI over emotions, one-sided Mantel p (:mod:`emovec.geometry.rsa_study`)."""
    kind, depth = str(args.get("kind", "cross_model")), str(args.get("depth", "reported"))
    cells = ctx.paper.separation.cells
    info = {c.model: c for c in cells}
    method = {c.corpus: c.method for c in cells}
    out = []
    for r in ctx.rsa_rows:
        if r["kind"] != kind or r["depth"] != depth:
            continue
        a, b = info[r["model_a"]], info[r["model_b"]]
        subject = Subject(label=f"{r['model_a']} x {r['model_b']} / {r['corpus']}", models=(a.model, b.model),
                          families=(a.family, b.family), variants=(a.variant, b.variant))
        # Generation stimuli are written by each model itself: the two geometries come from different texts.
        own_text = "; each model read its own generated stimuli" if method.get(r["corpus"]) == "generation" else ""
        out.append(Outcome(subject, Estimate(
            value=float(r["rho"]), ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]), n=int(r["n_emotions"]),
            unit_of_analysis=f"emotions ({r['n_pairs']} cosines per matrix, not independent)", unit="Spearman rho",
            ci_method=f"bootstrap over emotions ({r['n_boot_valid']} draws, percentile, {float(r['level']):.0%})",
            detail=f"layers {r['layer_a']}/{r['layer_b']}; Mantel p {float(r['p_mantel']):.3g} "
                   f"({r['n_perm']} relabellings){own_text}")))
    if not out:
        models = ", ".join(f"{m} ({c.family} {c.variant})" for m, c in info.items())
        need = "a base and an instruct model of one family" if kind == "base_instruct" else "two models on one corpus"
        out.append(Outcome(Subject("(run)", (), (), ()), not_applicable=f"needs {need}; the selection has {models}"))
    return out
