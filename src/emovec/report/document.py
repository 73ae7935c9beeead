"""The paper PDF: ``paper/main.tex`` plus a generated body listing every table and figure.

``paper/main.tex`` never names a table or figure: which ones exist depends on the run selection.
This module writes ``paper/build/generated.tex`` (one ``\\section`` per experiment, each table
``\\input`` and each figure in a ``figure`` environment with a caption) from whatever
``paper/tables/*.tex``, ``paper/figures/*.png`` and ``paper/claims/*.tex`` hold, then runs
pdflatex twice. Each table and figure goes to the section its registration names
(:mod:`emovec.report.registry`); a name no registration knows goes to a final "Other" section, so
nothing the pipeline wrote is ever dropped.

CLI: ``python -m emovec.report.document [--paper-dir paper] [--out PDF]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

# Importing the modules that build tables and draw figures fills the registries the layout reads.
import emovec.report.findings_render  # noqa: F401
import emovec.report.separation_figures  # noqa: F401
import emovec.report.steering_figures  # noqa: F401
import emovec.report.tables  # noqa: F401
import emovec.report.valence_figures  # noqa: F401
from emovec.errors import EmovecInputError, stage_entry
from emovec.io import write_text_atomic
from emovec.report.latex import latex_escape
from emovec.report.registry import FIGURES, SECTIONS, TABLES

__all__ = [
    "PaperBuildError",
    "Layout",
    "build_pdf",
    "collect",
    "figure_caption",
    "generated_tex",
    "latex_escape",
    "main",
    "page_count",
]

GENERATED = "build/generated.tex"  # relative to the paper directory; main.tex \input's it
TEX_PACKAGES = "texlive-latex-base texlive-latex-recommended"
LOG_LINES = 40
PDFLATEX_TIMEOUT_S = 600

_EMPTY_NOTE = {
    "separation": "No separation outputs in this run's selection.",
    "valence": "No valence/arousal outputs in this run's selection.",
    "steering": "No steering outputs in this run's selection.",
    "claims": "No claims table in this build (expected \\texttt{claims/claims.tex}).",
}


class PaperBuildError(EmovecInputError):
    """The PDF could not be built: TeX missing or a LaTeX error (the message says which)."""


@dataclass
class Layout:
    """Which table (.tex) and figure (.png) files go into which section, each list sorted."""

    tables: dict[str, list[Path]] = field(default_factory=lambda: {k: [] for k in SECTIONS})
    figures: dict[str, list[Path]] = field(default_factory=lambda: {k: [] for k in SECTIONS})

    @property
    def n_tables(self) -> int:
        return sum(len(v) for v in self.tables.values())

    @property
    def n_figures(self) -> int:
        return sum(len(v) for v in self.figures.values())


def table_section(file_name: str) -> str:
    """The section of a table file: its registered experiment, else "other"."""
    return TABLES.section_of(file_name) or "other"


def figure_section(stem: str) -> str:
    """The section of the figure file ``<stem>.png``: its registered family's, else "other"."""
    entry = FIGURES.find(stem)
    return entry.section if entry else "other"


def figure_caption(stem: str) -> str:
    """Caption (LaTeX source) of the figure file ``<stem>.png``: the known sentence for its
    prefix plus the model (and corpus/cell) parsed from the name; unknown names say the file."""
    entry = FIGURES.find(stem)
    if entry is None:
        return f"Figure file \\texttt{{{latex_escape(stem + '.png')}}} (no caption known for this name)."
    text = entry.caption
    rest = stem[len(entry.prefix):].lstrip("_")
    if rest:
        model, sep, corpus = rest.partition("__")
        who = f"Model \\texttt{{{latex_escape(model)}}}"
        if sep:
            who += f", corpus \\texttt{{{latex_escape(corpus)}}}"
        text += f" {who}."
    return text


