"""Paper tables and figures are built only from the tracked CSV/NPZ outputs (emovec.report, stages.paper)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from emovec.analysis.catalogue import with_analyses
from emovec.emotions import OPPOSITE_PAIRS
from emovec.errors import EmovecInputError
from emovec.readers.paper_config import load_paper_config
from emovec.readers.paper_inputs import PaperInputs, SeparationInputs
from emovec.readers.separation import load_cells, load_resampling
from emovec.report.latex import latex_escape
from emovec.report.tables import TABLES, build_tables
from emovec.stages.paper import main

from helpers.separation_outputs import (
    FAMILY,
    LAYER,
    MODELS,
    N_LAYERS,
    PNG_MAGIC,
    PROVENANCE,
    paper_stage_argv,
    run_analyses_stage,
    separation_cells,
    write_separation_outputs,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """Inputs written once, the stage run twice into separate output trees: figures rendered by
    two worker processes, then in this process alone."""
    root = tmp_path_factory.mktemp("paper")
    inp = run_analyses_stage(write_separation_outputs(root / "in"))
    assert main(paper_stage_argv(inp, root / "out1") + ["--processes", "2"]) == 0
    assert main(paper_stage_argv(inp, root / "out2") + ["--processes", "1"]) == 0
    csv = {c["cell"]: pd.read_csv(inp["separation"] / f"{c['cell']}.csv") for c in separation_cells()}
    return {"inp": inp, "out1": root / "out1", "out2": root / "out2", "csv": csv}


def _table(built: dict, name: str) -> str:
    return (built["out1"] / "tables" / name).read_text(encoding="utf-8")


def _row_of(text: str, start: str) -> list[str]:
    """Cells of the first tabular row starting with ``start``."""
    line = next(ln for ln in text.splitlines() if ln.startswith(start))
    return [c.strip() for c in line.removesuffix("\\\\").split(" & ")]


def _cos(built: dict, cell: str, layer: int = LAYER, col: str = "mean_cosine") -> float:
    return float(built["csv"][cell].loc[built["csv"][cell]["layer"] == layer, col].iloc[0])


def test_every_table_is_a_complete_float(built):
    for name in TABLES.names("separation"):
        text = _table(built, name)
        for token in ("\\begin{table}", "\\caption{", "\\label{tab:separation-", "\\toprule",
                      "\\midrule", "\\bottomrule", "\\end{tabular}", "\\end{table}"):
            assert token in text, (name, token)
        # Specials are escaped wherever a name appears.
        assert "toy_base" not in text.replace("toy\\_base", "")


def test_separation_by_model_numbers_come_from_the_csv(built):
    text = _table(built, "separation_by_model.tex")
    base = _row_of(text, latex_escape(FAMILY) + " & toy\\_base")
    gen, comp = "toy_base__toy-generation", "toy_base__toy-comprehension"
    assert base[3:8] == [f"{LAYER}/{N_LAYERS}", f"{_cos(built, gen):.3f}", f"{-1 / 19:.3f}",
                         f"{_cos(built, gen, col='null_mean'):.3f} [{_cos(built, gen, col='null_lo'):.3f}, "
                         f"{_cos(built, gen, col='null_hi'):.3f}]", "0.010"]
    assert base[9] == f"{_cos(built, comp):.3f}"
    # G-C is generation minus comprehension from the unrounded CSV values.
    assert base[13] == f"{_cos(built, gen) - _cos(built, comp):+.3f}"
    for phrase in ("$N$ = 20", "999 permutations", "one-sided", "uncorrected", "lower = better",
                   "neutral\\_mean", "unit-normalised", "generation = mid\\_generation",
                   "comprehension = last\\_token", "middle block"):
        assert phrase in text, phrase


def test_layer_sweep_values_and_bold_best_layer(built):
    text = _table(built, "layer_sweep.tex")
    header = _row_of(text, " & ")
    columns = {}
    for j, model in enumerate(header[2:], start=2):
        method = _row_of(text, "Layer & Depth")[j]
        corpus = "toy-generation" if method == "generation" else "toy-comprehension"
        columns[f"{model.replace(chr(92), '')}__{corpus}"] = j
    assert len(columns) == 4
    for cell, j in columns.items():
        values = [_cos(built, cell, layer) for layer in range(N_LAYERS)]
        best = int(np.argmin(values))
        for layer in range(N_LAYERS):
            entry = _row_of(text, f"{layer} & ")[j]
            assert f"{values[layer]:.3f}" in entry
            assert entry.startswith("\\textbf{") == (layer == best), (cell, layer, entry)
    assert _row_of(text, "1 & ")[1] == "33\\%"
    assert "U-curve" in text


def test_anisotropy_table_reports_gap_and_pairs(built):
    text = _table(built, "anisotropy.tex")
    cell = "toy-instruct__toy-comprehension"
    row = _row_of(text, "toy-instruct & instruct & comprehension")
    assert row[4] == f"{_cos(built, cell, col='anisotropy'):.3f}"
    assert row[5] == f"{_cos(built, cell):.3f}"
    assert row[6] == f"{_cos(built, cell, col='gap_to_anisotropy'):+.3f}"
    assert row[7:] == [f"{_cos(built, cell, col=f'cos_{a}-{b}'):.3f}" for a, b in OPPOSITE_PAIRS]


def test_rlhf_delta_is_instruct_minus_base(built):
    text = _table(built, "rlhf_separation.tex")
    for method, corpus in (("generation", "toy-generation"), ("comprehension", "toy-comprehension")):
        row = _row_of(text, f"{latex_escape(FAMILY)} & {method}")
        b, i = _cos(built, f"toy_base__{corpus}"), _cos(built, f"toy-instruct__{corpus}")
        assert row[2:4] == ["toy\\_base", "toy-instruct"]
        assert row[5:8] == [f"{b:.3f}", f"{i:.3f}", f"{i - b:+.3f}"]
    assert "no confidence interval" in text and "descriptive" in text


def test_regeneration_is_byte_identical_for_any_number_of_workers(built):
    for name in TABLES.names("separation"):
        assert (built["out1"] / "tables" / name).read_bytes() == (built["out2"] / "tables" / name).read_bytes()
    for png in sorted((built["out1"] / "figures").iterdir()):
        assert png.read_bytes() == (built["out2"] / "figures" / png.name).read_bytes(), png.name


def test_figures_are_png_images(built):
    names = {p.name for p in (built["out1"] / "figures").iterdir()}
    assert names == {"u_curve.png"} | {f"cosine_heatmap_{c['cell']}.png" for c in separation_cells()}
    for name in names:
        data = (built["out1"] / "figures" / name).read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_MAGIC), name


def test_missing_csv_exits_2_and_writes_nothing(tmp_path, capsys):
    inp = write_separation_outputs(tmp_path / "in")
    gone = inp["separation"] / "toy-instruct__toy-generation.csv"
    gone.unlink()
    assert main(paper_stage_argv(inp, tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(gone) in err
    assert not (tmp_path / "out").exists()


def test_missing_column_is_named(tmp_path, capsys):
    inp = write_separation_outputs(tmp_path / "in")
    path = inp["separation"] / "toy_base__toy-comprehension.csv"
    pd.read_csv(path).drop(columns=["null_hi"]).to_csv(path, index=False)
    assert main(paper_stage_argv(inp, tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert "null_hi" in err and path.name in err
    assert not (tmp_path / "out").exists()


def test_stale_vectors_are_caught(tmp_path):
    inp = write_separation_outputs(tmp_path / "in")
    path = inp["vectors"] / "toy_base__toy-generation.npz"
    with np.load(path) as npz:
        vecs, emos = npz["vectors"], npz["emotions"]
    np.savez(path, vectors=vecs[::-1] * np.linspace(1, 2, vecs.shape[1])[None, :, None] + 0.5, emotions=emos)
    spec = load_paper_config(inp["config"]).separation
    with pytest.raises(EmovecInputError, match="stale"):
        load_cells(spec, inp["separation"], inp["vectors"])


def test_tables_are_deterministic_in_memory(tmp_path):
    inp = write_separation_outputs(tmp_path / "in")
    spec = load_paper_config(inp["config"]).separation

    def separation_tables() -> dict[str, str]:
        cells = load_cells(spec, inp["separation"], inp["vectors"])
        sep = SeparationInputs(spec=spec, cells=cells, resampling=load_resampling(cells, inp["separation"]))
        return build_tables(with_analyses(PaperInputs(separation=sep)))

    first, second = separation_tables(), separation_tables()
    assert first == second and list(first) == list(TABLES.names("separation"))


def test_every_table_carries_the_provenance_line(built: dict) -> None:
    names = sorted(p.name for p in (built["out1"] / "tables").glob("*.tex"))
    assert "gen_vs_comp.tex" in names
    for name in names:
        text = _table(built, name)
        line = next(ln for ln in text.splitlines() if "Provenance:" in ln)
        assert "config sha256 0123456789abcdef;" in line and "toy\\_base (local@unpinned, float32)" in line
        assert "axes: baseline: neutral\\_mean; layer: middle." in line
        assert text.index("Provenance:") < text.rindex("\\end{table}")
    record = json.loads((built["out1"] / "tables" / "provenance.json").read_text())
    assert record["config_hash"] == PROVENANCE["config_hash"] and record["git_revision"]


def test_gen_vs_comp_numbers_come_from_the_resampling_records(built: dict) -> None:
    from scipy import stats

    from emovec.stats.effect_size import cohens_d, sign_test

    text = _table(built, "gen_vs_comp.tex")
    sep = built["inp"]["separation"]
    for model in MODELS:
        g = json.loads((sep / f"{model}__toy-generation.resampling.json").read_text())
        c = json.loads((sep / f"{model}__toy-comprehension.resampling.json").read_text())
        row = _row_of(text, latex_escape(model) + " &")
        mw = stats.mannwhitneyu(g["loo"], c["loo"], alternative="two-sided", method="exact")
        assert row[3] == f"{mw.statistic:.1f}"
        assert row[5] == f"{cohens_d(g['loo'], c['loo']):.1f}"
        assert row[6] == f"{g['mean_cosine'] - c['mean_cosine']:+.3f}"
        d = cohens_d(g["per_emotion"], c["per_emotion"])
        assert row[10] == f"{d:+.2f}"
        assert row[1].endswith("(5)") and row[2].endswith("(3)")
    k = sum(1 for m in MODELS if json.loads((sep / f"{m}__toy-generation.resampling.json").read_text())["mean_cosine"]
            < json.loads((sep / f"{m}__toy-comprehension.resampling.json").read_text())["mean_cosine"])
    assert f"in {k} of 2; two-sided exact binomial $p$ = {sign_test(k, 2):.3f}" in text
    assert "$(n-1)$ times the per-item $d$" in text and "toy\\_base: $n$ = 5 (gen.), 3 (comp.)" in text


def test_a_missing_resampling_file_is_named_and_nothing_is_written(tmp_path: Path, capsys) -> None:
    inp = write_separation_outputs(tmp_path / "in")
    victim = inp["separation"] / "toy_base__toy-generation.resampling.json"
    victim.unlink()
    out = tmp_path / "out"
    assert main(paper_stage_argv(inp, out)) == 2
    assert str(victim) in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_a_bad_worker_count_is_refused_naming_the_option_and_nothing_is_written(tmp_path, capsys, bad):
    inp = write_separation_outputs(tmp_path / "in")
    with pytest.raises(SystemExit) as exc:
        main(paper_stage_argv(inp, tmp_path / "out") + ["--processes", bad])
    assert exc.value.code == 2
    assert f"--processes: must be a whole number >= 1, got '{bad}'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_cell_not_run_is_a_dash_and_its_reason_is_in_the_caption(tmp_path: Path) -> None:
    """compose's not_run list (a base model's generation cell, Jeong §7.2): the cell's columns are
    dashes, G-C is a dash, and the caption names the cell and why; its outputs are never read."""
    inp = write_separation_outputs(tmp_path / "in")
    skipped = "toy_base__toy-generation"
    cfg = yaml.safe_load(inp["config"].read_text())
    cfg["cells"] = [c for c in cfg["cells"] if c["cell"] != skipped]
    cfg["not_run"] = [{"cell": skipped, "reason": "a base model's generation cell: not run"}]
    inp["config"].write_text(yaml.safe_dump(cfg))
    for suffix in (".csv", ".resampling.json"):
        (inp["separation"] / f"{skipped}{suffix}").write_text("NOT_SELECTED: a base model's generation cell\n")
    (inp["vectors"] / f"{skipped}.npz").write_text("NOT_SELECTED: a base model's generation cell\n")
    inp = run_analyses_stage(inp)
    assert main(paper_stage_argv(inp, tmp_path / "out")) == 0
    text = (tmp_path / "out" / "tables" / "separation_by_model.tex").read_text(encoding="utf-8")
    row = _row_of(text, latex_escape(FAMILY) + " & toy\\_base")
    assert row[3:8] == ["---"] * 5 and row[13] == "---" and row[8] != "---"
    assert ("Not run: \\texttt{toy\\_base\\_\\_toy-generation} (a base model's generation cell: not run)."
            in text)


def test_a_cell_both_run_and_not_run_is_refused(tmp_path: Path) -> None:
    inp = write_separation_outputs(tmp_path / "in")
    cfg = yaml.safe_load(inp["config"].read_text())
    first = cfg["cells"][0]["cell"]
    cfg["not_run"] = [{"cell": first, "reason": "x"}]
    inp["config"].write_text(yaml.safe_dump(cfg))
    with pytest.raises(EmovecInputError, match=rf"paper.yaml: not_run\[0\]: cell '{first}' is also listed under cells"):
        load_paper_config(inp["config"])
