"""PC1-valence peak per model (rows) and story corpus (column groups)."""

from __future__ import annotations

from collections.abc import Mapping

from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_valence import ValenceSpec
from emovec.readers.valence import ValenceCellData
from emovec.report.latex import DASH, fmt_p_or_dash, fmt_ratio, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.valence_text import methods_caption, ordered_cells, r_with_ci, settings_caption

__all__ = ["build", "valence_by_corpus_table"]


def valence_by_corpus_table(spec: ValenceSpec, cells: Mapping[str, ValenceCellData]) -> str:
    """PC1-valence peak per model (rows) and corpus (column groups); ``---`` where not run.

    Per corpus: r [CI], peak layer l/L, p_max and lambda1/lambda2 at the peak.
    """
    d = spec.digits
    ordered = ordered_cells(cells)
    corpora: dict[str, ValenceCellData] = {}
    for cd in sorted(ordered, key=lambda c: c.spec.corpus):
        corpora.setdefault(cd.spec.corpus, cd)
    generators: dict[str, list[str]] = {}
    for cd in ordered:
        generators.setdefault(cd.spec.corpus, [])
        if cd.spec.generator not in generators[cd.spec.corpus]:
            generators[cd.spec.corpus].append(cd.spec.generator)
    models: dict[str, dict[str, ValenceCellData]] = {}
    for cd in ordered:
        models.setdefault(cd.spec.model, {})[cd.spec.corpus] = cd
    per = 4
    body = []
    for model, by_corpus in models.items():
        first = next(iter(by_corpus.values())).spec
        row = [latex_escape(model), first.variant]
        for corpus in corpora:
            cd = by_corpus.get(corpus)
            if cd is None:
                row += [DASH] * per
                continue
            pk = cd.peak("valence")
            layer = f"{int(pk['layer'])}/{cd.spec.n_layers}"
            if int(pk["pc"]) != 1:
                layer += f" (PC{int(pk['pc'])})"
            row += [r_with_ci(pk, d), layer, fmt_p_or_dash(pk["p_max"], d), fmt_ratio(pk["lambda_ratio"], d)]
        body.append(table_row(row))
    heads, rules = [], []
    for j, corpus in enumerate(corpora):
        gen = ", ".join(latex_escape(g) for g in generators[corpus])
        heads.append(f"\\multicolumn{{{per}}}{{c}}{{{latex_escape(corpus)} ({gen})}}")
        start = 3 + per * j
        rules.append(f"\\cmidrule(lr){{{start}-{start + per - 1}}}")
    header = [
        table_row(["", "", *heads]),
        "".join(rules),
        table_row(["Model", "Variant"] + ["$r$ [CI]", "Layer", "$p_{\\max}$", "$\\lambda_1/\\lambda_2$"] * len(corpora)),
    ]
    caption = (
        "PC1--valence by story corpus: Pearson $r$ between the emotions' PC1 scores and their valence "
        "ratings at the peak layer, per model (rows) and corpus (column groups; who wrote the corpus in "
        "parentheses). Layer: 0-based block $l$ / $L$ blocks. "
        + methods_caption(ordered) + settings_caption(ordered)
        + f" {DASH}: model not run on this corpus. Full per-cell statistics, with arousal and "
        "$p_{\\mathrm{FDR}}$, are in Table~\\ref{tab:valence-arousal}."
    )
    n_cols = 2 + per * len(corpora)
    tab = tabular("ll" + "crrr" * len(corpora), header, body)
    return wrap_table(caption, "tab:valence-by-corpus", [(tab, n_cols)])


@register_table("valence_by_corpus.tex", "valence")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.valence is not None  # registered for the valence experiment only
    return valence_by_corpus_table(inputs.valence.spec, inputs.valence.cells)