def collect(tables_dir: Path, figures_dir: Path, claims_dir: Path | None, findings_dir: Path | None = None) -> Layout:
    """Assign every ``tables_dir/*.tex``, ``figures_dir/*.png``, ``claims_dir/*.tex`` and
    ``findings_dir/*.tex|png`` (the findings stage's output) to a section. Raises
    EmovecInputError when ``tables_dir`` holds no .tex file."""
    tables_dir, figures_dir = Path(tables_dir), Path(figures_dir)
    tables = sorted(tables_dir.glob("*.tex")) if tables_dir.is_dir() else []
    if not tables:
        raise EmovecInputError(
            f"no LaTeX tables (*.tex) in {tables_dir}: run `make replicate` first to generate them")
    layout = Layout()
    for path in tables:
        layout.tables[table_section(path.name)].append(path)
    if claims_dir is not None and Path(claims_dir).is_dir():
        layout.tables["claims"].extend(sorted(Path(claims_dir).glob("*.tex")))
    if findings_dir is not None and Path(findings_dir).is_dir():
        layout.tables["findings"].extend(sorted(Path(findings_dir).glob("*.tex")))
        layout.figures["findings"].extend(sorted(Path(findings_dir).glob("*.png")))
    if figures_dir.is_dir():
        for path in sorted(figures_dir.glob("*.png")):
            layout.figures[figure_section(path.stem)].append(path)
    for sec in SECTIONS:
        layout.tables[sec].sort(key=lambda p: (p.name, str(p)))
        layout.figures[sec].sort(key=lambda p: (p.name, str(p)))
    return layout


def _rel(path: Path, rel_to: Path) -> str:
    path, rel_to = Path(path).resolve(), Path(rel_to).resolve()
    try:
        rel = path.relative_to(rel_to).as_posix()
    except ValueError:
        try:
            rel = Path(os.path.relpath(path, rel_to)).as_posix()
        except ValueError:  # another drive on Windows
            rel = path.as_posix()
    if any(ch in rel for ch in "%#{}\\~^$&"):
        raise EmovecInputError(f"{path}: LaTeX cannot \\input or include a path containing any of %#{{}}\\~^$&")
    return rel


def _label(stem: str) -> str:
    return "fig:" + re.sub(r"[^A-Za-z0-9_.:-]", "-", stem)


def render(layout: Layout, rel_to: Path) -> str:
    """The LaTeX body for ``layout`` (see generated_tex)."""
    out = ["% Generated by emovec.report.document from paper/tables, paper/figures and paper/claims;",
           "% do not edit by hand (rewritten on every build).", ""]
    first = True
    for sec, title in SECTIONS.items():
        tables, figures = layout.tables[sec], layout.figures[sec]
        if sec in ("findings", "other") and not tables and not figures:
            continue
        if not first:
            out.append("\\clearpage")
        first = False
        out.append(f"\\section{{{title}}}")
        if not tables and not figures:
            out += [_EMPTY_NOTE[sec], ""]
            continue
        for path in tables:
            out.append(f"\\input{{{_rel(path, rel_to)}}}")
        for path in figures:
            out += [
                "\\begin{figure}[H]",
                "\\centering",
                f"\\includegraphics[width=\\linewidth,height=0.4\\textheight,keepaspectratio]"
                f"{{{_rel(path, rel_to)}}}",
                f"\\caption{{{figure_caption(path.stem)}}}",
                f"\\label{{{_label(path.stem)}}}",
                "\\end{figure}",
            ]
        out.append("")
    return "\n".join(out) + "\n"


def generated_tex(tables_dir: Path, figures_dir: Path, claims_dir: Path | None, rel_to: Path,
                  findings_dir: Path | None = None) -> str:
    """The LaTeX body of the paper: per section ``\\section{...}``, an ``\\input`` of each table
    (sorted by name) and a ``figure`` environment per figure, paths relative to ``rel_to``
    (the paper directory). Unknown names go to a final "Other" section.

    Raises EmovecInputError when ``tables_dir`` holds no .tex file.
    """
    return render(collect(tables_dir, figures_dir, claims_dir, findings_dir), rel_to)


def _log_excerpt(log: Path, stdout: str) -> str:
    if log.is_file():
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        source = str(log)
    else:
        lines, source = stdout.splitlines(), "pdflatex output (no log file)"
    bang = next((i for i, line in enumerate(lines) if line.startswith("!")), None)
    if bang is None:
        return f"--- {source} (last {LOG_LINES} lines) ---\n" + "\n".join(lines[-LOG_LINES:])
    excerpt = "\n".join(lines[bang:bang + LOG_LINES])
    opened = re.findall(r"\(([^\s()]+\.tex)", "\n".join(lines[:bang]))
    where = f" (last file opened before the error: {opened[-1]})" if opened else ""
    return f"--- {source}{where} ---\n{excerpt}"


