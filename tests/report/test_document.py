"""The paper PDF build (emovec.report.document): the generated LaTeX body, and, where TeX is
installed, a real pdflatex build of paper/main.tex on small fake tables and figures.

Independent of the pipeline outputs: every test writes its own tables and figures under tmp_path.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from emovec.errors import EmovecInputError
from emovec.report import document
from emovec.report.document import PaperBuildError, build_pdf, generated_tex, page_count

REPO = Path(__file__).resolve().parents[2]
MAIN_TEX = REPO / "paper" / "main.tex"


def _table(label: str, caption: str, *, resize: bool = False, ncols: int = 3, width: str = "1.0") -> str:
    """A complete minimal booktabs table environment, as the pipeline writes them."""
    head = " & ".join(f"Col {i} {width}" for i in range(ncols))
    row = " & ".join(f"{0.1 * i:.3f}" for i in range(ncols))
    tabular = (f"\\begin{{tabular}}{{{'l' * ncols}}}\n\\toprule\n{head} \\\\\n\\midrule\n{row} \\\\\n"
               f"\\bottomrule\n\\end{{tabular}}%\n")
    body = f"\\resizebox{{\\linewidth}}{{!}}{{%\n{tabular}}}\n" if resize else tabular
    return (f"% fake table\n\\begin{{table}}[htbp]\n\\centering\n\\caption{{{caption}}}\n"
            f"\\label{{tab:{label}}}\n{body}\\end{{table}}\n")


def _png(path: Path) -> Path:
    """A real tiny PNG, drawn with matplotlib's Agg canvas (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.0, 1.5))
    FigureCanvasAgg(fig)
    fig.add_subplot().plot([0, 1, 2], [0, 1, 0])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=30)
    return path


def _sections(tex: str) -> dict[str, str]:
    """{section title: its body} of a generated body."""
    parts = re.split(r"\\section\{([^}]*)\}", tex)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


@pytest.fixture
def paper(tmp_path: Path) -> Path:
    """tmp_path/paper with two tables (one known, one unknown name), two figures (likewise)
    and a claims table."""
    p = tmp_path / "paper"
    (p / "tables").mkdir(parents=True)
    (p / "tables" / "separation_by_model.tex").write_text(_table("sep", "Fake separation"))
    (p / "tables" / "mystery_table.tex").write_text(_table("mystery", "Fake mystery"))
    _png(p / "figures" / "cosine_heatmap_my_model__my_corpus.png")
    _png(p / "figures" / "weird_plot.png")
    (p / "claims").mkdir()
    (p / "claims" / "claims.tex").write_text(_table("claims", "Fake claims"))
    return p


def test_every_table_and_figure_once_in_its_section(paper: Path) -> None:
    tex = generated_tex(paper / "tables", paper / "figures", paper / "claims", paper)
    for ref in ("tables/separation_by_model.tex", "tables/mystery_table.tex", "claims/claims.tex",
                "figures/cosine_heatmap_my_model__my_corpus.png", "figures/weird_plot.png"):
        assert tex.count(ref) == 1, ref
    assert tex.count("\\begin{figure}") == 2 and tex.count("\\end{figure}") == 2
    assert tex.count("\\input{") == 3
    secs = _sections(tex)
    assert list(secs) == ["Separation", "Valence and arousal", "Steering", "Claims",
                          "Other tables and figures"]
    assert "tables/separation_by_model.tex" in secs["Separation"]
    assert "figures/cosine_heatmap_my_model__my_corpus.png" in secs["Separation"]
    assert "claims/claims.tex" in secs["Claims"]
    assert "tables/mystery_table.tex" in secs["Other tables and figures"]
    assert "figures/weird_plot.png" in secs["Other tables and figures"]
    assert "\\clearpage" in tex
    assert "\\includegraphics[width=\\linewidth,height=0.4\\textheight,keepaspectratio]" in tex


