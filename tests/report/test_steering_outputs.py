"""Steering tables and figures are built only from validated pipeline outputs, with hand-checked numbers.

The synthetic inputs are two partner models (base/instruct) x two scenarios (direction +1 and -1),
strengths 0.005 and 0.05 (0.05 is also the protocol strength, so those rows are is_protocol),
two random directions and one sample. Two classifiers read every generation: toy_lexicon
(probabilities P below) and vader, whose target score is 1 - 2P (so every shift is -2 times the
toy one and the agreement counts flip). Every score and delta is a dyadic fraction, so the
hand-computed means below are exact in floating point.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from emovec.analysis.agreement import agreement_counts
from emovec.analysis.steering import classify_regime, token_weighted_ppl
from emovec.artefacts.declarations import STEERING_NORMS, write_csv
from emovec.config.schema import RegimeConfig
from emovec.errors import EmovecInputError
from emovec.readers.paper_steering import load_steering_spec
from emovec.readers.steering import load_steering
from emovec.report.latex import latex_token
from emovec.report.steering_figures import build_steering_figures
from emovec.report.tables import TABLES
from emovec.steering.classifiers import EKMAN7

from helpers.steering_outputs import (
    BASE,
    DIGITS,
    HIGH,
    INST,
    LOW,
    PNG_MAGIC,
    RAW_SPEC,
    SEPARATION,
    TOY,
    VADER,
    build_steering_tables,
    load_steering_outputs,
    norms_row,
    steering_figures,
    steering_inputs,
    write_steering_outputs,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    inp = write_steering_outputs(tmp_path_factory.mktemp("steering") / "in")
    spec, data = load_steering_outputs(inp)
    return {"inp": inp, "spec": spec, "data": data, "tables": build_steering_tables(spec, data, SEPARATION),
            "figures": steering_figures(spec, data)}


def _row_of(text: str, start: str) -> list[str]:
    line = next(ln for ln in text.splitlines() if ln.startswith(start))
    return [c.strip() for c in line.removesuffix("\\\\").split(" & ")]


def _f(x: float) -> str:
    return f"{x:.{DIGITS}f}"


def _s(x: float) -> str:
    return f"{x:+.{DIGITS}f}"


# --------------------------------------------------------------------------------------------


def test_classified_frames_per_classifier(built):
    d = built["data"][BASE]
    assert list(d.classified) == ["toy_lexicon", "vader"]
    assert "p_target" not in d.measures.columns
    toy, vader = d.scores("toy_lexicon"), d.scores("vader")
    assert list(toy["id"]) == list(vader["id"]) == list(d.measures["id"])
    assert {f"p_{lab}" for lab in EKMAN7} <= set(toy.columns) and "p_valence_positive" not in toy.columns
    np.testing.assert_array_equal(vader["p_target"], 1.0 - 2.0 * toy["p_target"])
    up = vader["scenario"] == "up"
    np.testing.assert_array_equal(vader.loc[up, "p_valence_positive"], vader.loc[up, "p_target"])
    np.testing.assert_array_equal(vader.loc[~up, "p_valence_positive"], -vader.loc[~up, "p_target"])
    with pytest.raises(EmovecInputError, match=r"classifier 'nrc_lexicon' did not read .*\['toy_lexicon', 'vader'\]"):
        d.scores("nrc_lexicon")


def test_agreement_counts_and_clopper_pearson(built):
    df = pd.concat([d.scores("toy_lexicon") for d in built["data"].values()], ignore_index=True)
    counts = agreement_counts(df, 0.95).set_index(["scope", "comparison"])
    # Protocol units (model, scenario), shifts from U = 0.25, direction-signed:
    #   emotion:   +0.5, +0.125, +0.625, -0.125           -> 3/4, mean 0.28125
    #   random:    0 (tie: not a success), +0.0625, -0.125, 0 -> 1/4, mean -0.015625
    #   induction: +0.25, +0.125, +0.125, -0.25           -> 3/4, mean 0.0625
    #   beats:     +0.5, +0.0625, +0.75, -0.125           -> 3/4, mean 0.296875
    expected = {"emotion": (3, 4, 0.28125), "random": (1, 4, -0.015625), "induction": (3, 4, 0.0625),
                "emotion_vs_random": (3, 4, 0.296875)}
    for key, (k, n, mean) in expected.items():
        r = counts.loc[("protocol", key)]
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        assert (int(r["k"]), int(r["n"]), r["proportion"], r["mean_shift"]) == (k, n, k / n, mean), key
        assert (r["ci_low"], r["ci_high"]) == (ci.low, ci.high), key
    # Every strength adds the 0.005 units: emotion +0.0625, 0, 0, +0.0625; random all 0.
    every = {"emotion": (5, 8), "random": (1, 8), "emotion_vs_random": (5, 8), "induction": (0, 0)}
    for key, (k, n) in every.items():
        r = counts.loc[("every strength", key)]
        assert (int(r["k"]), int(r["n"])) == (k, n), key
    assert math.isnan(counts.loc[("every strength", "induction"), "ci_low"])
    # k=3, n=4 at 95%: the exact interval is [0.194, 0.994].
    assert (_f(binomtest(3, 4).proportion_ci(0.95, "exact").low), _f(binomtest(3, 4).proportion_ci(0.95).high)) \
        == ("0.194", "0.994")


def _blocks(text: str) -> dict[str, tuple[str, str]]:
    """{classifier title: (protocol rows, every-strength rows)} of the agreement table."""
    lines = text.splitlines()
    starts = [i for i, ln in enumerate(lines) if "\\textbf{Classifier " in ln]
    out = {}
    for j, i in enumerate(starts):
        block = lines[i: starts[j + 1] if j + 1 < len(starts) else len(lines)]
        title = re.search(r"\\textbf\{(Classifier [^}]*)\}", block[0]).group(1)
        cut = block.index(next(ln for ln in block if "At every strength" in ln))
        out[title] = ("\n".join(block[:cut]), "\n".join(block[cut:]))
    return out


def test_agreement_table_prints_counts_ci_and_dashes(built):
    text = built["tables"]["steering_agreement.tex"]
    blocks = _blocks(text)
    assert list(blocks) == [f"Classifier 1: {TOY}", f"Classifier 2: {VADER}"]
    prot, every = blocks[f"Classifier 1: {TOY}"]
    assert _row_of(prot, "emotion vector &") == ["emotion vector", "3/4", "0.750", "[0.194, 0.994]", _s(0.28125)]
    ci = binomtest(1, 4).proportion_ci(confidence_level=0.95, method="exact")
    assert _row_of(prot, "random direction") == ["random direction (matched norm)", "1/4", "0.250",
                                                 f"[{_f(ci.low)}, {_f(ci.high)}]", _s(-0.015625)]
    ci = binomtest(5, 8).proportion_ci(confidence_level=0.95, method="exact")
    assert _row_of(every, "emotion vector &") == ["emotion vector", "5/8", "0.625", f"[{_f(ci.low)}, {_f(ci.high)}]",
                                                  _s((0.5 + 0.125 + 0.625 - 0.125 + 0.0625 + 0.0625) / 8)]
    assert _row_of(every, "prompt induction") == ["prompt induction (no steering)", "---", "---", "---", "---"]
    for phrase in ("Clopper--Pearson exact 95\\%", "Unit of analysis", "$n$ = 4", "$n$ = 8",
                   "no multiple-comparison correction", "one block per classifier"):
        assert phrase in text, phrase


def test_agreement_table_has_a_block_per_classifier(built):
    text = built["tables"]["steering_agreement.tex"]
    prot, every = _blocks(text)[f"Classifier 2: {VADER}"]
    # vader's target score is 1 - 2P: every signed shift is -2 x the toy one, so the successes flip.
    # Protocol: emotion -1, -0.25, -1.25, +0.25 -> 1/4; random 0, -0.125, +0.25, 0 -> 1/4;
    # induction -0.5, -0.25, -0.25, +0.5 -> 1/4; beats -1, -0.125, -1.5, +0.25 -> 1/4.
    ci = binomtest(1, 4).proportion_ci(confidence_level=0.95, method="exact")
    for start, label, mean in (("emotion vector &", "emotion vector", -2 * 0.28125),
                               ("random direction", "random direction (matched norm)", 2 * 0.015625),
                               ("prompt induction", "prompt induction (no steering)", -2 * 0.0625),
                               ("emotion vector beats", "emotion vector beats random", -2 * 0.296875)):
        assert _row_of(prot, start) == [label, "1/4", "0.250", f"[{_f(ci.low)}, {_f(ci.high)}]", _s(mean)], label
    # every strength: the 0.005 units' emotion shifts become -0.125, 0, 0, -0.125: 1/8 succeed
    assert _row_of(every, "emotion vector &")[:3] == ["emotion vector", "1/8", "0.125"]
    assert _row_of(every, "prompt induction") == ["prompt induction (no steering)", "---", "---", "---", "---"]
    # the caption names both classifiers, what p_target is for each and the no-hit generations
    caption = text[text.index("\\caption{"):]
    for phrase in (f"(1) {TOY}: $p_{{\\mathrm{{target}}}}$ = probability", "in $[0, 1]$",
                   f"(2) {VADER}: $p_{{\\mathrm{{target}}}}$ = VADER compound valence times the sign of the target "
                   "emotion's valence", "in $[-1, 1]$",
                   "generations without a lexicon hit (scored compound 0): 4 of 32",
                   "generations without a lexicon hit (scored uniform probabilities 1/7): 0 of 32",
                   "in the classifier's score units"):
        assert phrase in caption, phrase
    _assert_balanced(text)


def test_one_classifier_gives_one_block(tmp_path):
    inp = write_steering_outputs(tmp_path / "in")
    for model in (BASE, INST):  # a run that listed only vader
        path = inp["classify"] / f"{model}.csv"
        df = pd.read_csv(path)
        df[df["classifier"] == "vader"].to_csv(path, index=False)
    raw = {**RAW_SPEC, "classifiers": RAW_SPEC["classifiers"][1:]}
    spec, data = load_steering_outputs(inp, raw)
    text = build_steering_tables(spec, data, {})["steering_agreement.tex"]
    assert list(_blocks(text)) == [f"Classifier 1: {VADER}"] and TOY not in text
    assert list(steering_figures(spec, data)) == [f"dose_response_{BASE}.png", f"dose_response_{INST}.png"]


def test_regimes_ppl_is_token_weighted_and_classified(built):
    text = built["tables"]["steering_regimes.tex"]
    base = _row_of(text, "toy-base &")
    # toy-base: low exp((20+40)/(10+30)) = e^1.5, high exp((60+100)/40) = e^4, random rows all 15/10.
    assert base == ["toy-base", "base", _f(math.exp(1.5)), _f(math.exp(4.0)), _f(math.exp(2.5)), _f(1.0),
                    _f((0.75 + 0.625) / 2), _f(0.9), _f(0.9), "4.0", "explosive"]  # random at high, unsteered
    inst = _row_of(text, "toy-instruct &")
    assert inst == ["toy-instruct", "instruct", _f(math.e), _f(math.exp(1.2)), _f(math.exp(0.2)), _f(1.0),
                    _f(0.8125), _f(0.9), _f(0.9), "2.0", "surgical"]
    for phrase in ("the unsteered model itself", "distinct-2 $\\le$ 0.5", "No model's unsteered text meets", "repeat $\\ge$ 8", "ratio $\\ge$ 5",
                   "Unit of analysis: generations", "No confidence"):
        assert phrase in text, phrase
    rows = pd.DataFrame({"n_gen_tokens": [10, 30, 0], "nll_sum": [20.0, 40.0, float("nan")]})
    assert token_weighted_ppl(rows) == math.exp(60.0 / 40.0)
    assert math.isnan(token_weighted_ppl(rows.iloc[2:]))


def test_classify_regime_rules_and_their_order():
    rg = RegimeConfig(low_strength=LOW, high_strength=HIGH, explosive_min_ratio=5.0, collapse_max_distinct2=0.5,
                    collapse_min_repeat=8)
    assert classify_regime(1.2, 0.9, 2.0, rg) == "surgical"
    assert classify_regime(5.0, 0.9, 2.0, rg) == "explosive"  # boundary: ratio >= 5 is explosive
    assert classify_regime(4.99, 0.9, 7.5, rg) == "surgical"
    assert classify_regime(1.2, 0.5, 2.0, rg) == "repetitive collapse"  # boundary: distinct-2 <= 0.5
    assert classify_regime(1.2, 0.9, 8.0, rg) == "repetitive collapse"  # boundary: repeat >= 8
    # Collapse is checked first: a collapsed, exploding model is "repetitive collapse".
    assert classify_regime(50.0, 0.1, 20.0, rg) == "repetitive collapse"
    assert classify_regime(float("nan"), 0.9, 2.0, rg) == "undetermined"


def test_absent_regime_strength_names_the_strengths_present(built):
    raw = {**RAW_SPEC, "regimes": {**RAW_SPEC["regimes"], "low_strength": 0.01}}
    spec = load_steering_spec(raw, DIGITS, "cfg")
    with pytest.raises(EmovecInputError) as err:
        build_steering_tables(spec, built["data"], SEPARATION)
    msg = str(err.value)
    assert "0.01" in msg and "['0.005', '0.05']" in msg and "measures.csv" in msg


def test_deltas_cells_hold_the_hand_means(built):
    text = built["tables"]["steering_deltas.tex"]
    assert _row_of(text, " & ") == ["", "", "up", "down"]
    assert _row_of(text, "Model &") == ["Model", "Variant", "happy ($+$)", "sad ($-$)"]
    base = _row_of(text, "toy-base &")
    assert base == ["toy-base", "base", f"{_s(1.5)} ({_s((0.25 - 0.0625) / 2)})", f"{_s(-0.5)} ({_s(0.0625)})"]
    inst = _row_of(text, "toy-instruct &")
    assert inst == ["toy-instruct", "instruct", f"{_s(3.0)} ({_s(0.375)})", f"{_s(-0.25)} ({_s(-0.0625)})"]
    for phrase in ("block 2 (0-based)", "Steered blocks (0-based): 0--3", "prompt\\_mean\\_norm",
                   "up 0.05; down 0.05", "Unit of analysis", "$n$ = 1 emotion and 2 random", "No confidence"):
        assert phrase in text, phrase


def test_rlhf_ratio_and_separation(built):
    text = built["tables"]["rlhf_deltas.tex"]
    row = _row_of(text, "toy &")
    # |3.0| / |1.5| = 2 and |-0.25| / |-0.5| = 0.5: mean ratio 1.25.
    assert row == ["toy", BASE, INST, _f(0.25), _f(0.1875), _s(-0.0625), _f(1.25), f"[{_f(0.5)}, {_f(2.0)}]", "2"]
    assert "Generation: base" in text and "Comprehension" not in text


def test_rlhf_without_a_pair_is_one_row_of_valid_latex(built):
    raw = {**RAW_SPEC, "models": RAW_SPEC["models"][:1]}
    spec, data = load_steering_outputs(built["inp"], raw)
    text = build_steering_tables(spec, data, {})["rlhf_deltas.tex"]
    assert "\\multicolumn{6}{c}{No base/instruct pair is selected.} \\\\" in text
    _assert_balanced(text)


def test_leakage_tokens_render_as_code_points(built):
    text = built["tables"]["script_leakage.tex"]
    row = _row_of(text, "toy-base & emotion vector")
    assert row == ["toy-base", "emotion vector @ 0.05", "2", _f(0.02), _f(0.015), "2/2",
                   "U+5FEB (2), U+00E9 (1), U+4E50 (1)"]
    row = _row_of(text, "toy-instruct & random direction")
    assert row == ["toy-instruct", "random direction @ 0.05", "4", _f(0.01 / 4), _f(0.0), "1/4", "x U+0416 (1)"]
    row = _row_of(text, "toy-instruct & prompt induction")
    assert row == ["toy-instruct", "prompt induction", "2", _f(0.0), _f(0.0), "0/2", "---"]
    assert latex_token("a_b\n快") == "a\\_b U+000A U+5FEB"
    assert all(ord(ch) < 128 for name in built["tables"] for ch in built["tables"][name]), "pdflatex-safe ASCII"


def _assert_balanced(text: str) -> None:
    begins = re.findall(r"\\begin\{([^}]+)\}", text)
    ends = re.findall(r"\\end\{([^}]+)\}", text)
    assert sorted(begins) == sorted(ends) and begins, text[:200]
    assert text.count("{") - text.count("\\{") == text.count("}") - text.count("\\}")
    assert text.count("\\caption{") == 1 and "\\label{tab:steering-" in text


def test_tables_and_figures_are_byte_identical_and_well_formed(built):
    spec, data = load_steering_outputs(built["inp"])
    tables = build_steering_tables(spec, data, SEPARATION)
    assert list(tables) == list(TABLES.names("steering"))
    assert {k: v.encode() for k, v in tables.items()} == {k: v.encode() for k, v in built["tables"].items()}
    for text in tables.values():
        _assert_balanced(text)
    figures = steering_figures(spec, data)
    assert list(figures) == [f"dose_response_{BASE}.png", f"dose_response_{INST}.png"]
    for name, png in figures.items():
        assert png.startswith(PNG_MAGIC) and len(png) > 1000, name
        assert png == built["figures"][name], name


def test_classifier_ids_must_match_measures(tmp_path):
    inp = write_steering_outputs(tmp_path / "in")
    path = inp["classify"] / f"{INST}.csv"
    df = pd.read_csv(path)
    df.loc[3, "id"] = "stale-id"
    df.to_csv(path, index=False)
    with pytest.raises(EmovecInputError) as err:
        load_steering_outputs(inp)
    msg = str(err.value)
    assert str(path) in msg and str(inp["steering"] / INST / "measures.csv") in msg and "stale-id" in msg


def test_missing_measures_column_names_file_and_column(tmp_path):
    inp = write_steering_outputs(tmp_path / "in")
    path = inp["steering"] / BASE / "measures.csv"
    pd.read_csv(path).drop(columns=["cjk_share"]).to_csv(path, index=False)
    with pytest.raises(EmovecInputError) as err:
        load_steering_outputs(inp)
    assert str(path) in str(err.value) and "cjk_share" in str(err.value)


def test_stale_summary_and_bad_rows_are_named(tmp_path):
    inp = write_steering_outputs(tmp_path / "in")
    spath = inp["steering"] / BASE / "summary.json"
    s = json.loads(spath.read_text())
    s["n_rows"] = 99
    spath.write_text(json.dumps(s))
    with pytest.raises(EmovecInputError, match=r"summary\.json: key 'n_rows' is 99 but .*has 16"):
        load_steering_outputs(inp)
    inp = write_steering_outputs(tmp_path / "in2")
    mpath = inp["steering"] / INST / "measures.csv"
    df = pd.read_csv(mpath)
    df.loc[5, "magnitude"] = 0.07
    df.to_csv(mpath, index=False)
    with pytest.raises(EmovecInputError) as err:
        load_steering_outputs(inp)
    assert str(mpath) in str(err.value) and "row 5" in str(err.value) and "magnitude" in str(err.value)


def test_spec_checks_and_empty_selection(tmp_path):
    with pytest.raises(EmovecInputError, match="regimes"):
        load_steering_spec({k: v for k, v in RAW_SPEC.items() if k != "regimes"}, DIGITS, "cfg")
    with pytest.raises(EmovecInputError, match="twice"):
        load_steering_spec({**RAW_SPEC, "models": RAW_SPEC["models"][:1] * 2}, DIGITS, "cfg")
    bad = {**RAW_SPEC, "regimes": {**RAW_SPEC["regimes"], "high_strength": 0.001}}
    with pytest.raises(EmovecInputError, match="high_strength"):
        load_steering_spec(bad, DIGITS, "cfg")
    spec = load_steering_spec({"models": []}, DIGITS, "cfg")
    assert spec.models == () and spec.classifiers == ()
    data = load_steering(spec, tmp_path / "nowhere", tmp_path / "nowhere")
    assert data == {} and build_steering_tables(spec, data, {}) == {} and steering_figures(spec, data) == {}
    assert load_steering_spec(None, DIGITS, "cfg").models == ()


def test_dose_response_record_holds_the_signed_shifts(built):
    record = steering_inputs(built["spec"], built["data"], {}).analysis("dose_response")
    assert record.models == (BASE, INST)
    r = record.of(BASE)
    assert (r.magnitudes, r.n_samples, r.n_random, r.projection_layer) == ((LOW, HIGH), 1, 2, 2)
    assert [(s.scenario, s.emotion, s.direction) for s in r.scenarios] == [("up", "happy", 1), ("down", "sad", -1)]
    assert [p.measure for p in r.panels] == ["toy_lexicon", "vader", "delta"]
    toy = r.panel("toy_lexicon")
    # shift = p_target - U (the scenario's unsteered mean, 0.25), times the direction: down (-1) flips.
    assert {c.scenario: c.values for c in toy.scenarios} == {"up": (0.0625, 0.5), "down": (-0.0, 0.125)}
    assert toy.mean == ((0.0625 + 0.0) / 2, (0.5 + 0.125) / 2)
    # Random at 0.05, mean over scenarios per direction: r0 (0.125 + 0.125) / 2, r1 (-0.125 + 0) / 2.
    assert (toy.random_lo, toy.random_hi, toy.random_mean) == ((0.0, -0.0625), (0.0, 0.125), (0.0, 0.03125))
    assert toy.induction == (0.25 + 0.125) / 2 and toy.unsteered == 0.0
    # vader's p_target is 1 - 2P: every shift is -2 x the toy one.
    vader = r.panel("vader")
    assert [c.values for c in vader.scenarios] == [tuple(-2 * v for v in c.values) for c in toy.scenarios]
    assert vader.induction == -2 * toy.induction and vader.random_mean == tuple(-2 * v for v in toy.random_mean)
    # delta is already steered - unsteered (reference 0): direction x mean delta.
    delta = r.panel("delta")
    assert {c.scenario: c.values for c in delta.scenarios} == {"up": (0.5, 1.5), "down": (0.125, 0.5)}
    assert delta.mean == (0.3125, 1.0) and delta.induction == 0.5 and delta.unsteered == 0.0
    assert delta.random_mean[1] == ((0.25 - 0.125) / 2 + (-0.0625 + 0.0) / 2) / 2


def test_the_figure_draws_the_record_and_never_the_outputs(built):
    from emovec.report.outputs import all_figure_jobs

    inputs = steering_inputs(built["spec"], built["data"], {})
    # The steering outputs gone: the figures come from the dose_response record alone, byte for byte.
    blind = dataclasses.replace(inputs, steering=dataclasses.replace(inputs.steering, data={}))
    jobs = all_figure_jobs(blind)
    assert list(jobs) == [f"dose_response_{BASE}.png", f"dose_response_{INST}.png"]
    assert {name: job() for name, job in jobs.items()} == built["figures"]
    # Another record, another figure; no record, an error naming the analyses stage.
    record = inputs.analysis("dose_response")
    r = record.of(BASE)
    moved = dataclasses.replace(r, panels=(dataclasses.replace(r.panels[0], induction=0.5),) + r.panels[1:])
    assert build_steering_figures(built["spec"], dataclasses.replace(record, per_model=(moved,))) != \
        {f"dose_response_{BASE}.png": built["figures"][f"dose_response_{BASE}.png"]}
    with pytest.raises(EmovecInputError, match="analysis 'dose_response' was not read"):
        all_figure_jobs(dataclasses.replace(blind, analyses={}))


@pytest.mark.parametrize("raw_edit, pattern", [
    (lambda r: r.update(classifier=r.pop("classifiers")[0]), r"key 'classifier' is the old single-classifier form"),
    (lambda r: r.pop("classifiers"), r"missing key 'classifiers'"),
    (lambda r: r.update(classifiers=[]), r"classifiers must be a non-empty list"),
    (lambda r: r.update(classifiers=[r["classifiers"][0]] * 2), r"lists a classifier twice"),
    (lambda r: r.update(classifiers=[{"name": "telepathy", "display_name": "x"}]),
     r"classifiers\[0\]\.name: unknown .*'telepathy'.*nrc_lexicon"),
])
def test_classifier_spec_errors(raw_edit, pattern: str):
    raw = json.loads(json.dumps(RAW_SPEC))
    raw_edit(raw)
    with pytest.raises(EmovecInputError, match=pattern):
        load_steering_spec(raw, DIGITS, "paper.yaml: steering")


def _edit_classify(inp: dict[str, Path], edit) -> Path:
    path = inp["classify"] / f"{INST}.csv"
    df = pd.read_csv(path)
    edited = edit(df)  # edits in place (None) or returns the edited frame
    (df if edited is None else edited).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("edit, pattern", [
    (lambda df: df.drop(df.index[df["classifier"] == "vader"]),
     r"holds \['toy_lexicon'\] but the paper config lists \['toy_lexicon', 'vader'\] \(no rows for \['vader'\]"),
    (lambda df: df.loc.__setitem__((df.index[-1], "classifier"), "nrc_lexicon"), r"rows of unlisted \['nrc_lexicon'\]"),
    (lambda df: df.loc.__setitem__((20, "display_name"), "VADER 3.3.1 (compound valence)"),
     r"column 'display_name' row 20 is 'VADER 3\.3\.1 \(compound valence\)'.*stale output"),
    (lambda df: df.loc.__setitem__((20, "target_label"), "joy"),
     r"column 'target_label' row 20: 'joy' is not a label of classifier 'vader'"),
    (lambda df: df.loc.__setitem__((20, "p_target"), 0.123), r"column 'p_target' row 20 \(0\.123\) differs"),
    (lambda df: df.loc.__setitem__((20, "scores"), '{"valence_positive": 1.5, "valence_negative": -1.5}'),
     r"row 20 \(classifier 'vader'\): column 'scores': 'valence_positive' = 1\.5 lies outside .*\[-1, 1\]"),
    (lambda df: df.loc.__setitem__((3, "scores"), '{"joy": 0.5}'),
     r"row 3 \(classifier 'toy_lexicon'\): column 'scores' has labels \['joy'\]"),
    (lambda df: df.loc.__setitem__((3, "scores"), "not json"), r"row 3 .*is not a JSON object"),
    (lambda df: df.loc.__setitem__((19, "id"), df.at[18, "id"]), r"row 19: id .* appears twice for classifier 'vader'"),
    (lambda df: df.loc.__setitem__((19, "n_hits"), -1), r"column 'n_hits' row 19 must be a count"),
])
def test_bad_classify_csv_is_named(tmp_path, edit, pattern: str):
    inp = write_steering_outputs(tmp_path / "in")
    path = _edit_classify(inp, edit)
    with pytest.raises(EmovecInputError, match=pattern) as err:
        load_steering_outputs(inp)
    assert str(path) in str(err.value)


def test_norm_scale_table_states_what_each_strength_adds_under_each_reference():
    from emovec.analysis.regime_records import NormScale, RegimeCheck, RegimeStats
    from emovec.report.table_defs.steering_norm_scale import steering_norm_scale_table

    def ns(run: str, layer: int, ratio: float, ref: str) -> NormScale:
        return NormScale(model=INST, run=run, norm_reference=ref, layer=layer, reference_norm=ratio,
                         typical_norm=1.0, first_token_norm=9.0, ratio_mean=ratio, ratio_min=ratio, ratio_max=ratio)

    def regime(d2: float, label: str) -> RegimeStats:
        return RegimeStats(model=INST, ppl_low=2.0, ppl_high=3.0, ratio=1.5, random_ratio=1.0, distinct2_high=d2,
                           repeat_high=2.0, n_low=2, n_high=2, regime=label, distinct2_unsteered=0.9,
                           distinct2_random_high=0.8, unsteered_collapsed=False)

    rc = RegimeCheck(models=(INST,), check_label="median token norm", low_strength=0.005, high_strength=0.05,
                     main=(regime(0.25, "repetitive collapse"),), check=(regime(0.75, "surgical"),), scenarios=(),
                     norms=(ns("main", 0, 4.0, "prompt_mean_norm"), ns("main", 1, 12.0, "prompt_mean_norm"),
                            ns("main", 2, 20.0, "prompt_mean_norm"), ns("check", 0, 1.0, "prompt_median_norm"),
                            ns("check", 1, 1.0, "prompt_median_norm"), ns("check", 2, 1.0, "prompt_median_norm")))
    tex = steering_norm_scale_table(rc, 3)
    # main: median ratio 12 over [4, 20]; 0.005 x 12 = 0.06 and 0.05 x 12 = 0.6 typical-token norms
    assert ("toy-instruct & Jeong & prompt\\_mean\\_norm & 12.0 [4.0, 20.0] & 0.060 & 0.600 & 0.250 & "
            "repetitive collapse \\\\") in tex
    assert ("toy-instruct & median token norm & prompt\\_median\\_norm & 1.0 [1.0, 1.0] & 0.005 & 0.050 & 0.750 & "
            "surgical \\\\") in tex
    assert "The check (median token norm) steers the same models" in tex
    plain = steering_norm_scale_table(dataclasses.replace(rc, check=(), check_label=""), 3)
    assert "& median token norm &" not in plain and "The run has no steering check." in plain


@pytest.mark.parametrize("edit, pattern", [
    (lambda rows: rows[:-1], r"norms\.csv: layers \[0, 1, 2\] are not the steered layers \[0, 1, 2, 3\]"),
    (lambda rows: [{**r, "model": "other"} if r["layer"] == 2 else r for r in rows],
     r"norms\.csv: column 'model' row 2: 'other', expected 'toy-instruct'"),
    (lambda rows: [{**r, "norm_reference": "prompt_median_norm"} for r in rows],
     r"norms\.csv: column 'norm_reference' row 0: 'prompt_median_norm', expected 'prompt_mean_norm'"),
])
def test_bad_norms_csv_is_named(tmp_path, edit, pattern: str):
    inp = write_steering_outputs(tmp_path / "in")
    rows = [norms_row(INST, layer) for layer in range(4)]
    write_csv(inp["steering"] / INST / "norms.csv", STEERING_NORMS, edit(rows))
    with pytest.raises(EmovecInputError, match=pattern):
        load_steering_outputs(inp)
    (inp["steering"] / INST / "norms.csv").unlink()
    with pytest.raises(EmovecInputError, match=r"missing steering output file\(s\) for listed models: .*norms\.csv"):
        load_steering_outputs(inp)