def _pdflatex(paper_dir: Path) -> None:
    cmd = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-output-directory", "build",
           "main.tex"]
    for _ in range(2):  # twice, so cross-references and labels resolve
        try:
            proc = subprocess.run(cmd, cwd=paper_dir, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, errors="replace", timeout=PDFLATEX_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise PaperBuildError(f"pdflatex did not finish within {PDFLATEX_TIMEOUT_S} s in {paper_dir}") from exc
        if proc.returncode != 0:
            raise PaperBuildError(
                f"pdflatex failed on {paper_dir / 'main.tex'} (exit {proc.returncode}):\n"
                + _log_excerpt(paper_dir / "build" / "main.log", proc.stdout))


def build_pdf(paper_dir: Path, out_pdf: Path | None = None) -> Path:
    """Write ``paper_dir/build/generated.tex`` and run pdflatex twice; return the PDF path.

    The PDF is ``paper_dir/build/main.pdf``, copied to ``out_pdf`` (and that path returned) when
    given. Raises EmovecInputError when there are no tables, PaperBuildError when TeX is missing
    or LaTeX fails (with the relevant part of the log).
    """
    paper_dir = Path(paper_dir)
    if not (paper_dir / "main.tex").is_file():
        raise EmovecInputError(f"{paper_dir / 'main.tex'} not found: --paper-dir must be the paper/ directory")
    claims = paper_dir / "claims"
    findings = paper_dir / "findings"
    body = generated_tex(paper_dir / "tables", paper_dir / "figures",
                         claims if claims.is_dir() else None, paper_dir, findings if findings.is_dir() else None)
    write_text_atomic(paper_dir / GENERATED, body)
    if shutil.which("pdflatex") is None:
        raise PaperBuildError(
            "TeX is missing (no pdflatex on PATH): install the Debian packages "
            f"{TEX_PACKAGES} (e.g. `sudo apt-get install {TEX_PACKAGES}`) "
            "or run `make paper`, which installs them when it can")
    pdf = paper_dir / "build" / "main.pdf"
    pdf.unlink(missing_ok=True)  # never hand back a stale PDF from an earlier build
    _pdflatex(paper_dir)
    if not pdf.is_file():
        raise PaperBuildError(f"pdflatex finished but wrote no {pdf}:\n"
                              + _log_excerpt(paper_dir / "build" / "main.log", ""))
    if out_pdf is not None:
        out_pdf = Path(out_pdf)
        out_pdf.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pdf, out_pdf)
        return out_pdf
    return pdf


_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\n?endstream", re.S)


def page_count(pdf: Path) -> int:
    """Number of pages of ``pdf``: from ``pdfinfo`` when installed, else by counting
    ``/Type /Page`` objects (not ``/Pages``), inside compressed object streams too."""
    pdf = Path(pdf)
    if not pdf.is_file():
        raise EmovecInputError(f"{pdf}: no such PDF")
    if shutil.which("pdfinfo"):
        proc = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, errors="replace",
                              stdin=subprocess.DEVNULL)
        m = re.search(r"^Pages:\s+(\d+)", proc.stdout, re.M)
        if proc.returncode == 0 and m:
            return int(m.group(1))
    data = pdf.read_bytes()
    n = len(_PAGE.findall(data))
    for m in _STREAM.finditer(data):  # pdfTeX puts page objects in compressed object streams
        try:
            n += len(_PAGE.findall(zlib.decompress(m.group(1))))
        except zlib.error:
            continue
    return n


@stage_entry
def main(argv: list[str] | None = None) -> None:
    """CLI entry: ``python -m emovec.report.document [--paper-dir paper] [--out PDF]``."""
    ap = argparse.ArgumentParser(description="Build the paper PDF from paper/main.tex and the generated "
                                             "tables and figures.")
    ap.add_argument("--paper-dir", default="paper", help="the paper directory holding main.tex (default: paper)")
    ap.add_argument("--out", default=None, help="also copy the PDF here")
    args = ap.parse_args(argv)
    paper_dir = Path(args.paper_dir)
    pdf = build_pdf(paper_dir, Path(args.out) if args.out else None)
    claims = paper_dir / "claims"
    findings = paper_dir / "findings"
    layout = collect(paper_dir / "tables", paper_dir / "figures", claims if claims.is_dir() else None,
                     findings if findings.is_dir() else None)
    print(f"paper: {pdf} ({page_count(pdf)} pages, {layout.n_tables} tables, {layout.n_figures} figures)")


if __name__ == "__main__":
    raise SystemExit(main())
