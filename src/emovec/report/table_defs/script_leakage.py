"""Script leakage: foreign-script characters in the generated text and the tokens that carry them
(the analyses stage's ``build/analyses/script_leakage.json``)."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.analysis.steering import TOP_TOKENS, ordered_models
from emovec.analysis.steering_records import LeakageTable
from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_steering import SteeringSpec
from emovec.readers.steering import SteeringData
from emovec.report.latex import DASH, fmt_num, latex_escape, latex_token, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.steering_text import settings_caption, table_label

__all__ = ["build", "script_leakage_table"]


def _tokens_text(top: tuple[tuple[str, int], ...]) -> str:
    """``token (count), ...`` with each token pdflatex-safe; ``---`` when nothing leaked."""
    if not top:
        return DASH
    return ", ".join(f"{latex_token(t)} ({c})" for t, c in top)


def script_leakage_table(spec: SteeringSpec, data: Mapping[str, SteeringData], leakage: LeakageTable) -> str:
    """Per model x condition (emotion and random at high_strength, unsteered, induction): n
    generations, mean leak_share and cjk_share, k generations with a foreign character, and the
    most frequent leaked tokens (non-ASCII shown as code points); ``leakage``: the
    ``script_leakage`` analysis."""
    assert spec.regimes is not None
    dg = spec.digits
    high = spec.regimes.high_strength
    ordered = ordered_models(data)
    labels = {"emotion": f"emotion vector @ {high:g}", "random": f"random direction @ {high:g}",
              "unsteered": "unsteered", "induction": "prompt induction"}
    body = []
    for j, d in enumerate(ordered):
        if j:
            body.append("\\midrule")
        for r in leakage.of(d.spec.model).rows:
            n = r.n
            body.append(table_row([
                latex_escape(d.spec.model), labels[r.condition], str(n), fmt_num(r.leak_share, dg),
                fmt_num(r.cjk_share, dg), f"{r.k_foreign}/{n}" if n else DASH,
                _tokens_text(r.top_tokens) if n else DASH,
            ]))
    header = [table_row(["Model", "Condition", "$n$", "Leak share", "CJK share", "$k$ foreign",
                    f"Top {TOP_TOKENS} leaked tokens (count)"])]
    caption = (
        "Script leakage: characters outside the prompt's script in the generated text. Unit of analysis: "
        "generations; $n$ = generations per model and condition (emotion vector and random directions at "
        f"magnitude {high:g}, all scenarios, samples and directions). Leak share: foreign-script characters "
        "as a share of the generation's script characters; CJK share: likewise for CJK characters; both as "
        "recorded per generation by the steering stage, mean over the generations that have script "
        "characters. $k$ foreign: generations with at least one foreign-script character. Leaked tokens: "
        "the tokens carrying them, most frequent first (ties in code-point order), counted over all "
        "generations of the row. Characters outside printable ASCII are written as their Unicode code "
        "point (U+XXXX, separated by spaces) because pdflatex's default fonts cannot typeset CJK and "
        "other scripts. No confidence interval (descriptive counts of one run) and no multiple-comparison "
        f"correction. {DASH}: none or not defined."
        + settings_caption(ordered)
    )
    tab = tabular("llrrrrp{0.34\\linewidth}", header, body)
    return wrap_table(caption, table_label("script-leakage"), [(tab, 7)])


@register_table("script_leakage.tex", "steering")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.steering is not None  # registered for the steering experiment only
    return script_leakage_table(inputs.steering.spec, inputs.steering.data, inputs.analysis("script_leakage"))
