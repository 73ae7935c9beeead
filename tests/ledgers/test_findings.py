"""emovec.ledgers.findings and finding_statistics: the decision rules on known CIs, the ledger
refusing bad entries by name, "not applicable" with its reason, and statistics that equal the
tracked numbers they are read from."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from emovec.errors import EmovecInputError
from emovec.ledgers.finding_statistics import (
    FINDING_STATISTICS,
    Estimate,
    FindingsContext,
    Outcome,
    Subject,
    register_statistic,
)
from emovec.ledgers.findings import Finding, evaluate_findings, load_findings, verdict
from emovec.readers.paper_config import load_paper_config

from helpers import cell_entry, paper_config
from helpers.separation_outputs import run_analyses_stage, separation_cells, write_separation_outputs

LEDGER = Path(__file__).resolve().parents[2] / "paper" / "findings.yaml"


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
    ({"applies": {"variant": "instruct"}}, "finding 'x': applies may hold variant, kind, family, and needs a why"),
    ({"applies": {"family": "gemma3"}}, "finding 'x': applies may hold variant, kind, family, and needs a why"),
    ({"applies": {"size": "1b"}, "why": "w"}, "finding 'x': applies may hold variant, kind, family, and needs a why"),
    ({"applies": {"family": "gemma-3"}, "why": "w"}, "finding 'x': applies.family 'gemma-3' is not one of ['gemma3', "
                                                      "'smollm2']"),
    ({"applies": {"variant": "it"}, "why": "w"}, "finding 'x': applies.variant 'it' is not one of ['base', 'instruct']"),
    ({"source": {"paper": "p"}}, "finding 'x': source needs paper and section"),
])
def test_a_bad_entry_is_refused_naming_it(tmp_path: Path, edit: dict, fragment: str):
    entry = {k: v for k, v in {**GOOD, **edit}.items() if v is not None}
    path = tmp_path / "findings.yaml"
    path.write_text(yaml.safe_dump({"findings": [GOOD | {"id": "ok"}, entry]}))
    with pytest.raises(EmovecInputError) as err:
        load_findings(path, families=("smollm2", "gemma3"))
    assert fragment in str(err.value) and str(path) in str(err.value)


def test_the_family_names_are_the_model_configs_and_the_default_of_the_loader(tmp_path: Path):
    from emovec.ledgers.findings import known_families

    assert {"gemma3", "smollm2", "gemma2", "llama3.2", "mistral"} <= set(known_families())
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "a.yaml").write_text("family: fam_a\nvariant: base\n")
    (tmp_path / "model" / "b.yaml").write_text("family: fam_b\n")
    (tmp_path / "model" / "c.yaml").write_text("variant: base\n")
    assert known_families(tmp_path) == ("fam_a", "fam_b")
    path = tmp_path / "findings.yaml"
    path.write_text(yaml.safe_dump({"findings": [GOOD | {"applies": {"family": "toy"}, "why": "w"}]}))
    assert load_findings(path)[0].applies == {"family": "toy"}  # conf/model/toy-*.yaml name family toy


def test_duplicate_ids_are_refused(tmp_path: Path):
    path = tmp_path / "findings.yaml"
    path.write_text(yaml.safe_dump({"findings": [GOOD, GOOD]}))
    with pytest.raises(EmovecInputError, match=r"duplicate finding id\(s\) \['x'\]"):
        load_findings(path)


def test_the_tracked_ledger_loads_and_names_registered_statistics():
    findings = load_findings(LEDGER)
    # every entry names a registered statistic (load_findings refuses any other), ids are unique
    assert len({f.id for f in findings}) == len(findings) and {f.statistic for f in findings} <= set(FINDING_STATISTICS)
    by_id = {f.id: f for f in findings}
    assert by_id["jeong.opposite_pairs_not_negative"].statistic == "opposite_pair_cosine"
    assert by_id["jeong.gemma3_anisotropy_extreme"].applies == {"family": "gemma3"}
    assert by_id["jeong.gemma3_anisotropy_extreme"].threshold == 0.808
    assert by_id["jeong.gemma3_anisotropy_extreme.magnitude"].reported == (0.988, 0.988)
    assert by_id["jeong2026b.gemma3_base_anisotropy"].applies == {"family": "gemma3", "variant": "base"}
    assert by_id["jeong2026b.gemma3_base_anisotropy"].reported == (0.997, 0.997)
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
              _finding(id="g", statistic="test_only_planted"), _finding(id="h", statistic="test_only_empty"),
              _finding(id="k", statistic="test_only_planted", applies={"family": "g", "variant": "base"}, why="g base")]
        ctx = FindingsContext(paper_config(), Path("."), Path("."), Path("."))
        rows = [(r.finding.id, r.subject, r.verdict, r.reason) for r in evaluate_findings(fs, ctx)]
        assert rows == [
            ("f", "a", "not applicable", "instruct only (applies to variant instruct; this is base)"),
            ("f", "b", "inconclusive", ""),
            ("f", "c", "not applicable", "no vectors"),
            ("g", "a", "supported", ""), ("g", "b", "inconclusive", ""), ("g", "c", "not applicable", "no vectors"),
            ("h", "(run)", "not applicable", "no subject in this run: the run has no subject this statistic applies to"),
            ("k", "a", "not applicable", "g base (applies to family g; this is f)"),
            ("k", "b", "not applicable", "g base (applies to variant base, family g; this is instruct, f)"),
            ("k", "c", "not applicable", "no vectors"),
        ]
    finally:
        FINDING_STATISTICS.unregister("test_only_planted")
        FINDING_STATISTICS.unregister("test_only_empty")


@pytest.fixture(scope="module")
def separation_run(tmp_path_factory) -> FindingsContext:
    inp = run_analyses_stage(write_separation_outputs(tmp_path_factory.mktemp("findings")))
    return FindingsContext(load_paper_config(inp["config"]), inp["separation"], inp["analyses"], Path("/nonexistent"))


def test_gen_minus_comp_is_the_analysis_number_and_the_null_shift_is_exact(separation_run: FindingsContext):
    node = json.loads((separation_run.analyses_dir / "gen_vs_comp.json").read_text())["result"]
    comps = {c["model"]: c for c in node["comparisons"]}
    raw = FINDING_STATISTICS["gen_minus_comp"](separation_run, {})
    assert [o.subject.label for o in raw] == list(dict.fromkeys(c["model"] for c in separation_cells()))
    for o in raw:
        c = comps[o.subject.label]
        assert (o.estimate.value, o.estimate.ci_low, o.estimate.ci_high) == (c["diff"], *c["diff_ci"])
        assert o.estimate.n == 20
    import pandas as pd

    def null_mean(model: str, corpus: str) -> float:
        layer = next(c["layer"] for c in separation_cells() if c["model"] == model)
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
    assert len(outs) == len(separation_cells())
    for o, c in zip(outs, separation_cells()):
        row = pd.read_csv(separation_run.separation_dir / f"{c['cell']}.csv").set_index("layer").loc[c["layer"]]
        assert o.subject.label == f"{c['model']} / {c['corpus']}"
        assert o.estimate.value == pytest.approx(row["mean_cosine"] - row["anisotropy"], abs=1e-12)
        assert o.estimate.ci_low <= o.estimate.ci_high


def test_rsa_without_a_base_instruct_pair_names_the_selection():
    ctx = FindingsContext(paper_config([cell_entry("a", "c", n_layers=2, layer=1, family="f", variant="base"),
                                        cell_entry("b", "c", n_layers=2, layer=1, family="g", variant="instruct")]),
                          Path("."), Path("."), Path("."), rsa_rows=())
    (o,) = FINDING_STATISTICS["rsa_rho"](ctx, {"kind": "base_instruct"})
    assert o.estimate is None and o.not_applicable == (
        "needs a base and an instruct model of one family; the selection has a (f base), b (g instruct)")


def test_the_table_and_the_forest_show_every_row():
    from emovec.report.findings_render import findings_forest_png, findings_table

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


def test_the_forest_starts_right_under_its_title():
    import io

    import numpy as np
    from matplotlib.image import imread

    from emovec.report.figure_style import DPI
    from emovec.report.findings_render import findings_forest_png

    # 30 claims x 2 subjects: a forest about 20 inches tall
    rows = [_row(_finding(id=f"claim_{i:02d}"), s, _est(-0.5 + i / 30, 0.5)) for i in range(30) for s in ("m1", "m2")]
    img = imread(io.BytesIO(findings_forest_png(rows)))
    inked = np.flatnonzero((img[..., :3] < 0.98).any(axis=(1, 2)))
    gaps = np.diff(inked) - 1
    # the first blank band below the title's line: at most 0.3 inch (the default top margin, 12% of
    # the height, left about 2 inches here), and no band anywhere is wider
    title_gap = gaps[np.flatnonzero(gaps > 0)[0]]
    assert title_gap < 0.3 * DPI and gaps.max() < 0.3 * DPI, (title_gap, gaps.max())
    assert inked[0] < 0.2 * DPI and img.shape[0] - inked[-1] < 0.2 * DPI  # cropped to the ink


def _row(f: Finding, subject: str, est: Estimate | None, reason: str = ""):
    from emovec.ledgers.findings import FindingRow

    return FindingRow(f, subject, "not applicable" if est is None else verdict(f, est), est, reason)


def test_the_rsa_table_lists_every_row_and_the_heatmap_is_deterministic():
    import numpy as np

    from emovec.report.findings_render import rsa_heatmap_png, rsa_table

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

    from emovec.analysis.catalogue import write_analyses
    from emovec.analysis.steering_records import DeltasTable, ModelDeltas, ScenarioDelta, ScenarioInfo

    def delta(name: str, direction: int, emo: float, rnd: float) -> ScenarioDelta:
        return ScenarioDelta(scenario=name, emotion="e", direction=direction, protocol=0.5, emotion_delta=emo,
                             random_delta=rnd, n_emotion=1, n_random=2, n_missing=0)

    # toward the target: +3, +2 (a scenario that steers away, direction -1, moved -2 vs 0), +1; NaN row skipped
    rows = (delta("a", 1, 4.0, 1.0), delta("b", -1, -2.0, 0.0), delta("c", 1, 1.5, 0.5), delta("d", 1, math.nan, 0.0))
    table = DeltasTable(models=("m",), scenarios=tuple(ScenarioInfo(r.scenario, i, "e", r.direction)
                                                       for i, r in enumerate(rows)),
                        per_model=(ModelDeltas(model="m", rows=rows), ModelDeltas(model="lone", rows=rows[:1])))
    write_analyses({"protocol_deltas": table}, tmp_path / "analyses")
    cfg = paper_config(steering_models=[{"model": "m", "family": "f", "variant": "instruct"},
                                        {"model": "lone", "family": "g", "variant": "base"}])
    ctx = FindingsContext(cfg, tmp_path, tmp_path / "analyses", tmp_path)
    m, lone = FINDING_STATISTICS["steering_minus_random"](ctx, {"measure": "steered"})
    assert m.estimate.value == 2.0 and m.estimate.n == 3
    from scipy import stats

    d = np.array([3.0, 2.0, 1.0])  # the t interval over the 3 scenarios, scipy as the oracle
    assert (m.estimate.ci_low, m.estimate.ci_high) == pytest.approx(stats.t.interval(0.95, 2, 2.0, stats.sem(d)),
                                                                    abs=1e-12)
    # all 8 sign patterns: |mean| >= 2 only for +++ and ---, which is also the smallest attainable p
    assert m.estimate.ci_method == ("t interval over scenarios (df 2, 95%); exact sign-flip p 0.25 (two-sided; "
                                    "smallest attainable with n = 3: 0.25)")
    assert lone.estimate is None and lone.not_applicable == "1 scenario(s) with both deltas; need 2 or more"
    assert "inside the steered pass" in m.estimate.unit
    with pytest.raises(EmovecInputError, match=r"args.measure, one of \['steered', 'text'\]; got ''"):
        FINDING_STATISTICS["steering_minus_random"](ctx, {})


def test_text_and_induction_comparisons_read_their_own_columns(tmp_path: Path):
    from emovec.analysis.catalogue import write_analyses
    from emovec.analysis.steering_records import DeltasTable, ModelDeltas, ScenarioDelta, ScenarioInfo

    def delta(name: str, direction: int, emo: float, emo_text: float, rnd_text: float, ind: float,
              ind_text: float) -> ScenarioDelta:
        return ScenarioDelta(scenario=name, emotion="e", direction=direction, protocol=0.5, emotion_delta=emo,
                             random_delta=0.0, n_emotion=1, n_random=2, n_missing=0, emotion_delta_text=emo_text,
                             random_delta_text=rnd_text, induction_delta=ind, induction_delta_text=ind_text,
                             n_induction=1)

    rows = (delta("a", 1, 100.0, 1.0, 0.5, 2.0, 3.0), delta("b", -1, -100.0, -1.0, 0.0, -1.0, 0.5))
    table = DeltasTable(models=("m",), scenarios=tuple(ScenarioInfo(r.scenario, i, "e", r.direction)
                                                       for i, r in enumerate(rows)),
                        per_model=(ModelDeltas(model="m", rows=rows),))
    write_analyses({"protocol_deltas": table}, tmp_path / "analyses")
    ctx = FindingsContext(paper_config(steering_models=[{"model": "m", "family": "f", "variant": "instruct"}]),
                          tmp_path, tmp_path / "analyses", tmp_path)
    run = lambda name, measure: FINDING_STATISTICS[name](ctx, {"measure": measure})[0].estimate  # noqa: E731
    assert run("steering_minus_random", "text").value == (0.5 + 1.0) / 2  # +1 x (1 - 0.5), -1 x (-1 - 0)
    assert run("steering_minus_induction", "steered").value == (98.0 + 99.0) / 2
    ind_text = run("steering_minus_induction", "text")
    assert ind_text.value == (-2.0 + 1.5) / 2 and "unsteered model" in ind_text.unit


def _regime_ctx(tmp_path: Path, with_check: bool) -> FindingsContext:
    from emovec.analysis.catalogue import write_analyses
    from emovec.analysis.regime_records import NormScale, RegimeCheck, ScenarioRegime

    def sc(run: str, name: str, d2: float) -> ScenarioRegime:
        # controls of the same prompt: unsteered text at 0.45 (below the 0.5 threshold on its own), the random
        # direction 0.05 above the vector
        return ScenarioRegime(model="m", run=run, scenario=name, direction=1, distinct2_high=d2, repeat_high=3.0,
                              ppl_low=2.0, ppl_high=4.0, n_high=1, distinct2_unsteered=0.45,
                              distinct2_random_high=d2 + 0.05)

    def ns(run: str, layer: int, ratio: float) -> NormScale:
        return NormScale(model="m", run=run, norm_reference="r", layer=layer, reference_norm=ratio, typical_norm=1.0,
                         first_token_norm=10.0, ratio_mean=ratio, ratio_min=ratio, ratio_max=ratio)

    scen = [sc("main", "a", 0.1), sc("main", "b", 0.2), sc("main", "c", 0.3)]
    norms = [ns("main", 0, 10.0), ns("main", 1, 20.0), ns("main", 2, 40.0)]
    if with_check:
        scen += [sc("check", "a", 0.7), sc("check", "b", 0.6), sc("check", "c", 0.9)]
        norms += [ns("check", l, 1.0) for l in range(3)]
    rc = RegimeCheck(models=("m",), check_label="median token norm" if with_check else "", low_strength=0.005,
                     high_strength=0.05, main=(), check=() if not with_check else (), scenarios=tuple(scen),
                     norms=tuple(norms))
    from emovec.analysis.regime_records import RegimeStats, RegimeTable
    row = RegimeStats(model="m", ppl_low=2.0, ppl_high=4.0, ratio=2.0, random_ratio=1.0, distinct2_high=0.7,
                      repeat_high=3.0, n_low=3, n_high=3, regime="surgical", distinct2_unsteered=0.45,
                      distinct2_random_high=0.75, unsteered_collapsed=True)
    if with_check:  # a non-empty check: one placeholder regime row is enough for the statistics
        rc = dataclasses.replace(rc, check=(row,))
    table = RegimeTable(models=("m",), low_strength=0.005, high_strength=0.05, explosive_min_ratio=3.0,
                        collapse_max_distinct2=0.5, collapse_min_repeat=10.0, rows=(row,))
    write_analyses({"regime_check": rc, "regime_stats": table}, tmp_path / "analyses")
    return FindingsContext(paper_config(steering_models=[{"model": "m", "family": "f", "variant": "base"}]),
                           tmp_path, tmp_path / "analyses", tmp_path)


def test_regime_statistics_pair_the_runs_by_scenario(tmp_path: Path):
    import numpy as np

    ctx = _regime_ctx(tmp_path, with_check=True)
    from scipy import stats

    (main,) = FINDING_STATISTICS["distinct2_vs_control"](ctx, {"run": "main", "control": "unsteered"})
    d = np.array([0.1, 0.2, 0.3]) - 0.45  # the vector's distinct-2 minus the same prompt's unsteered text
    assert main.estimate.value == pytest.approx(d.mean(), abs=1e-15) and main.estimate.n == 3
    assert (main.estimate.ci_low, main.estimate.ci_high) == pytest.approx(
        stats.t.interval(0.95, 2, d.mean(), stats.sem(d)), abs=1e-12)
    # the norm scale: strength 0.05 x the median layer ratio 20 = 1 typical-token norm (0.5 to 2 over layers)
    assert main.estimate.detail == ("main; vector 0.200, unsteered 0.450; unsteered text 0.450, already at or below "
                                    "the collapse threshold 0.5 on its own; main run: strength 0.05 adds 1 "
                                    "typical-token norms (median over layers; 0.5-2)")
    (rnd,) = FINDING_STATISTICS["distinct2_vs_control"](ctx, {"run": "check", "control": "random"})
    assert (rnd.estimate.value, rnd.estimate.ci_low, rnd.estimate.ci_high) == pytest.approx((-0.05, -0.05, -0.05))
    assert "vs random" in rnd.estimate.unit_of_analysis and rnd.estimate.detail.startswith("check (median token norm)")
    (shift,) = FINDING_STATISTICS["check_minus_main_distinct2"](ctx, {})
    assert shift.estimate.value == pytest.approx((0.6 + 0.4 + 0.6) / 3) and shift.estimate.n == 3
    assert "check run: strength 0.05 adds 0.05 typical-token norms" in shift.estimate.detail
    plain = _regime_ctx(tmp_path / "plain", with_check=False)
    (none,) = FINDING_STATISTICS["check_minus_main_distinct2"](plain, {})
    (none_c,) = FINDING_STATISTICS["distinct2_vs_control"](plain, {"run": "check", "control": "unsteered"})
    assert none.not_applicable == none_c.not_applicable == "the selection has no steering_check"
    with pytest.raises(EmovecInputError, match="distinct2_vs_control needs args.run, main or check; got 'both'"):
        FINDING_STATISTICS["distinct2_vs_control"](ctx, {"run": "both", "control": "random"})
    with pytest.raises(EmovecInputError, match=r"args.control, one of \['random', 'unsteered'\]; got 'x'"):
        FINDING_STATISTICS["distinct2_vs_control"](ctx, {"run": "main", "control": "x"})


def test_leakage_is_a_newcombe_difference_of_generation_counts(tmp_path: Path):
    from emovec.analysis.catalogue import write_analyses
    from emovec.analysis.steering_records import LeakageRow, LeakageTable, ModelLeakage
    from emovec.stats.proportions import newcombe_difference

    def row(condition: str, k: int, n: int) -> LeakageRow:
        return LeakageRow(condition=condition, n=n, k_foreign=k, leak_share=0.1, cjk_share=0.0, top_tokens=())

    table = LeakageTable(models=("m",), high_strength=0.05, top=5, per_model=(
        ModelLeakage(model="m", rows=(row("emotion", 4, 5), row("random", 1, 20), row("unsteered", 0, 5))),))
    write_analyses({"script_leakage": table}, tmp_path / "analyses")
    ctx = FindingsContext(paper_config(steering_models=[{"model": "m", "family": "f", "variant": "base"}]),
                          tmp_path, tmp_path / "analyses", tmp_path)
    (o,) = FINDING_STATISTICS["leakage_minus_control"](ctx, {})
    assert (o.estimate.value, o.estimate.ci_low, o.estimate.ci_high) == newcombe_difference(4, 5, 0, 5)
    assert o.estimate.detail == "emotion 4/5, unsteered 0/5" and o.estimate.n == 10
    (r,) = FINDING_STATISTICS["leakage_minus_control"](ctx, {"control": "random"})
    assert r.estimate.value == pytest.approx(0.8 - 0.05)


def test_the_u_curve_statistics_read_the_per_layer_bootstrap(tmp_path: Path):
    """A planted U-curve: every emotion (not neutral) shares one direction, weak at the middle
    layer and strong at the ends, so the emotion vectors are alike except in the middle. The
    records are written the way the separation stage writes them."""
    import dataclasses

    import numpy as np

    from emovec.artefacts.declarations import SEPARATION_LAYERS, write_csv
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
    cell = cell_entry("m", "c", n_layers=n_layers, layer=2, variant="base")
    write_csv(tmp_path / "m__c.csv", SEPARATION_LAYERS,
              [r | {"n_stimuli": len(labels), "min_n_per_emotion": n_per, "n_neutral": 4, "pooling": "last_token",
                    "is_reported_layer": r["layer"] == 2} for r in rows])
    rec = resample_cell(acts, labels, JEONG_20, 2, "neutral_mean", 200, 0)
    (tmp_path / "m__c.resampling.json").write_text(json.dumps(dataclasses.asdict(rec) | {"pooling": "last_token"}))
    ctx = FindingsContext(paper_config([cell]), tmp_path, tmp_path, tmp_path)
    (q,) = FINDING_STATISTICS["middle_minus_depth"](ctx, {"depth": 0.25})
    (end,) = FINDING_STATISTICS["middle_minus_depth"](ctx, {"depth": 1.0})
    cos = {r["layer"]: r["mean_cosine"] for r in rows}
    assert q.estimate.value == pytest.approx(cos[2] - cos[1], abs=1e-6)  # the CSV holds 6 significant digits
    assert end.estimate.value == pytest.approx(cos[2] - cos[4], abs=1e-6)
    assert q.estimate.ci_high < 0 and end.estimate.ci_high < 0  # the planted middle separates better
    per = json.loads((tmp_path / "m__c.resampling.json").read_text())["n_per_emotion"]
    assert q.estimate.n == end.estimate.n == sum(per.values())  # stimuli, not bootstrap draws
    (best,) = FINDING_STATISTICS["best_layer_depth"](ctx, {})
    assert best.estimate.value == 0.5 and best.estimate.ci_low == best.estimate.ci_high == 0.5
    # a record with no per-layer draws: not applicable, saying why
    node = json.loads((tmp_path / "m__c.resampling.json").read_text())
    node["bootstrap_by_layer"] = []
    (tmp_path / "m__c.resampling.json").write_text(json.dumps(node))
    (old,) = FINDING_STATISTICS["best_layer_depth"](ctx, {})
    assert old.estimate is None and "no per-layer bootstrap (zero draws)" in old.not_applicable


def _planted_cell(tmp_path: Path, with_pairs: bool = True) -> tuple[FindingsContext, dict, np.ndarray]:
    """A cell whose stimuli are identical within each label, so every bootstrap draw is the sample:
    happy - neutral and sad - neutral have cosine -0.5, the other vectors are random; the 6 neutral
    sentences are 3 e0 + e_(i+1), every pair of them at cosine 9/10. Written as the stage writes it."""
    import dataclasses

    from emovec.artefacts.declarations import SEPARATION_LAYERS, write_csv
    from emovec.emotions import JEONG_20
    from emovec.geometry.resampling import resample_cell
    from emovec.geometry.separation import separation_by_layer

    rng = np.random.default_rng(0)
    n_layers, d, n_per = 3, 48, 2
    neutral = rng.normal(size=(n_layers, d))
    x = {e: rng.normal(size=(n_layers, d)) for e in JEONG_20}
    e0, e1 = np.eye(d)[0], np.eye(d)[1]
    x["happy"] = np.tile(e0, (n_layers, 1))
    x["sad"] = np.tile(-0.5 * e0 + np.sqrt(0.75) * e1, (n_layers, 1))
    labels = np.array([e for e in JEONG_20 for _ in range(n_per)] + ["neutral"] * 3)
    acts = np.stack([neutral + (x[lab] if lab != "neutral" else 0.0) for lab in labels])
    sents = np.stack([np.tile(3.0 * np.eye(d)[0] + np.eye(d)[i + 10], (n_layers, 1)) for i in range(6)])
    rows = separation_by_layer(acts, labels, JEONG_20, "neutral_mean", True, 19, 0, anisotropy_acts=sents).to_rows()
    cell = cell_entry("m", "c", n_layers=n_layers, layer=1, family="gemma3", variant="base", pooling="mid_generation")
    write_csv(tmp_path / "m__c.csv", SEPARATION_LAYERS,
              [r | {"n_stimuli": len(labels), "min_n_per_emotion": n_per, "n_neutral": 3, "pooling": "mid_generation",
                    "is_reported_layer": r["layer"] == 1} for r in rows])
    rec = dataclasses.asdict(resample_cell(acts, labels, JEONG_20, 1, "neutral_mean", 50, 0, anisotropy_acts=sents))
    if not with_pairs:
        rec["pair_bootstrap"], rec["anisotropy_bootstrap"] = {}, []
    (tmp_path / "m__c.resampling.json").write_text(json.dumps(rec | {"pooling": "mid_generation"}))
    return FindingsContext(paper_config([cell]), tmp_path, tmp_path, tmp_path), x, acts


def test_opposite_pair_cosine_is_the_planted_cosine_with_a_zero_width_ci(tmp_path: Path):
    ctx, x, _ = _planted_cell(tmp_path)
    outs = FINDING_STATISTICS["opposite_pair_cosine"](ctx, {})
    assert [o.subject.label for o in outs] == ["m / c: happy-sad", "m / c: calm-desperate", "m / c: loving-hostile",
                                               "m / c: proud-guilty"]
    hs = outs[0].estimate
    assert hs.value == pytest.approx(-0.5, abs=1e-6)  # the CSV holds 6 significant digits
    assert hs.ci_low == pytest.approx(-0.5, abs=1e-12) and hs.ci_high == pytest.approx(-0.5, abs=1e-12)
    assert hs.n == 2 * n_per_planted(ctx) and "50 draws" in hs.ci_method  # the stimuli of happy and sad
    for o, (a, b) in zip(outs[1:], [("calm", "desperate"), ("loving", "hostile"), ("proud", "guilty")]):
        va, vb = x[a][1], x[b][1]
        cos = va @ vb / np.linalg.norm(va) / np.linalg.norm(vb)
        assert o.estimate.value == pytest.approx(cos, abs=1e-6)
        assert o.estimate.ci_low == pytest.approx(cos, abs=1e-12) and o.estimate.ci_high == pytest.approx(cos, abs=1e-12)
    rule = _finding(statistic="opposite_pair_cosine", side="greater")
    assert verdict(rule, hs) == "contradicted"  # a negative cosine: the planted pair breaks "no negative cosine"
    (only,) = FINDING_STATISTICS["opposite_pair_cosine"](ctx, {"pairs": ["happy-sad"]})
    assert only.estimate == hs
    (tmp_path / "old").mkdir()
    ctx_old, _, _ = _planted_cell(tmp_path / "old", with_pairs=False)
    old = FINDING_STATISTICS["opposite_pair_cosine"](ctx_old, {"pairs": ["happy-sad"]})
    assert old[0].estimate is None and "the resampling record has no pair 'happy-sad'" in old[0].not_applicable


def test_anisotropy_baseline_is_the_planted_value_and_applies_by_family(tmp_path: Path):
    ctx, _, _ = _planted_cell(tmp_path)
    (o,) = FINDING_STATISTICS["anisotropy_baseline"](ctx, {})
    assert o.estimate.value == pytest.approx(0.9, abs=1e-6)
    assert o.estimate.ci_low == pytest.approx(0.9, abs=1e-12) and o.estimate.ci_high == pytest.approx(0.9, abs=1e-12)
    assert o.estimate.n == 6 and "pooled at last_token" in o.estimate.detail
    findings = [_finding(id="extreme", statistic="anisotropy_baseline", threshold=0.808, applies={"family": "gemma3"},
                         why="Gemma-3 only"),
                _finding(id="mag", statistic="anisotropy_baseline", rule="ci_overlaps", side=None,
                         reported=(0.988, 0.988), applies={"family": "gemma3"}, why="Gemma-3 only"),
                _finding(id="other", statistic="anisotropy_baseline", applies={"family": "smollm2"}, why="SmolLM2 only")]
    rows = [(r.finding.id, r.verdict, r.reason) for r in evaluate_findings(findings, ctx)]
    assert rows == [("extreme", "supported", ""), ("mag", "differs", ""),
                    ("other", "not applicable", "SmolLM2 only (applies to family smollm2; this is gemma3)")]
    node = json.loads((tmp_path / "m__c.resampling.json").read_text())
    node["anisotropy_bootstrap"] = []
    (tmp_path / "m__c.resampling.json").write_text(json.dumps(node))
    (old,) = FINDING_STATISTICS["anisotropy_baseline"](ctx, {})
    assert old.estimate is None and "no anisotropy bootstrap" in old.not_applicable


def n_per_planted(ctx: FindingsContext) -> int:
    """Stimuli per emotion in the planted cell's resampling record (all emotions have as many)."""
    per = json.loads((ctx.separation_dir / "m__c.resampling.json").read_text())["n_per_emotion"]
    assert len(set(per.values())) == 1
    return int(per["happy"])
