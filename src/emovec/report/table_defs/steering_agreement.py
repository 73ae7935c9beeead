"""Classifier agreement: how often each classifier's target score moves toward the target, one
block per classifier, with Clopper-Pearson intervals (the analyses stage's
``build/analyses/agreement_counts.json`` and ``no_hit_count.json``)."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.analysis.agreement import COMPARISONS
from emovec.analysis.steering import ordered_models
from emovec.analysis.steering_records import AgreementTable, NoHitTable
from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_steering import SteeringSpec
from emovec.readers.steering import SteeringData
from emovec.report.latex import (
    DASH,
    fmt_num,
    fmt_percent,
    fmt_signed,
    latex_escape,
    summarise,
    table_row,
    tabular,
    wrap_table,
)
from emovec.report.registry import register_table
from emovec.report.table_defs.steering_text import settings_caption, table_label

__all__ = ["build", "steering_agreement_table"]


def steering_agreement_table(spec: SteeringSpec, data: Mapping[str, SteeringData], agreement: AgreementTable,
                             no_hits: NoHitTable) -> str:
    """Classifier agreement: one block of rows per classifier (config order); in each, how often its
    p_target moves toward the target (direction-signed), per comparison, at the protocol strength
    and at every strength, with Clopper-Pearson CIs. The caption names every classifier, what its
    p_target is, and (lexicon classifiers) how many generations had no lexicon hit. ``agreement``,
    ``no_hits``: the ``agreement_counts`` and ``no_hit_count`` analyses."""
    assert spec.ci_level is not None
    dg = spec.digits
    ordered = ordered_models(data)
    body: list[str] = []
    n_prot: list[tuple[str, str]] = []
    n_all: list[tuple[str, str]] = []
    notes = []
    for j, c in enumerate(spec.classifiers):
        counts = agreement.of(c.name)
        if j:
            body.append("\\midrule")
        title = f"Classifier {j + 1}: {latex_escape(c.display_name)}"
        body.append(table_row([f"\\multicolumn{{5}}{{l}}{{\\textbf{{{title}}}}}"]))
        for scope, title in (("protocol", "At the protocol strength: unit = (model, scenario)"),
                             ("every strength", "At every strength: unit = (model, scenario, strength)")):
            body.append(table_row([f"\\multicolumn{{5}}{{l}}{{\\textit{{{title}}}}}"]))
            for key, label in COMPARISONS:
                r = counts.count(scope, key)
                if r.n == 0:
                    body.append(table_row([label] + [DASH] * 4))
                    continue
                body.append(table_row([label, f"{r.k}/{r.n}", fmt_num(r.proportion, dg),
                                  f"[{fmt_num(r.ci_low, dg)}, {fmt_num(r.ci_high, dg)}]",
                                  fmt_signed(r.mean_shift, dg)]))
        n_prot.append((f"classifier {j + 1}", str(counts.count("protocol", "emotion").n)))
        n_all.append((f"classifier {j + 1}", str(counts.count("every strength", "emotion").n)))
        note = (f"({j + 1}) {latex_escape(c.display_name)}: $p_{{\\mathrm{{target}}}}$ = "
                f"{latex_escape(c.score_kind)}, in $[{c.score_min:g}, {c.score_max:g}]$")
        hits = no_hits.of(c.name)
        no_hit, with_count = hits.no_hit, hits.with_count
        if c.no_hit is not None and with_count:
            note += (f"; generations without a lexicon hit (scored {latex_escape(c.no_hit)}): "
                     f"{no_hit} of {with_count}")
        notes.append(note)
    header = [table_row(["Comparison", "$k/n$", "Proportion", f"{fmt_percent(spec.ci_level)} CI", "Mean shift"])]
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
        f"strength (model, scenario), $n$ = {summarise(n_prot)}; at every strength (model, scenario, strength), "
        f"$n$ = {summarise(n_all)}; models {models}. Induction has no strength ({DASH}). CI: Clopper--Pearson exact "
        f"{fmt_percent(spec.ci_level)} interval for the proportion $k/n$, treating units as independent (they are "
        "not across strengths: the same scenario and random directions recur); no multiple-comparison "
        "correction (descriptive counts; the classifiers read the same generations, so their blocks are "
        "not independent)."
        + settings_caption(ordered)
    )
    tab = tabular("lcrcr", header, body)
    return wrap_table(caption, table_label("agreement"), [(tab, 5)])


@register_table("steering_agreement.tex", "steering")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.steering is not None  # registered for the steering experiment only
    return steering_agreement_table(inputs.steering.spec, inputs.steering.data, inputs.analysis("agreement_counts"),
                                    inputs.analysis("no_hit_count"))
