"""Coverage of the valence/arousal norms: found / fallback / excluded emotions per norm source
and emotion set, with per-emotion lists for small sets."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from emovec.readers.checked import is_missing
from emovec.readers.paper_inputs import PaperInputs
from emovec.readers.paper_valence import ValenceSpec
from emovec.readers.valence import NORM_STATUSES, ValenceCellData
from emovec.report.latex import DASH, fmt_num, fmt_setting, latex_escape, table_row, tabular, wrap_table
from emovec.report.registry import register_table
from emovec.report.table_defs.valence_text import cell_label, ordered_cells, per_cell

__all__ = ["build", "norm_coverage_table"]

_ESTIMATE_PREFIX = "estimate_from"
_MAX_PER_EMOTION_ROWS = 30  # per-emotion sub-table only up to this many emotions


def _norms_signature(df: pd.DataFrame) -> tuple:
    cols = ["emotion", "valence", "arousal", "norm", "status", "note"]
    return tuple(tuple(("nan" if is_missing(v) else v) for v in row)
                 for row in df[cols].itertuples(index=False, name=None))


def _estimated(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["note"].str.startswith(_ESTIMATE_PREFIX)]


def norm_coverage_table(spec: ValenceSpec, cells: Mapping[str, ValenceCellData]) -> str:
    """Norm coverage per distinct (norms, emotion set): found / fallback / excluded counts and names.

    Cells sharing norms and emotion set but holding different ``norms.csv`` contents (e.g.
    another fallback) get separate rows, each naming its cells. With at most 30 emotions a
    per-emotion sub-table (emotion, valence, arousal, norm, status) follows each row's group.
    """
    d = spec.digits
    ordered = ordered_cells(cells)
    groups: dict[tuple[str, str, tuple], list[ValenceCellData]] = {}
    for cd in sorted(ordered, key=lambda c: (c.spec.norms, c.spec.emotion_set)):
        key = (cd.spec.norms, cd.spec.emotion_set, _norms_signature(cd.norms))
        groups.setdefault(key, []).append(cd)
    body, used_by = [], []
    tabulars: list[tuple[str, int]] = []
    sub_tables: list[tuple[str, int]] = []
    for g, ((norms, emotion_set, _), members) in enumerate(groups.items(), start=1):
        df = members[0].norms
        counts = {s: int((df["status"] == s).sum()) for s in NORM_STATUSES}
        fallback = df[df["status"] == "fallback"]
        excluded = df[df["status"] == "excluded"]
        est = _estimated(df)
        details = []
        if len(fallback):
            pairs = zip(fallback["emotion"], fallback["norm"], strict=True)
            details.append("fallback: " + ", ".join(f"{latex_escape(e)} ({latex_escape(n) or DASH})" for e, n in pairs))
        if len(excluded):
            details.append("excluded: " + ", ".join(latex_escape(e) for e in excluded["emotion"]))
        if len(est):
            details.append("estimated: " + ", ".join(
                f"{latex_escape(e)} ({latex_escape(n)})" for e, n in zip(est["emotion"], est["note"], strict=True)))
        body.append(table_row([str(g), latex_escape(norms), latex_escape(emotion_set), str(len(df)),
                          str(counts["found"]), str(counts["fallback"]), str(counts["excluded"]),
                          "; ".join(details) or DASH]))
        used_by.append(f"({g}) " + ", ".join(cell_label(m) for m in members))
        if len(df) <= _MAX_PER_EMOTION_ROWS:
            est_set = set(est["emotion"])
            rows = []
            for r in df.sort_values("emotion", kind="stable").itertuples(index=False):
                mark = "$^{\\dagger}$" if r.emotion in est_set else ""
                rows.append(table_row([latex_escape(r.emotion) + mark, fmt_num(r.valence, d), fmt_num(r.arousal, d),
                                  latex_escape(r.norm) or DASH, r.status]))
            head = [table_row([f"\\multicolumn{{5}}{{l}}{{({g}) {latex_escape(norms)}, {latex_escape(emotion_set)}}}"]),
                    table_row(["Emotion", "Valence", "Arousal", "Norm", "Status"])]
            sub_tables.append((tabular("lrrll", head, rows), 5))
    header = [table_row(["", "Norms", "Emotion set", "$n$", "Found", "Fallback", "Excluded",
                    "Fallback (source) / excluded / estimated emotions"])]
    tabulars.append((tabular("rllrrrrp{0.38\\linewidth}", header, body), 8))
    tabulars += sub_tables
    fallback_rule = per_cell(ordered, lambda cd: (f"fallback {fmt_setting(cd.summary['norms_fallback'])}, "
                                                   f"missing emotions {fmt_setting(cd.summary['on_missing'])}"))
    caption = (
        "Coverage of the valence/arousal norms: for each norm source and emotion set, how many emotions "
        "got their rating from the requested norms (found), from a fallback source (fallback) or had no "
        "rating and were left out of the analysis (excluded); unit: emotions, $n$ = emotions in the set. "
        f"Policy: {fallback_rule}. Estimated: ratings the source marks as estimated rather than rated "
        "(note starting with ``estimate\\_from'')"
        + (", marked $^{\\dagger}$ in the per-emotion lists" if sub_tables else "") + ". "
        f"Cells using each row: {'; '.join(used_by)}. "
        + (f"Per-emotion lists (up to {_MAX_PER_EMOTION_ROWS} emotions): valence and arousal rescaled to "
           "$[-1, 1]$. " if sub_tables else "")
        + "The per-emotion norms.csv of each cell, with raw ratings, scales, lemmas and notes, is the full record."
    )
    return wrap_table(caption, "tab:valence-norm-coverage", tabulars)


@register_table("norm_coverage.tex", "valence")
def build(inputs: PaperInputs) -> str:
    """The table from the paper stage's inputs (registered in ``emovec.report.tables``)."""
    assert inputs.valence is not None  # registered for the valence experiment only
    return norm_coverage_table(inputs.valence.spec, inputs.valence.cells)
