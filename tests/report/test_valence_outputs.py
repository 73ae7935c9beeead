"""Valence/arousal tables and figures are built only from the validated pipeline outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from emovec.errors import EmovecInputError
from emovec.readers.valence import load_cka, load_valence_cells
from emovec.report.latex import latex_escape
from emovec.report.tables import TABLES
from emovec.report.valence_figures import build_valence_figures

from helpers.valence_outputs import (
    DIGITS,
    EMOTIONS,
    ESTIMATED,
    EXCLUDED,
    FALLBACK,
    MISSING_CELL,
    MODELS,
    N_LAYERS,
    PNG_MAGIC,
    build_valence_tables,
    load_valence_outputs,
    read_valence_spec,
    valence_cells,
    write_valence_outputs,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    inp = write_valence_outputs(tmp_path_factory.mktemp("valence") / "in")
    spec, cells, cka = load_valence_outputs(inp)
    tables = build_valence_tables(spec, cells)
    figures = build_valence_figures(spec, cells, cka)
    return {"inp": inp, "spec": spec, "cells": cells, "cka": cka, "tables": tables, "figures": figures}


def _summary(built: dict, cell: str) -> dict:
    return json.loads((built["inp"]["valence"] / cell / "summary.json").read_text(encoding="utf-8"))


def _row_of(text: str, start: str) -> list[str]:
    line = next(ln for ln in text.splitlines() if ln.startswith(start))
    return [c.strip() for c in line.removesuffix("\\\\").split(" & ")]


def _p(x: float) -> str:
    return "$<$0.001" if x < 0.001 else f"{x:.{DIGITS}f}"


def _r_ci(pk: dict) -> str:
    return f"{pk['r']:.{DIGITS}f} [{pk['r_ci_low']:.{DIGITS}f}, {pk['r_ci_high']:.{DIGITS}f}]"


def test_tables_are_byte_identical_across_runs(built):
    spec, cells, _ = load_valence_outputs(built["inp"])
    again = build_valence_tables(spec, cells)
    assert list(again) == list(TABLES.names("valence"))
    assert {k: v.encode() for k, v in again.items()} == {k: v.encode() for k, v in built["tables"].items()}
    for text in again.values():
        for token in ("\\begin{table}", "\\caption{", "\\label{tab:valence-", "\\toprule", "\\midrule",
                      "\\bottomrule", "\\end{table}"):
            assert token in text
        assert "toy_base" not in text.replace("toy\\_base", "")


def test_valence_arousal_rows_print_the_input_numbers(built):
    text = built["tables"]["valence_arousal.tex"]
    seen_small_p = False
    for c in valence_cells():
        s = _summary(built, c["cell"])
        row = _row_of(text, f"{latex_escape(c['model'])} & {c['corpus']} ({c['generator']})")
        assert row[2] == str(len(EMOTIONS))
        for j, t in ((3, "valence"), (9, "arousal")):
            pk = s["peaks"][t]
            assert row[j:j + 6] == [f"{pk['layer']}/{N_LAYERS}", _r_ci(pk), f"{abs(pk['r']):.{DIGITS}f}",
                                    _p(pk["p_fdr"]), _p(pk["p_max"]), f"{pk['lambda_ratio']:.{DIGITS}f}"], (c["cell"], t)
            seen_small_p |= pk["p_fdr"] < 0.001
    assert seen_small_p
    # Sorted by family, variant (base first), model, corpus.
    order = [ln.split(" & ")[:2] for ln in text.splitlines() if ln.startswith(("toy\\_base &", "toy-instruct &"))]
    assert [o[0] for o in order] == ["toy\\_base", "toy\\_base", "toy-instruct"]
    assert MISSING_CELL.replace("__", " & ") not in text


def _ci(pk: dict, key: str) -> str:
    return f"{pk[key]:.{DIGITS}f} [{pk[key + '_ci_low']:.{DIGITS}f}, {pk[key + '_ci_high']:.{DIGITS}f}]"


def test_identification_rows_print_swap_rate_ratio_ci_and_r(built):
    text = built["tables"]["valence_identification.tex"]
    flagged = 0
    for c in valence_cells():
        s = _summary(built, c["cell"])
        row = _row_of(text, f"{latex_escape(c['model'])} & {c['corpus']} ({c['generator']})")
        for j, t in ((2, "valence"), (7, "arousal")):
            pk = s["peaks"][t]
            dagger = "" if pk["swap_rate"] <= 0.05 else "$^{\\dagger}$"
            assert row[j:j + 5] == [f"{pk['layer']}/{N_LAYERS}", f"{pk['swap_rate']:.3f}{dagger}",
                                    _ci(pk, "lambda_ratio"), _ci(pk, "R"), f"{pk['angle']:.0f}"], (c["cell"], t)
            if dagger:
                flagged += 1
                # every valence table's caption names the unidentified peak
                for name in ("valence_arousal.tex", "valence_by_corpus.tex"):
                    assert f"{latex_escape(c['model'])}/{c['corpus']} {t} (layer {pk['layer']}, swap rate " \
                           f"{pk['swap_rate']:.3f})" in built["tables"][name]
    assert flagged  # the synthetic data exercise the flag


def test_projection_rows_show_both_baselines_or_a_dash(built):
    text = built["tables"]["valence_projection.tex"]
    for i, c in enumerate(valence_cells()):
        s = _summary(built, c["cell"])
        row = _row_of(text, f"{latex_escape(c['model'])} & {c['corpus']} ({c['generator']})")
        pv, pa = s["peaks"]["valence"], s["peaks"]["arousal"]
        assert row[2:7] == [f"{pv['layer']}/{N_LAYERS}", _r_ci(pv), _ci(pv, "R"), f"{pa['layer']}/{N_LAYERS}",
                            _r_ci(pa)]
        if s["compare"] is None:
            assert row[7:] == ["---"] * 6
        else:
            cv, ca = s["compare"]["peaks"]["valence"], s["compare"]["peaks"]["arousal"]
            assert row[7:] == [f"{cv['layer']}/{N_LAYERS}", _r_ci(cv), _ci(cv, "R"), f"{ca['layer']}/{N_LAYERS}",
                               _r_ci(ca), "2"]
    assert "Baseline neutral\\_mean" in text and "neutral\\_pca" in text


def test_captions_state_unit_n_ci_and_corrections(built):
    for name in ("valence_arousal.tex", "valence_by_corpus.tex"):
        text = built["tables"][name]
        for phrase in ("Unit of analysis: emotions", f"$n$ = {len(EMOTIONS)} emotions", "percentile bootstrap",
                       "PCA refitted", "95\\%", "200 resamples", "999 permutations", "two-sided",
                       "Benjamini--Hochberg", "max-statistic", "post hoc", "$\\lambda_1/\\lambda_2$",
                       "anchor\\_valence", "happy / sad", "nrc-vad (fallback warriner, missing emotions: exclude)",
                       "pooling story\\_mean", "mean offset 1", "baseline neutral\\_mean", "weighting equal",
                       "normalised no"):
            assert phrase in text, (name, phrase)


def test_settings_that_differ_are_listed_per_cell(tmp_path):
    inp = write_valence_outputs(tmp_path / "in")
    path = inp["valence"] / "toy-instruct__stories-a" / "summary.json"
    s = json.loads(path.read_text())
    s["n_perm"] = 4999
    path.write_text(json.dumps(s))
    spec, cells, _ = load_valence_outputs(inp)
    text = build_valence_tables(spec, cells)["valence_arousal.tex"]
    assert "999 (toy\\_base/stories-a, toy\\_base/stories-b); 4999 (toy-instruct/stories-a) permutations" in text


def test_by_corpus_table_has_dash_for_the_missing_cell(built):
    text = built["tables"]["valence_by_corpus.tex"]
    assert "\\multicolumn{4}{c}{stories-a (project)}" in text
    assert "\\multicolumn{4}{c}{stories-b (upstream:gemma-4-e4b-it)}" in text
    base = _row_of(text, "toy\\_base & base")
    inst = _row_of(text, "toy-instruct & instruct")
    for row, model in ((base, "toy_base"), (inst, "toy-instruct")):
        pk = _summary(built, f"{model}__stories-a")["peaks"]["valence"]
        assert row[2:6] == [_r_ci(pk), f"{pk['layer']}/{N_LAYERS}", _p(pk["p_max"]),
                            f"{pk['lambda_ratio']:.{DIGITS}f}"]
    pk = _summary(built, "toy_base__stories-b")["peaks"]["valence"]
    assert base[6:10] == [_r_ci(pk), f"{pk['layer']}/{N_LAYERS}", _p(pk["p_max"]), f"{pk['lambda_ratio']:.{DIGITS}f}"]
    assert inst[6:10] == ["---"] * 4
    assert "not run on this corpus" in text


def test_norm_coverage_names_fallback_excluded_and_estimated(built):
    text = built["tables"]["norm_coverage.tex"]
    row = _row_of(text, "1 & nrc-vad & toy12")
    n_fb = len(FALLBACK)
    assert row[3:7] == [str(len(EMOTIONS) + len(EXCLUDED)), str(len(EMOTIONS) - n_fb), str(n_fb), str(len(EXCLUDED))]
    assert "fallback: desperate (warriner), guilty (warriner)" in row[7]
    assert "excluded: brooding, zealous" in row[7]
    assert "estimated: proud (estimate\\_from\\_pride)" in row[7]
    # Per-emotion sub-table (at most 30 emotions): every emotion with its rating and status.
    norms = pd.read_csv(built["inp"]["valence"] / "toy_base__stories-a" / "norms.csv")
    for r in norms.itertuples(index=False):
        if r.status == "excluded":
            expected = [r.emotion, "---", "---", "---", "excluded"]
        else:
            expected = [r.emotion + ("$^{\\dagger}$" if r.emotion in ESTIMATED else ""),
                        f"{r.valence:.{DIGITS}f}", f"{r.arousal:.{DIGITS}f}", r.norm, r.status]
        assert _row_of(text, expected[0] + " & ") == expected
    assert "toy\\_base/stories-a, toy\\_base/stories-b, toy-instruct/stories-a" in text
    assert "full record" in text


def _drop_layers_column(inp):
    path = inp["valence"] / "toy_base__stories-b" / "layers.csv"
    pd.read_csv(path).drop(columns=["arousal_p_maxT"]).to_csv(path, index=False)
    return path, "arousal_p_maxT"


def _drop_summary_key(inp):
    path = inp["valence"] / "toy-instruct__stories-a" / "summary.json"
    s = json.loads(path.read_text())
    del s["n_perm"]
    path.write_text(json.dumps(s))
    return path, "n_perm"


def _drop_peak_key(inp):
    path = inp["valence"] / "toy-instruct__stories-a" / "summary.json"
    s = json.loads(path.read_text())
    del s["peaks"]["arousal"]["p_max"]
    path.write_text(json.dumps(s))
    return path, "peaks.arousal.p_max"


def _mismatched_summary(inp):
    path = inp["valence"] / "toy_base__stories-a" / "summary.json"
    s = json.loads(path.read_text())
    s["corpus"] = "stories-b"
    path.write_text(json.dumps(s))
    return path, "corpus"


def _edited_peak(inp):
    path = inp["valence"] / "toy_base__stories-a" / "summary.json"
    s = json.loads(path.read_text())
    s["peaks"]["valence"]["r_ci_high"] += 0.01
    path.write_text(json.dumps(s))
    return path, "r_ci_high"


def _missing_compare_layers(inp):
    path = inp["valence"] / "toy_base__stories-a" / "compare_layers.csv"  # the summary still has a comparison
    path.unlink()
    return path, "compare"


def _edited_compare_peak(inp):
    path = inp["valence"] / "toy_base__stories-a" / "summary.json"
    s = json.loads(path.read_text())
    s["compare"]["peaks"]["valence"]["R"] += 0.01
    path.write_text(json.dumps(s))
    return path, "compare.peaks.valence.R"


def _wrong_layers(inp):
    path = inp["valence"] / "toy_base__stories-a" / "layers.csv"
    pd.read_csv(path).iloc[:-1].to_csv(path, index=False)
    return path, "layer"


def _missing_scores(inp):
    path = inp["valence"] / "toy-instruct__stories-a" / "scores.npz"
    path.unlink()
    return path, "scores.npz"


def _stale_ratings(inp):
    path = inp["valence"] / "toy_base__stories-b" / "scores.npz"
    with np.load(path) as npz:
        data = dict(npz)
    data["valence"] = data["valence"][::-1].copy()
    np.savez(path, **data)
    return path, "valence"


@pytest.mark.parametrize("corrupt", [_drop_layers_column, _drop_summary_key, _drop_peak_key, _mismatched_summary,
                                     _edited_peak, _wrong_layers, _missing_scores, _stale_ratings,
                                     _missing_compare_layers, _edited_compare_peak])
def test_bad_valence_inputs_name_file_and_key(tmp_path, corrupt):
    inp = write_valence_outputs(tmp_path / "in")
    path, key = corrupt(inp)
    spec = read_valence_spec(inp["config"])
    with pytest.raises(EmovecInputError) as err:
        load_valence_cells(spec, inp["valence"])
    assert str(path) in str(err.value) and key in str(err.value)


def test_missing_or_stale_cka_file(tmp_path):
    inp = write_valence_outputs(tmp_path / "in")
    spec = read_valence_spec(inp["config"])
    path = inp["cka"] / "toy-instruct.npz"
    path.unlink()
    with pytest.raises(EmovecInputError, match="toy-instruct.npz"):
        load_cka(spec, inp["cka"])
    base = inp["cka"] / "toy_base.npz"
    with np.load(base) as npz:
        data = dict(npz)
    data["layer_by_layer"] = data["layer_by_layer"][:, :-1, :-1]
    np.savez(base, **data)
    np.savez(path, corpora=np.array(["stories-a"]), layer_by_layer=np.zeros((1, N_LAYERS, N_LAYERS)),
             pairs=np.empty((0, 2), dtype=str), between_corpora=np.empty((0, N_LAYERS)), n_emotions=12)
    with pytest.raises(EmovecInputError) as err:
        load_cka(spec, inp["cka"])
    assert str(base) in str(err.value) and "layer_by_layer" in str(err.value)


def test_spec_without_valence_cells_gives_no_outputs(tmp_path):
    cfg = tmp_path / "paper.yaml"
    cfg.write_text(yaml.safe_dump({"digits": 3, "experiment": "separation", "cells": []}))
    spec = read_valence_spec(cfg)
    assert spec.cells == () and spec.digits == 3
    cells = load_valence_cells(spec, tmp_path / "nowhere")
    assert cells == {} and load_cka(spec, tmp_path / "nowhere") == {}
    assert build_valence_tables(spec, cells) == {} and build_valence_figures(spec, cells, {}) == {}


def test_spec_rejects_bad_entries(tmp_path):
    cfg = tmp_path / "paper.yaml"
    cells = valence_cells()
    bad = dict(cells[0])
    del bad["generator"]
    cfg.write_text(yaml.safe_dump({"digits": 3, "valence_cells": [bad]}))
    with pytest.raises(EmovecInputError, match="generator"):
        read_valence_spec(cfg)
    cfg.write_text(yaml.safe_dump({"digits": 3, "valence_cells": [cells[0], cells[0]]}))
    with pytest.raises(EmovecInputError, match="twice"):
        read_valence_spec(cfg)
    other = {**cells[1], "n_layers": N_LAYERS + 1}
    cfg.write_text(yaml.safe_dump({"digits": 3, "valence_cells": [cells[0], other]}))
    with pytest.raises(EmovecInputError, match="n_layers"):
        read_valence_spec(cfg)


def test_figures_are_deterministic_pngs(built):
    figures = built["figures"]
    expected = ({f"valence_layers_{m}.png" for m in MODELS} | {f"pc_scatter_{c['cell']}.png" for c in valence_cells()}
                | {f"cka_{m}.png" for m in MODELS})
    assert set(figures) == expected
    for name, data in figures.items():
        assert len(data) > 1000 and data.startswith(PNG_MAGIC), name
    again = build_valence_figures(built["spec"], built["cells"], built["cka"])
    assert list(again) == list(figures)
    for name in figures:
        assert again[name] == figures[name], name


def test_scatter_labels_only_extremes_above_30_emotions(built):
    from dataclasses import replace

    from emovec.report.valence_figures import labelled_emotions, pc_scatter_png

    cd = built["cells"]["toy_base__stories-a"]
    n = 35
    rng = np.random.default_rng(1)
    valence = np.linspace(-1, 1, n)[rng.permutation(n)]
    big = replace(cd, emotions=tuple(f"e{i}" for i in range(n)), valence=valence, arousal=np.zeros(n),
                  scores=rng.normal(size=(N_LAYERS, n, 2)))
    picked = labelled_emotions(big)
    assert len(picked) == 10
    assert set(picked) == set(np.argsort(valence)[:5]) | set(np.argsort(valence)[-5:])
    assert labelled_emotions(cd) == list(range(len(EMOTIONS)))
    assert pc_scatter_png(big).startswith(PNG_MAGIC)
