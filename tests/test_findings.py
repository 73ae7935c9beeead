"""emovec.paper.findings and finding_statistics: the decision rules on known CIs, the ledger
refusing bad entries by name, "not applicable" with its reason, and statistics that equal the
tracked numbers they are read from."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from emovec.errors import EmovecInputError
from emovec.paper.finding_statistics import (FINDING_STATISTICS, Estimate, FindingsContext, Outcome, Subject,
                                             register_statistic)
from emovec.paper.findings import Finding, evaluate_findings, load_findings, verdict
from test_paper import _cells, _run_analyses, _write_inputs

LEDGER = Path(__file__).resolve().parents[1] / "paper" / "findings.yaml"


def _est(lo: float, hi: float) -> Estimate:
    return Estimate(value=(lo + hi) / 2, ci_low=lo, ci_high=hi, n=20, unit_of_analysis="emotions", ci_method="test")


def _finding(**kw) -> Finding:
    base = dict(id="f", paper="p", section="s", claim="c", statistic="gen_minus_comp", rule="ci_side", side="greater")
    return Finding(**{**base, **kw})


@pytest.mark.parametrize("side,threshold,lo,hi,expected", [
    ("greater", 0.0, 0.1, 0.5, "supported"), ("greater", 0.0, -0.5, -0.1, "contradicted"),
    ("greater", 0.0, -0.1, 0.5, "inconclusive"), ("greater", 0.0, 0.0, 0.5, "inconclusive"),
    ("less", 0.0, -0.5, -0.1, "supported"), ("less", 0.0, 0.1, 0.5, "contradicted"),
    ("greater", 0.92, 0.93, 0.99, "supported"), ("greater", 0.92, 0.5, 0.95, "inconclusive"),
    ("greater", 0.0, math.nan, 0.5, "inconclusive"),
])
def test_ci_side_rule(side, threshold, lo, hi, expected):
    assert verdict(_finding(side=side, threshold=threshold), _est(lo, hi)) == expected


@pytest.mark.parametrize("lo,hi,expected", [(0.7, 0.8, "consistent"), (0.5, 0.76, "consistent"),
                                            (0.2, 0.75, "differs"), (0.84, 0.9, "differs")])
def test_ci_overlaps_rule(lo, hi, expected):
    f = _finding(rule="ci_overlaps", side=None, reported=(0.76, 0.83))
    assert verdict(f, _est(lo, hi)) == expected


GOOD = {"id": "x", "source": {"paper": "p", "section": "s"}, "claim": "c", "statistic": "gen_minus_comp",
        "rule": "ci_side", "side": "less"}


@pytest.mark.parametrize("edit,fragment", [
    ({"statistic": "gen_minus_compp"}, "finding 'x': statistic 'gen_minus_compp' is not registered; known: ["),
    ({"side": None}, "finding 'x': rule ci_side needs side: greater or less"),
    ({"side": "higher"}, "finding 'x': rule ci_side needs side: greater or less (got 'higher')"),
    ({"rule": "p_below"}, "finding 'x': rule 'p_below' is not one of ['ci_side', 'ci_overlaps', 'ci_excludes', "
                          "'ci_within']"),
    ({"rule": "ci_overlaps", "side": None, "reported": [0.9, 0.1]},
     "finding 'x': rule ci_overlaps needs reported: [low, high]"),
    ({"rule": "ci_overlaps", "reported": [0.1, 0.9]}, "finding 'x': rule ci_overlaps does not take ['side']"),
    ({"rule": "ci_excludes", "side": None}, "finding 'x': rule ci_excludes needs threshold"),
    ({"rule": "ci_excludes", "threshold": 0}, "finding 'x': rule ci_excludes does not take ['side'] (it takes "
                                              "['threshold'])"),
    ({"threshold": "zero"}, "finding 'x': threshold must be a number (got 'zero')"),
    ({"rule": "ci_within", "side": None}, "finding 'x': rule ci_within needs margin: [low, high] with low < high "
                                          "(got None)"),
    ({"rule": "ci_within", "side": None, "margin": [0.2, -0.2]}, "finding 'x': rule ci_within needs margin"),
    ({"rule": "ci_within", "side": None, "margin": [0.1, 0.1]}, "finding 'x': rule ci_within needs margin"),
    ({"rule": "ci_within", "side": None, "margin": [-0.1, "a"]}, "finding 'x': rule ci_within needs margin"),
    ({"rule": "ci_within", "side": None, "margin": [-0.1, 0.1], "threshold": 0},
     "finding 'x': rule ci_within does not take ['threshold'] (it takes ['margin'])"),
    ({"margin": [-0.1, 0.1]}, "finding 'x': rule ci_side does not take ['margin']"),
    ({"units": "x"}, "finding 'x': unknown key(s) ['units']"),
    ({"claim": None}, "missing key(s) ['claim']"),
    ({"applies": {"variant": "instruct"}}, "finding 'x': applies may hold variant and kind, and needs a why"),
    ({"source": {"paper": "p"}}, "finding 'x': source needs paper and section"),
])
def test_a_bad_entry_is_refused_naming_it(tmp_path: Path, edit: dict, fragment: str):
    entry = {k: v for k, v in {**GOOD, **edit}.items() if v is not None}
    path = tmp_path / "findings.yaml"
    path.write_text(yaml.safe_dump({"findings": [GOOD | {"id": "ok"}, entry]}))
    with pytest.raises(EmovecInputError) as err:
        load_findings(path)
    assert fragment in str(err.value) and str(path) in str(err.value)


def test_duplicate_ids_are_refused(tmp_path: Path):
    path = tmp_path / "findings.yaml"
    path.write_text(yaml.safe_dump({"findings": [GOOD, GOOD]}))
    with pytest.raises(EmovecInputError, match=r"duplicate finding id\(s\) \['x'\]"):
        load_findings(path)


def test_the_tracked_ledger_loads_and_names_registered_statistics():
    findings = load_findings(LEDGER)
    assert len(findings) == 17
    by_id = {f.id: f for f in findings}
    assert by_id["vanderben.valence_independent_of_corpus"].margin == (-0.24, 0.24)
    assert by_id["vanderben.arousal_depends_on_corpus"].rule == "ci_excludes"
    assert by_id["vanderben.valence_peak_depth_differs_between_models"].threshold == 0.0
    assert {f.statistic for f in findings} <= set(FINDING_STATISTICS)
    assert {f.paper for f in findings} == {"jeong2026", "vanderben2026", "jeong2026b"}


def test_not_applicable_subjects_say_why_and_a_claim_without_subjects_gets_one_row():
    a = Subject("a", ("a",), ("f",), ("base",))
    b = Subject("b", ("b",), ("f",), ("instruct",))

    @register_statistic("test_only_planted")
    def planted(ctx, args):
        return [Outcome(a, _est(0.1, 0.2)), Outcome(b, _est(-0.3, 0.2)), Outcome(Subject("c", ("c",), ("g",), ("base",)),
                                                                               not_applicable="no vectors")]

    @register_statistic("test_only_empty")
    def empty(ctx, args):
        return []

    try:
        fs = [_finding(statistic="test_only_planted", applies={"variant": "instruct"}, why="instruct only"),
              _finding(id="g", statistic="test_only_planted"), _finding(id="h", statistic="test_only_empty")]
        ctx = FindingsContext({}, Path("."), Path("."), Path("."))
        rows = [(r.finding.id, r.subject, r.verdict, r.reason) for r in evaluate_findings(fs, ctx)]
        assert rows == [
            ("f", "a", "not applicable", "instruct only"), ("f", "b", "inconclusive", ""),
            ("f", "c", "not applicable", "no vectors"),
            ("g", "a", "supported", ""), ("g", "b", "inconclusive", ""), ("g", "c", "not applicable", "no vectors"),
            ("h", "(run)", "not applicable", "no subject in this run: the run has no subject this statistic applies to"),
        ]
    finally:
        FINDING_STATISTICS.unregister("test_only_planted")
        FINDING_STATISTICS.unregister("test_only_empty")


@pytest.fixture(scope="module")
def separation_run(tmp_path_factory) -> FindingsContext:
    inp = _run_analyses(_write_inputs(tmp_path_factory.mktemp("findings")))
    config = yaml.safe_load(inp["config"].read_text())
    return FindingsContext(config, inp["separation"], inp["analyses"], Path("/nonexistent"))


def test_gen_minus_comp_is_the_analysis_number_and_the_null_shift_is_exact(separation_run: FindingsContext):
    node = json.loads((separation_run.analyses_dir / "gen_vs_comp.json").read_text())["result"]
    comps = {c["model"]: c for c in node["comparisons"]}
    raw = FINDING_STATISTICS["gen_minus_comp"](separation_run, {})
    assert [o.subject.label for o in raw] == list(dict.fromkeys(c["model"] for c in _cells()))
    for o in raw:
        c = comps[o.subject.label]
        assert (o.estimate.value, o.estimate.ci_low, o.estimate.ci_high) == (c["diff"], *c["diff_ci"])
        assert o.estimate.n == 20
    import pandas as pd

    def null_mean(model: str, corpus: str) -> float:
        layer = next(c["layer"] for c in _cells() if c["model"] == model)
        df = pd.read_csv(separation_run.separation_dir / f"{model}__{corpus}.csv")
        return float(df.set_index("layer").loc[layer, "null_mean"])

    referenced = FINDING_STATISTICS["gen_minus_comp"](separation_run, {"null_referenced": True})
    for o, r in zip(raw, referenced):
        m = o.subject.label
        shift = null_mean(m, "toy-comprehension") - null_mean(m, "toy-generation")
        assert r.estimate.value - o.estimate.value == pytest.approx(shift, abs=1e-12)
        assert r.estimate.ci_low - o.estimate.ci_low == pytest.approx(shift, abs=1e-12)
        assert "null means gen" in r.estimate.detail


def test_cosine_minus_anisotropy_reads_the_reported_row(separation_run: FindingsContext):
    import pandas as pd

    outs = FINDING_STATISTICS["cosine_minus_anisotropy"](separation_run, {})
    assert len(outs) == len(_cells())
    for o, c in zip(outs, _cells()):
        row = pd.read_csv(separation_run.separation_dir / f"{c['cell']}.csv").set_index("layer").loc[c["layer"]]
        assert o.subject.label == f"{c['model']} / {c['corpus']}"
        assert o.estimate.value == pytest.approx(row["mean_cosine"] - row["anisotropy"], abs=1e-12)
        assert o.estimate.ci_low <= o.estimate.ci_high


def test_rsa_without_a_base_instruct_pair_names_the_selection():
    ctx = FindingsContext({"cells": [{"model": "a", "family": "f", "variant": "base", "corpus": "c", "method": "x"},
                                     {"model": "b", "family": "g", "variant": "instruct", "corpus": "c", "method": "x"}]},
                          Path("."), Path("."), Path("."), rsa_rows=())
    (o,) = FINDING_STATISTICS["rsa_rho"](ctx, {"kind": "base_instruct"})
    assert o.estimate is None and o.not_applicable == (
        "needs a base and an instruct model of one family; the selection has a (f base), b (g instruct)")


def test_the_table_and_the_forest_show_every_row():
    from emovec.paper.findings_render import findings_forest_png, findings_table

    f, g = _finding(id="claim_a"), _finding(id="claim_b", rule="ci_overlaps", side=None, reported=(0.2, 0.4))
    rows = [_row(f, "m1", _est(0.1, 0.3)), _row(f, "m2", None, "no vectors"),
            _row(g, "m1 x m2", _est(-0.5, 0.1))]
    tex = findings_table(rows)
    assert tex.count("\\textbf{claim\\_a}") == 1 and tex.count("\\textbf{claim\\_b}") == 1
    assert "m1 & +0.200 [+0.100, +0.300] & 20 emotions & test & supported \\\\" in tex
    assert "m2 & --- & --- &  & not applicable: no vectors \\\\" in tex
    assert "m1 x m2 & -0.200 [-0.500, +0.100] & 20 emotions & test & differs \\\\" in tex
    assert "supported if the CI lies wholly above 0" in tex and "consistent if the CI overlaps the reported [0.2, 0.4]" in tex
    png = findings_forest_png(rows)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png == findings_forest_png(rows)


def _row(f: Finding, subject: str, est: Estimate | None, reason: str = ""):
    from emovec.paper.findings import FindingRow

    return FindingRow(f, subject, "not applicable" if est is None else verdict(f, est), est, reason)


def test_the_rsa_table_lists_every_row_and_the_heatmap_is_deterministic():
    import numpy as np

    from emovec.paper.findings_render import rsa_heatmap_png, rsa_table

    row = {"corpus": "c", "model_a": "a", "model_b": "b", "kind": "cross_model", "depth": "reported", "layer_a": 3,
           "layer_b": 5, "rho": 0.5, "ci_low": 0.25, "ci_high": 0.75, "p_mantel": 0.0001, "n_perm": 9999,
           "n_boot": 2000, "level": 0.95}
    tex = rsa_table([row, {**row, "depth": "0.5", "layer_a": 2, "rho": -0.1, "ci_low": -0.3, "ci_high": 0.2,
                           "p_mantel": 0.7}])
    assert "c & a x b & cross model & reported & 3/5 & +0.500 & [+0.250, +0.750] & $<$0.001 \\\\" in tex
    assert "c & a x b & cross model & 0.50 & 2/5 & -0.100 & [-0.300, +0.200] & 0.700 \\\\" in tex
    assert "95\\% CI" in tex and "9999 relabellings" in tex and "2000 resamples" in tex
    assert "No corpus is read by two selected models." in rsa_table([])
    m = np.corrcoef(np.random.default_rng(0).normal(size=(5, 8)))
    mats = {"a__c": (m, tuple("vwxyz")), "b__c": (m[::-1, ::-1], tuple("zyxwv"))}
    png = rsa_heatmap_png(mats)
    assert png.startswith(b"\x89PNG") and png == rsa_heatmap_png(mats)


def test_steering_minus_random_is_the_signed_mean_over_scenarios(tmp_path: Path):
    import numpy as np

    from emovec.paper.analyses import write_analyses
    from emovec.paper.results.steering_records import DeltasTable, ModelDeltas, ScenarioDelta, ScenarioInfo

    def delta(name: str, direction: int, emo: float, rnd: float) -> ScenarioDelta:
        return ScenarioDelta(scenario=name, emotion="e", direction=direction, protocol=0.5, emotion_delta=emo,
                             random_delta=rnd, n_emotion=1, n_random=2, n_missing=0)

    # toward the target: +3, +2 (a scenario that steers away, direction -1, moved -2 vs 0), +1; NaN row skipped
    rows = (delta("a", 1, 4.0, 1.0), delta("b", -1, -2.0, 0.0), delta("c", 1, 1.5, 0.5), delta("d", 1, math.nan, 0.0))
    table = DeltasTable(models=("m",), scenarios=tuple(ScenarioInfo(r.scenario, i, "e", r.direction)
                                                       for i, r in enumerate(rows)),
                        per_model=(ModelDeltas(model="m", rows=rows), ModelDeltas(model="lone", rows=rows[:1])))
    write_analyses({"protocol_deltas": table}, tmp_path / "analyses")
    cfg = {"steering": {"models": [{"model": "m", "family": "f", "variant": "instruct"},
                                   {"model": "lone", "family": "g", "variant": "base"}]}}
    ctx = FindingsContext(cfg, tmp_path, tmp_path / "analyses", tmp_path)
    m, lone = FINDING_STATISTICS["steering_minus_random"](ctx, {"n_boot": 500, "seed": 1})
    assert m.estimate.value == 2.0 and m.estimate.n == 3
    d = np.array([3.0, 2.0, 1.0])
    boot = d[np.random.default_rng(1).integers(0, 3, size=(500, 3))].mean(axis=1)
    assert (m.estimate.ci_low, m.estimate.ci_high) == tuple(np.quantile(boot, [0.025, 0.975]))
    assert lone.estimate is None and lone.not_applicable == "1 scenario(s) with both deltas; need 2 or more"


def test_the_u_curve_statistics_read_the_per_layer_bootstrap(tmp_path: Path):
    """A planted U-curve: every emotion (not neutral) shares one direction, weak at the middle
    layer and strong at the ends, so the emotion vectors are alike except in the middle. The
    records are written the way the separation stage writes them."""
    import dataclasses

    import numpy as np

    from emovec.artefacts import SEPARATION_LAYERS, write_csv
    from emovec.emotions import JEONG_20
    from emovec.geometry.resampling import resample_cell
    from emovec.geometry.separation import separation_by_layer

    rng = np.random.default_rng(0)
    n_layers, d, n_per = 5, 24, 4
    weight = np.array([4.0, 3.0, 0.2, 3.0, 4.0])  # the emotions' shared direction, per layer
    common = rng.normal(size=(n_layers, d))
    labels = np.array([e for e in JEONG_20 for _ in range(n_per)] + ["neutral"] * 4)
    centres = {e: rng.normal(size=(n_layers, d)) for e in (*JEONG_20, "neutral")}
    acts = np.stack([centres[lab] + (lab != "neutral") * weight[:, None] * common + 0.3 * rng.normal(size=(n_layers, d))
                     for lab in labels])
    rows = separation_by_layer(acts, labels, JEONG_20, "neutral_mean", True, 19, 0).to_rows()
    cell = {"cell": "m__c", "model": "m", "corpus": "c", "family": "f", "variant": "base", "n_layers": n_layers,
            "layer": 2}
    write_csv(tmp_path / "m__c.csv", SEPARATION_LAYERS,
              [r | {"n_stimuli": len(labels), "min_n_per_emotion": n_per, "n_neutral": 4, "pooling": "last_token",
                    "is_reported_layer": r["layer"] == 2} for r in rows])
    rec = resample_cell(acts, labels, JEONG_20, 2, "neutral_mean", 200, 0)
    (tmp_path / "m__c.resampling.json").write_text(json.dumps(dataclasses.asdict(rec) | {"pooling": "last_token"}))
    ctx = FindingsContext({"cells": [cell]}, tmp_path, tmp_path, tmp_path)
    (q,) = FINDING_STATISTICS["middle_minus_depth"](ctx, {"depth": 0.25})
    (end,) = FINDING_STATISTICS["middle_minus_depth"](ctx, {"depth": 1.0})
    cos = {r["layer"]: r["mean_cosine"] for r in rows}
    assert q.estimate.value == pytest.approx(cos[2] - cos[1], abs=1e-6)  # the CSV holds 6 significant digits
    assert end.estimate.value == pytest.approx(cos[2] - cos[4], abs=1e-6)
    assert q.estimate.ci_high < 0 and end.estimate.ci_high < 0  # the planted middle separates better
    (best,) = FINDING_STATISTICS["best_layer_depth"](ctx, {})
    assert best.estimate.value == 0.5 and best.estimate.ci_low == best.estimate.ci_high == 0.5
    # an older record without the per-layer bootstrap: not applicable, saying why
    node = json.loads((tmp_path / "m__c.resampling.json").read_text())
    del node["bootstrap_by_layer"]
    (tmp_path / "m__c.resampling.json").write_text(json.dumps(node))
    (old,) = FINDING_STATISTICS["best_layer_depth"](ctx, {})
    assert old.estimate is None and "no per-layer bootstrap" in old.not_applicable
