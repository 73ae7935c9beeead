"""Findings statistics on the valence study (van der Ben et al. 2026): per valence cell, from
the valence stage's summaries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emovec.errors import EmovecInputError
from emovec.paper.finding_core import Estimate, FindingsContext, Outcome, cell_subject, read_json, register_statistic


@register_statistic("affect_peak_r")
def affect_peak_r(ctx: FindingsContext, args: Mapping[str, Any]) -> list[Outcome]:
    """Per valence cell: Pearson r of the target's PC (PC1 valence, PC2 arousal) with the human
    ratings at the layer of peak |r|, with its bootstrap CI over emotions (PCA refitted per
    resample, aligned) and the max-statistic p over layers (``args.target``)."""
    target = str(args.get("target", "valence"))
    if target not in ("valence", "arousal"):
        raise EmovecInputError(f"affect_peak_r: target must be valence or arousal; got {target!r}")
    out = []
    for c in ctx.paper_config.get("valence_cells", []):
        subject = cell_subject(c, True)
        summary = read_json(ctx.valence_dir / c["cell"] / "summary.json")
        peak = summary["peaks"][target]
        out.append(Outcome(subject, Estimate(
            value=float(peak["r"]), ci_low=float(peak["r_ci_low"]), ci_high=float(peak["r_ci_high"]),
            n=int(summary["n_emotions"]), unit_of_analysis="emotions", unit="Pearson r",
            ci_method=f"bootstrap over emotions, PCA refitted ({summary['n_boot']} draws, {summary['ci_level']:.0%})",
            detail=f"layer {peak['layer']} of {c['n_layers']}; max-statistic p {peak['p_max']:.3g}")))
    return out
