"""The paper stage's work: load every input, render every table and figure in memory, then write.

Every input is read and validated, and every table and figure rendered, before the first file
is written: a bad input (missing file for a listed cell, missing column, stale output) leaves
the previous tables and figures untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emovec.io import atomic_path, write_json_atomic, write_text_atomic
from emovec.readers.paper_inputs import PaperInputs, load_paper_inputs
from emovec.report.provenance import add_provenance, git_revision, provenance_line, provenance_record
from emovec.report.render import FigureJob, render_figures
from emovec.report.separation_figures import figure_jobs
from emovec.report.steering_figures import steering_figure_jobs
from emovec.report.tables import build_tables
from emovec.report.valence_figures import valence_figure_jobs

__all__ = ["PaperOutputs", "all_figure_jobs", "render_paper", "write_paper"]


@dataclass(frozen=True)
class PaperOutputs:
    """What the paper stage writes: {file name: LaTeX text} (each with the provenance line),
    {file name: PNG bytes} and the provenance record (``provenance.json`` beside the tables)."""

    tables: dict[str, str]
    figures: dict[str, bytes]
    provenance: dict[str, Any]


def all_figure_jobs(inputs: PaperInputs) -> dict[str, FigureJob]:
    """Every figure's job, {file name: job}: separation, then valence, then steering figures."""
    jobs: dict[str, FigureJob] = {}
    if inputs.separation is not None:
        jobs |= figure_jobs(inputs.separation.spec, inputs.separation.cells)
    if inputs.valence is not None:
        jobs |= valence_figure_jobs(inputs.valence.spec, inputs.valence.cells, inputs.valence.cka)
    if inputs.steering is not None:
        jobs |= steering_figure_jobs(inputs.steering.spec, inputs.analysis("dose_response"))
    return jobs


def render_paper(inputs: PaperInputs, processes: int | None = None) -> PaperOutputs:
    """Every table (with the provenance line: git revision, config hash, models, axes) and figure.

    ``processes``: figure-rendering workers (None: every available CPU; the bytes are the same
    for any number).
    """
    record = provenance_record(inputs.provenance, git_revision())
    line = provenance_line(record)
    tables = {name: add_provenance(text, line, name) for name, text in build_tables(inputs).items()}
    return PaperOutputs(tables=tables, figures=render_figures(all_figure_jobs(inputs), processes), provenance=record)


def write_paper(config: str | Path, separation_dir: str | Path, vectors_dir: str | Path, valence_dir: str | Path,
                cka_dir: str | Path, steering_dir: str | Path, classify_dir: str | Path, tables_dir: str | Path,
                figures_dir: str | Path, processes: int | None = None,
                analyses_dir: str | Path = "build/analyses") -> str:
    """Load, render and write the paper's tables (and ``provenance.json``) and figures. The
    statistics come from the analyses stage's output in ``analyses_dir`` (read after the inputs
    are checked).

    Returns:
        A one-line summary for the stage to print.
    """
    from emovec.analysis.catalogue import read_analyses

    inputs = load_paper_inputs(config, separation_dir, vectors_dir, valence_dir, cka_dir, steering_dir, classify_dir)
    inputs = read_analyses(analyses_dir, inputs)
    out = render_paper(inputs, processes)
    tables_dir, figures_dir = Path(tables_dir), Path(figures_dir)
    write_json_atomic(tables_dir / "provenance.json", out.provenance)
    for name, text in out.tables.items():
        write_text_atomic(tables_dir / name, text)
    for name, data in out.figures.items():
        with atomic_path(figures_dir / name) as tmp:
            tmp.write_bytes(data)
    return (f"paper: {len(out.tables)} tables -> {tables_dir}, {len(out.figures)} figures -> {figures_dir} "
            f"({len(inputs.separation.cells) if inputs.separation else 0} cells)")