def test_captions_escape_underscores(paper: Path) -> None:
    tex = generated_tex(paper / "tables", paper / "figures", paper / "claims", paper)
    captions = re.findall(r"\\caption\{(.*)\}", tex)
    assert len(captions) == 2
    heatmap = next(c for c in captions if "Cosine between every pair" in c)
    assert "my\\_model" in heatmap and "my\\_corpus" in heatmap
    unknown = next(c for c in captions if "weird" in c)
    assert "weird\\_plot.png" in unknown
    for c in captions:  # no bare underscore outside math
        assert not re.search(r"(?<!\\)_", re.sub(r"\$[^$]*\$", "", c)), c


def test_sections_come_from_the_registrations() -> None:
    from emovec.report.registry import FIGURES, TABLES

    # every registered table file goes to its experiment's section; an unregistered name to "other"
    assert {name: document.table_section(name) for name in TABLES.names()} == {e.name: e.experiment for e in TABLES}
    assert {document.table_section(n) for n in ("something_new.tex", "claims.tex")} == {"other"}
    assert {"separation_by_model.tex", "layer_sweep.tex", "anisotropy.tex", "rlhf_separation.tex",
            "gen_vs_comp.tex"} <= set(TABLES.names("separation"))
    figs = {
        "u_curve": "separation", "cosine_heatmap_m__c": "separation", "pc_scatter_m__c": "valence",
        "valence_layers_m": "valence", "cka_m": "valence", "dose_response_m": "steering",
        "findings_forest": "findings", "rsa_heatmap": "findings", "ckafoo": "other", "new_plot": "other",
    }
    assert {stem: document.figure_section(stem) for stem in figs} == figs
    assert {e.prefix for e in FIGURES} == {s for s in figs if figs[s] != "other" and "_m" not in s} | {
        "cosine_heatmap", "pc_scatter", "valence_layers", "cka", "dose_response"}


def test_claims_optional_and_no_other_section(tmp_path: Path) -> None:
    p = tmp_path / "paper"
    (p / "tables").mkdir(parents=True)
    (p / "tables" / "valence_arousal.tex").write_text(_table("va", "Fake valence"))
    _png(p / "figures" / "u_curve.png")
    tex = generated_tex(p / "tables", p / "figures", None, p)
    secs = _sections(tex)
    assert "Other tables and figures" not in secs
    assert "tables/valence_arousal.tex" in secs["Valence and arousal"]
    assert "figures/u_curve.png" in secs["Separation"]
    assert "No claims table" in secs["Claims"]
    # a claims dir that does not exist is the same as none
    assert generated_tex(p / "tables", p / "figures", p / "claims", p) == tex


def test_empty_tables_dir_is_an_error_naming_it(tmp_path: Path) -> None:
    empty = tmp_path / "paper" / "tables"
    empty.mkdir(parents=True)
    with pytest.raises(EmovecInputError, match=re.escape(str(empty))) as exc:
        generated_tex(empty, tmp_path / "paper" / "figures", None, tmp_path / "paper")
    assert "make replicate" in str(exc.value)
    with pytest.raises(EmovecInputError, match="make replicate"):
        generated_tex(tmp_path / "absent", tmp_path / "figures", None, tmp_path)


def test_cli_error_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "paper"
    (p / "tables").mkdir(parents=True)
    shutil.copyfile(MAIN_TEX, p / "main.tex")
    assert document.main(["--paper-dir", str(p)]) == 2
    err = capsys.readouterr().err
    assert str(p / "tables") in err and "make replicate" in err and "Traceback" not in err


