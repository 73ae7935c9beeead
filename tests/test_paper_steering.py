"""Steering tables and figures are built only from validated pipeline outputs, with hand-checked numbers.

The synthetic inputs are two partner models (base/instruct) x two scenarios (direction +1 and -1),
strengths 0.005 and 0.05 (0.05 is also the protocol strength, so those rows are is_protocol),
two random directions and one sample. Every probability and delta is a dyadic fraction, so the
hand-computed means below are exact in floating point.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from emovec.errors import EmovecInputError
from emovec.paper.steering import (
    CLASSIFIER_LABELS,
    MEASURES_COLUMNS,
    STEERING_TABLE_FILES,
    RegimeSpec,
    agreement_counts,
    build_steering_tables,
    classify_regime,
    latex_token,
    load_steering,
    load_steering_spec,
    token_weighted_ppl,
)
from emovec.paper.steering_figures import build_steering_figures

DIGITS = 3
BASE, INST = "toy-base", "toy-instruct"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# name -> (scenario_index, emotion, direction, classifier target label)
SCENARIOS = {"up": (0, "happy", 1, "joy"), "down": (1, "sad", -1, "sadness")}
LOW, HIGH = 0.005, 0.05
RAW_SPEC = {
    "models": [{"model": BASE, "variant": "base", "family": "toy", "partner": INST},
               {"model": INST, "variant": "instruct", "family": "toy", "partner": BASE}],
    "classifier": {"name": "toy_lexicon", "display_name": "toy lexicon classifier (offline fallback, not j-hartmann)"},
    "regimes": {"low_strength": LOW, "high_strength": HIGH, "explosive_min_ratio": 5.0,
                "collapse_max_distinct2": 0.5, "collapse_min_repeat": 8},
    "ci_level": 0.95,
}
U = 0.25  # p_target of every unsteered generation

# p_target per (model, scenario): condition/magnitude -> value (random: one per direction).
P = {
    (BASE, "up"): {"induction": 0.5, "emo_high": 0.75, "emo_low": 0.3125, "rnd_high": (0.375, 0.125)},
    (BASE, "down"): {"induction": 0.125, "emo_high": 0.125, "emo_low": 0.25, "rnd_high": (0.125, 0.25)},
    (INST, "up"): {"induction": 0.375, "emo_high": 0.875, "emo_low": 0.25, "rnd_high": (0.125, 0.125)},
    (INST, "down"): {"induction": 0.5, "emo_high": 0.375, "emo_low": 0.1875, "rnd_high": (0.25, 0.25)},
}
# delta (target projection, steered - unsteered) at the protocol strength 0.05.
DELTA = {
    (BASE, "up"): {"emo_high": 1.5, "rnd_high": (0.25, -0.0625), "emo_low": 0.5, "induction": 0.75},
    (BASE, "down"): {"emo_high": -0.5, "rnd_high": (0.125, 0.0), "emo_low": -0.125, "induction": -0.25},
    (INST, "up"): {"emo_high": 3.0, "rnd_high": (0.5, 0.25), "emo_low": 1.0, "induction": 0.5},
    (INST, "down"): {"emo_high": -0.25, "rnd_high": (-0.125, 0.0), "emo_low": -0.0625, "induction": None},
}
# (n_gen_tokens, nll_sum) of the emotion rows; every other row has (10, 15.0).
TOKENS = {
    (BASE, "up"): {"emo_low": (10, 20.0), "emo_high": (20, 60.0)},
    (BASE, "down"): {"emo_low": (30, 40.0), "emo_high": (20, 100.0)},
    (INST, "up"): {"emo_low": (10, 10.0), "emo_high": (10, 12.0)},
    (INST, "down"): {"emo_low": (10, 10.0), "emo_high": (10, 12.0)},
}
DISTINCT2_HIGH = {(BASE, "up"): 0.75, (BASE, "down"): 0.625, (INST, "up"): 0.875, (INST, "down"): 0.75}
REPEAT_HIGH = {(BASE, "up"): 3, (BASE, "down"): 5, (INST, "up"): 2, (INST, "down"): 2}
# leaked tokens: (model, scenario, condition key, random index) -> tokens
LEAKS = {(BASE, "up", "emo_high", None): ["快", "乐", "快"], (BASE, "down", "emo_high", None): ["é"],
         (INST, "up", "rnd_high", 0): ["xЖ"]}


def _row(model: str, scenario: str, condition: str, magnitude: float, key: str | None, r: int | None) -> dict:
    index, emotion, direction, _ = SCENARIOS[scenario]
    strength = direction * magnitude if condition in ("emotion", "random") else 0.0
    p = U if key is None else P[(model, scenario)][key]
    delta = 0.0 if key is None else DELTA[(model, scenario)].get(key, 0.0)
    if r is not None:
        p = p[r] if isinstance(p, tuple) else p
        delta = delta[r] if isinstance(delta, tuple) else delta
    n_tok, nll = TOKENS[(model, scenario)].get(key, (10, 15.0)) if key else (10, 15.0)
    empty = condition == "induction" and delta is None
    if empty:
        n_tok, nll = 0, 0.0
    leaked = LEAKS.get((model, scenario, key, r), [])
    n_script = 0 if empty else 100
    cjk = sum(1 for t in leaked for ch in t if 0x4E00 <= ord(ch) <= 0x9FFF)
    high = key == "emo_high"
    rid = f"{model}:{scenario}:{condition}:{magnitude:g}:{'' if r is None else r}:0"
    return {
        "id": rid, "model": model, "scenario": scenario, "scenario_index": index, "emotion": emotion,
        "direction": direction, "condition": condition, "strength": strength, "magnitude": abs(strength),
        "is_protocol": condition in ("emotion", "random") and magnitude == HIGH, "random_index": r, "sample": 0,
        "n_prompt_tokens": 12, "n_gen_tokens": n_tok, "nll_sum": nll,
        "ppl": None if empty else math.exp(nll / n_tok), "distinct_1": None if empty else 0.8,
        "distinct_2": None if empty else (DISTINCT2_HIGH[(model, scenario)] if high else 0.9),
        "longest_repeat": REPEAT_HIGH[(model, scenario)] if high else 1, "n_script_chars": n_script,
        "n_foreign_chars": len(leaked), "leak_share": None if empty else len(leaked) / n_script,
        "cjk_share": None if empty else cjk / n_script, "leaked_tokens": json.dumps(leaked, ensure_ascii=False),
        "projection": None if empty else 2.0 + delta, "projection_text": None if empty else 1.0 + delta,
        "delta": None if empty else delta, "delta_text": None if empty else delta / 2,
        "_p": p,
    }


def _rows(model: str) -> list[dict]:
    out = []
    for scenario in SCENARIOS:
        out.append(_row(model, scenario, "unsteered", 0.0, None, None))
        out.append(_row(model, scenario, "induction", 0.0, "induction", None))
        out.append(_row(model, scenario, "emotion", LOW, "emo_low", None))
        out.append(_row(model, scenario, "emotion", HIGH, "emo_high", None))
        for r in (0, 1):
            out.append(_row(model, scenario, "random", LOW, "rnd_low", r))
            out.append(_row(model, scenario, "random", HIGH, "rnd_high", r))
    return out


def _fill_missing_keys() -> None:
    # Random rows at the low strength move nothing: p_target at the unsteered level, delta 0.
    for key in P:
        P[key].setdefault("rnd_low", (U, U))
        DELTA[key].setdefault("rnd_low", (0.0, 0.0))


_fill_missing_keys()


def _write_inputs(root: Path) -> dict[str, Path]:
    steer, classify = root / "steering", root / "classify"
    classify.mkdir(parents=True)
    for model in (BASE, INST):
        rows = _rows(model)
        d = steer / model
        d.mkdir(parents=True)
        df = pd.DataFrame(rows)
        df[list(MEASURES_COLUMNS)].to_csv(d / "measures.csv", index=False)
        summary = {
            "model": model,
            "scenarios": [{"name": n, "emotion": e, "prompt": f"A {n} prompt.", "strength": s * HIGH, "direction": s}
                          for n, (_, e, s, _) in SCENARIOS.items()],
            "strengths": [LOW, HIGH], "layers": [0, 1, 2, 3], "norm_reference": "prompt_mean_norm",
            "projection_layer": 2, "vectors_from": f"{model}__toy-generation", "n_random": 2, "n_samples": 1,
            "decoding": {"do_sample": False, "max_new_tokens": 48}, "scoring_model": "self",
            "n_rows": len(rows), "n_empty": int((df["n_gen_tokens"] == 0).sum()),
        }
        (d / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        cls = []
        for r in rows:
            label = SCENARIOS[r["scenario"]][3]
            rest = (1.0 - r["_p"]) / (len(CLASSIFIER_LABELS) - 1)
            probs = {f"p_{lab}": (r["_p"] if lab == label else rest) for lab in CLASSIFIER_LABELS}
            cls.append({"id": r["id"], "classifier": RAW_SPEC["classifier"]["display_name"], "target_label": label, **probs,
                        "p_target": r["_p"]})
        pd.DataFrame(cls).to_csv(classify / f"{model}.csv", index=False)
    return {"steering": steer, "classify": classify}


def _load(inp: dict[str, Path], raw: dict | None = None):
    spec = load_steering_spec(RAW_SPEC if raw is None else raw, DIGITS, "paper.yaml: steering")
    return spec, load_steering(spec, inp["steering"], inp["classify"])


SEPARATION = {(BASE, "generation"): 0.25, (INST, "generation"): 0.1875}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    inp = _write_inputs(tmp_path_factory.mktemp("steering") / "in")
    spec, data = _load(inp)
    return {"inp": inp, "spec": spec, "data": data, "tables": build_steering_tables(spec, data, SEPARATION),
            "figures": build_steering_figures(spec, data)}


def _row_of(text: str, start: str) -> list[str]:
    line = next(ln for ln in text.splitlines() if ln.startswith(start))
    return [c.strip() for c in line.removesuffix("\\\\").split(" & ")]


def _f(x: float) -> str:
    return f"{x:.{DIGITS}f}"


def _s(x: float) -> str:
    return f"{x:+.{DIGITS}f}"


# --------------------------------------------------------------------------------------------


def test_agreement_counts_and_clopper_pearson(built):
    df = pd.concat([d.measures for d in built["data"].values()], ignore_index=True)
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


def test_agreement_table_prints_counts_ci_and_dashes(built):
    text = built["tables"]["steering_agreement.tex"]
    lines = text.splitlines()
    start = lines.index(next(ln for ln in lines if "At every strength" in ln))
    prot, every = "\n".join(lines[:start]), "\n".join(lines[start:])
    assert _row_of(prot, "emotion vector &") == ["emotion vector", "3/4", "0.750", "[0.194, 0.994]", _s(0.28125)]
    ci = binomtest(1, 4).proportion_ci(confidence_level=0.95, method="exact")
    assert _row_of(prot, "random direction") == ["random direction (matched norm)", "1/4", "0.250",
                                                 f"[{_f(ci.low)}, {_f(ci.high)}]", _s(-0.015625)]
    ci = binomtest(5, 8).proportion_ci(confidence_level=0.95, method="exact")
    assert _row_of(every, "emotion vector &") == ["emotion vector", "5/8", "0.625", f"[{_f(ci.low)}, {_f(ci.high)}]",
                                                  _s((0.5 + 0.125 + 0.625 - 0.125 + 0.0625 + 0.0625) / 8)]
    assert _row_of(every, "prompt induction") == ["prompt induction (no steering)", "---", "---", "---", "---"]
    for phrase in ("toy lexicon classifier (offline fallback, not j-hartmann)", "Clopper--Pearson exact 95\\%",
                   "Unit of analysis", "$n$ = 4", "$n$ = 8", "no multiple-comparison correction"):
        assert phrase in text, phrase


def test_regimes_ppl_is_token_weighted_and_classified(built):
    text = built["tables"]["steering_regimes.tex"]
    base = _row_of(text, "toy-base &")
    # toy-base: low exp((20+40)/(10+30)) = e^1.5, high exp((60+100)/40) = e^4, random rows all 15/10.
    assert base == ["toy-base", "base", _f(math.exp(1.5)), _f(math.exp(4.0)), _f(math.exp(2.5)), _f(1.0),
                    _f((0.75 + 0.625) / 2), "4.0", "explosive"]
    inst = _row_of(text, "toy-instruct &")
    assert inst == ["toy-instruct", "instruct", _f(math.e), _f(math.exp(1.2)), _f(math.exp(0.2)), _f(1.0),
                    _f(0.8125), "2.0", "surgical"]
    for phrase in ("the unsteered model itself", "distinct-2 $\\le$ 0.5", "repeat $\\ge$ 8", "ratio $\\ge$ 5",
                   "Unit of analysis: generations", "No confidence"):
        assert phrase in text, phrase
    rows = pd.DataFrame({"n_gen_tokens": [10, 30, 0], "nll_sum": [20.0, 40.0, float("nan")]})
    assert token_weighted_ppl(rows) == math.exp(60.0 / 40.0)
    assert math.isnan(token_weighted_ppl(rows.iloc[2:]))


def test_classify_regime_rules_and_their_order():
    rg = RegimeSpec(low_strength=LOW, high_strength=HIGH, explosive_min_ratio=5.0, collapse_max_distinct2=0.5,
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
    spec, data = _load(built["inp"], raw)
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
    spec, data = _load(built["inp"])
    tables = build_steering_tables(spec, data, SEPARATION)
    assert list(tables) == list(STEERING_TABLE_FILES)
    assert {k: v.encode() for k, v in tables.items()} == {k: v.encode() for k, v in built["tables"].items()}
    for text in tables.values():
        _assert_balanced(text)
    figures = build_steering_figures(spec, data)
    assert list(figures) == [f"dose_response_{BASE}.png", f"dose_response_{INST}.png"]
    for name, png in figures.items():
        assert png.startswith(PNG_MAGIC) and len(png) > 1000, name
        assert png == built["figures"][name], name


def test_classifier_ids_must_match_measures(tmp_path):
    inp = _write_inputs(tmp_path / "in")
    path = inp["classify"] / f"{INST}.csv"
    df = pd.read_csv(path)
    df.loc[3, "id"] = "stale-id"
    df.to_csv(path, index=False)
    with pytest.raises(EmovecInputError) as err:
        _load(inp)
    msg = str(err.value)
    assert str(path) in msg and str(inp["steering"] / INST / "measures.csv") in msg and "stale-id" in msg


def test_missing_measures_column_names_file_and_column(tmp_path):
    inp = _write_inputs(tmp_path / "in")
    path = inp["steering"] / BASE / "measures.csv"
    pd.read_csv(path).drop(columns=["cjk_share"]).to_csv(path, index=False)
    with pytest.raises(EmovecInputError) as err:
        _load(inp)
    assert str(path) in str(err.value) and "cjk_share" in str(err.value)


def test_stale_summary_and_bad_rows_are_named(tmp_path):
    inp = _write_inputs(tmp_path / "in")
    spath = inp["steering"] / BASE / "summary.json"
    s = json.loads(spath.read_text())
    s["n_rows"] = 99
    spath.write_text(json.dumps(s))
    with pytest.raises(EmovecInputError, match=r"summary\.json: key 'n_rows' is 99 but .*has 16"):
        _load(inp)
    inp = _write_inputs(tmp_path / "in2")
    mpath = inp["steering"] / INST / "measures.csv"
    df = pd.read_csv(mpath)
    df.loc[5, "magnitude"] = 0.07
    df.to_csv(mpath, index=False)
    with pytest.raises(EmovecInputError) as err:
        _load(inp)
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
    assert spec.models == () and spec.classifier is None
    data = load_steering(spec, tmp_path / "nowhere", tmp_path / "nowhere")
    assert data == {} and build_steering_tables(spec, data, {}) == {} and build_steering_figures(spec, data) == {}
    assert load_steering_spec(None, DIGITS, "cfg").models == ()


def test_figure_values_are_direction_signed(built):
    from emovec.paper.steering_figures import _curves

    d = built["data"][BASE]
    curves = _curves(d, "p_target", [LOW, HIGH])
    # down (direction -1) is plotted as -p_target: -0.25 at 0.005 and -0.125 at 0.05.
    assert curves["scenarios"] == {"up": [0.3125, 0.75], "down": [-0.25, -0.125]}
    assert curves["mean"] == [(0.3125 - 0.25) / 2, (0.75 - 0.125) / 2]
    # Random at 0.05: direction 0 -> (0.375 - 0.125) / 2, direction 1 -> (0.125 - 0.25) / 2.
    assert curves["random_lo"][1] == -0.0625 and curves["random_hi"][1] == 0.125
    assert curves["random_mean"][1] == (0.125 - 0.0625) / 2
    assert curves["induction"] == (0.5 - 0.125) / 2 and curves["unsteered"] == 0.0
    assert np.isfinite(curves["mean"]).all()
