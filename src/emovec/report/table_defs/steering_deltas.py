"""Steering effect on the target-emotion projection per model and scenario, emotion vector
beside the random control (Jeong 2026, Table 4 analogue), from the analyses stage's
``build/analyses/protocol_deltas.json``."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.analysis.steering import ordered_models
from emovec.analysis.steering_records import DeltasTable
from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_steering import SteeringSpec
from emovec.readers.steering import SteeringData
from emovec.report.latex import DASH, fmt_signed, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.steering_text import (
    direction_sign,
    per_model,
    protocol_caption,
    settings_caption,
    table_label,
)

__all__ = ["build", "steering_deltas_table"]


def steering_deltas_table(spec: SteeringSpec, data: Mapping[str, SteeringData], table: DeltasTable) -> str:
    """Jeong Table 4 analogue: rows = models, columns = scenarios (by scenario_index); a cell is
    the mean delta of the emotion rows at the protocol strength, then (in parentheses) the mean
    delta of the random rows at the same strength. ``table``: the ``protocol_deltas`` analysis."""
    dg = spec.digits
    ordered = ordered_models(data)
    scenarios = table.scenarios
    names = [s.scenario for s in scenarios]
    body = []
    missing_notes = []
    for d in ordered:
        deltas = table.of(d.spec.model)
        row = [latex_escape(d.spec.model), d.spec.variant]
        for name in names:
            if not deltas.has(name):
                row.append(DASH)
                continue
            r = deltas.of(name)
            row.append(f"{fmt_signed(r.emotion_delta, dg)} ({fmt_signed(r.random_delta, dg)})")
            if r.n_missing:
                missing_notes.append(f"{latex_escape(d.spec.model)}/{latex_escape(name)} {r.n_missing}")
        body.append(table_row(row))
    header = [
        table_row(["", ""] + [latex_escape(s) for s in names]),
        table_row(["Model", "Variant"] + [f"{latex_escape(s.emotion)} ({direction_sign(s.direction)})"
                                     for s in scenarios]),
    ]
    caption = (
        "Steering effect on the target-emotion projection (analogue of Jeong 2026, Table 4). "
        "$\\Delta$ = projection of the generated tokens on the target emotion's vector (mean over generated "
        "tokens) with steering minus the same for the unsteered generation of the same scenario and sample, "
        f"read at block {per_model(ordered, lambda d: str(d.summary['projection_layer']))} (0-based). Cell: "
        "mean $\\Delta$ of the emotion-vector generations at the scenario's protocol strength; in parentheses "
        "the mean $\\Delta$ of the random-direction control (random unit directions of matched norm, same "
        "strength), averaged over directions and samples. Unit of analysis: generations of one (model, "
        f"scenario); $n$ = {per_model(ordered, lambda d: str(d.summary['n_samples']))} emotion and "
        f"{per_model(ordered, lambda d: str(d.summary['n_random'] * d.summary['n_samples']))} random "
        "generations per cell (directions $\\times$ samples). No confidence interval (descriptive means of "
        "one run) and no multiple-comparison correction. Protocol strengths (signed by the direction $\\pm$ "
        f"in the header, $-$ = steered away from the emotion, so a negative $\\Delta$ is the intended effect): "
        f"{protocol_caption(ordered, names)}."
        + settings_caption(ordered)
        + f" {DASH}: scenario not run for this model."
        + (" Generations without tokens have no $\\Delta$ and are left out: "
           + "; ".join(missing_notes) + "." if missing_notes else "")
    )
    n_cols = 2 + len(scenarios)
    tab = tabular("ll" + "c" * len(scenarios), header, body)
    return wrap_table(caption, table_label("deltas"), [(tab, n_cols)])


@register_table("steering_deltas.tex", "steering")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.steering is not None  # registered for the steering experiment only
    return steering_deltas_table(inputs.steering.spec, inputs.steering.data, inputs.analysis("protocol_deltas"))