def test_missing_tex_is_a_clear_error(paper: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copyfile(MAIN_TEX, paper / "main.tex")
    real_which = shutil.which
    monkeypatch.setattr(document.shutil, "which", lambda name: None if name == "pdflatex" else real_which(name))
    with pytest.raises(PaperBuildError, match="texlive-latex-base texlive-latex-recommended") as exc:
        build_pdf(paper)
    assert "make paper" in str(exc.value)
    assert (paper / "build" / "generated.tex").is_file()


def test_page_count_fallback_without_pdfinfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    pdf = tmp_path / "three.pdf"
    with PdfPages(pdf) as pages:
        for _ in range(3):
            fig = Figure(figsize=(2, 2))
            fig.add_subplot().plot([0, 1])
            pages.savefig(fig)
    if shutil.which("pdfinfo"):
        assert page_count(pdf) == 3
    monkeypatch.setattr(document.shutil, "which", lambda name: None)
    assert page_count(pdf) == 3


# --- real builds (need pdflatex) ------------------------------------------------------------

needs_tex = pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex not installed: apt-get install texlive-latex-base texlive-latex-recommended")


def _fake_paper(tmp_path: Path) -> Path:
    p = tmp_path / "paper"
    p.mkdir()
    shutil.copyfile(MAIN_TEX, p / "main.tex")
    (p / "tables").mkdir()
    (p / "tables" / "separation_by_model.tex").write_text(
        _table("sep", "Quokkafrobnication separation check (\\S 5.5, $^{\\dagger}$)", resize=True, ncols=6))
    # far wider than the page and not wrapped in \resizebox: main.tex must fit it to the line
    (p / "tables" / "steering_deltas.tex").write_text(
        _table("wide", "Wide steering table", ncols=14, width="wide-header-text"))
    (p / "tables" / "odd_name.tex").write_text(_table("odd", "Odd table"))
    _png(p / "figures" / "dose_response_toy_model.png")
    _png(p / "figures" / "u_curve.png")
    # a claims table longer than a page, once as a float and once as a longtable
    (p / "claims").mkdir()
    rows = "".join(f"claim {i} & {i / 7:.3f} & ok \\\\\n" for i in range(90))
    (p / "claims" / "claims.tex").write_text(
        "\\begin{table}[htbp]\n\\centering\n\\caption{Long claims}\n\\label{tab:claims}\n"
        f"\\begin{{tabular}}{{lrl}}\n\\toprule\nClaim & Value & Status \\\\\n\\midrule\n{rows}"
        "\\bottomrule\n\\end{tabular}\n\\end{table}\n")
    (p / "claims" / "claims_longtable.tex").write_text(
        "\\begin{longtable}{lrl}\n\\caption{Claims as a longtable}\\label{tab:claims-long}\\\\\n"
        "\\toprule\nClaim & Value & Status \\\\\n\\midrule\n\\endhead\n"
        f"{rows}\\bottomrule\n\\end{{longtable}}\n")
    return p


def test_build_pdf(tmp_path: Path) -> None:
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed: apt-get install texlive-latex-base texlive-latex-recommended")
    p = _fake_paper(tmp_path)
    pdf = build_pdf(p)
    assert pdf == p / "build" / "main.pdf" and pdf.stat().st_size > 0
    n = page_count(pdf)
    assert n >= 1
    log = (p / "build" / "main.log").read_text(errors="replace")
    assert "Overfull \\hbox" not in log, "a table or figure runs into the margin"
    assert "Float too large" not in log, "a table runs off the page"
    assert n >= 3  # the longtable alone takes two pages
    assert "There were undefined references" not in log

    if shutil.which("pdffonts"):  # bitmap (Type 3) fonts mean METAFONT ran at build time
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert "Type 3" not in fonts, fonts

    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "Quokkafrobnication" in text  # the table's caption made it into the PDF
        assert "replication report" in text
        assert re.search(r"Model\s+toy.?model", text)  # figure caption with the parsed model name

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed: page rendering not checked")
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, capture_output=True)
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) == 1 and pngs[0].stat().st_size > 0
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_tex
def test_page_count_fallback_on_pdflatex_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = build_pdf(_fake_paper(tmp_path))
    expected = page_count(pdf)
    monkeypatch.setattr(document.shutil, "which", lambda name: None)
    assert page_count(pdf) == expected  # pdfTeX hides page objects in compressed object streams


@needs_tex
def test_latex_error_shows_the_log(tmp_path: Path) -> None:
    p = _fake_paper(tmp_path)
    (p / "tables" / "broken.tex").write_text("\\begin{table}\\caption{x}\\undefinedmacro\\end{table}\n")
    with pytest.raises(PaperBuildError) as exc:
        build_pdf(p)
    msg = str(exc.value)
    assert "main.log" in msg and "Undefined control sequence" in msg and "broken.tex" in msg
    assert re.search(r"^!", msg, re.M)
    assert not (p / "build" / "main.pdf").exists()
