"""The valence findings on depth and corpus (emovec.ledgers.finding_stats_valence) and the two rules
they need (ci_excludes, ci_within in emovec.ledgers.findings): known answers on planted per-draw
records, the pairing of two cells' draws (from the seed and the code), and the rules on CIs on
every side of their threshold or margin."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from emovec.artefacts.declarations import VALENCE_SUMMARY, write_json
from emovec.errors import EmovecInputError
from emovec.geometry.affect import affect_by_layer
from emovec.ledgers.finding_statistics import FINDING_STATISTICS, Estimate, FindingsContext
from emovec.ledgers.finding_stats_valence import difference_interval, draw_peak_depths
from emovec.ledgers.findings import Finding, verdict

from helpers import paper_config
from helpers.valence_outputs import valence_summary


def _est(lo: float, hi: float) -> Estimate:
    return Estimate(value=(lo + hi) / 2, ci_low=lo, ci_high=hi, n=20, unit_of_analysis="emotions", ci_method="test")


def _finding(rule: str, **kw) -> Finding:
    return Finding(id="f", paper="p", section="s", claim="c", statistic="affect_corpus_difference", rule=rule, **kw)


# ---- the rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold,lo,hi,expected", [
    (0.0, 0.1, 0.5, "supported"), (0.0, -0.5, -0.1, "supported"),  # excluded on either side
    (0.0, -0.1, 0.5, "inconclusive"), (0.0, 0.0, 0.5, "inconclusive"), (0.0, -0.5, 0.0, "inconclusive"),
    (0.3, 0.1, 0.25, "supported"), (0.3, 0.1, 0.35, "inconclusive"),
    (0.0, math.nan, 0.5, "inconclusive"),
])
def test_ci_excludes_is_two_sided_and_never_contradicted(threshold, lo, hi, expected):
    assert verdict(_finding("ci_excludes", threshold=threshold), _est(lo, hi)) == expected


@pytest.mark.parametrize("lo,hi,expected", [
    (-0.1, 0.2, "supported"), (-0.24, 0.24, "supported"),  # inside the closed margin
    (-0.3, 0.1, "inconclusive"), (0.1, 0.3, "inconclusive"), (-0.5, 0.5, "inconclusive"),  # straddles a bound
    (0.25, 0.6, "contradicted"), (-0.9, -0.3, "contradicted"),  # wholly outside, either side
    (-0.1, math.nan, "inconclusive"),
])
def test_ci_within_on_every_side_of_its_margin(lo, hi, expected):
    assert verdict(_finding("ci_within", margin=(-0.24, 0.24)), _est(lo, hi)) == expected


def test_the_new_rules_say_what_they_decide_in_the_table():
    from emovec.ledgers.findings import FindingRow
    from emovec.report.findings_render import findings_forest_png, findings_table

    ex, wi = _finding("ci_excludes", threshold=0.0), _finding("ci_within", margin=(-0.24, 0.24))
    assert ex.rule_text == "supported if the CI excludes 0 (wholly above or below); inconclusive otherwise (never " \
                           "contradicted)"
    assert wi.rule_text == ("supported if the CI lies wholly inside the margin [-0.24, 0.24]; contradicted if "
                            "wholly outside it; inconclusive otherwise")
    rows = [FindingRow(ex, "m", verdict(ex, _est(-0.5, -0.1)), _est(-0.5, -0.1)),
            FindingRow(dataclasses.replace(wi, id="g"), "m", verdict(wi, _est(0.3, 0.5)), _est(0.3, 0.5))]
    tex = findings_table(rows)
    assert "m & -0.300 [-0.500, -0.100] & 20 emotions & test & supported \\\\" in tex
    assert "m & +0.400 [+0.300, +0.500] & 20 emotions & test & contradicted \\\\" in tex
    png = findings_forest_png(rows)
    assert png.startswith(b"\x89PNG") and png == findings_forest_png(rows)


# ---- per-draw peak depths and difference CIs -----------------------------------------------------


def test_draw_peak_depths_take_each_draws_own_peak_and_drop_invalid_draws():
    r = np.array([[0.1, 0.9, 0.2, 0.0, 0.1],
                  [0.1, 0.2, -0.95, 0.3, 0.1],  # |r| peaks at layer 2 although r is negative
                  [0.5, 0.1, 0.1, 0.1, 0.5],  # a tie: the first layer, as the observed peak
                  [0.1, np.nan, 0.9, 0.1, 0.1]])  # invalid at one layer: no peak over all layers
    got = draw_peak_depths(r)
    np.testing.assert_array_equal(got[:3], [0.25, 0.5, 0.0])
    assert math.isnan(got[3])
    with pytest.raises(EmovecInputError, match="n_layers >= 2"):
        draw_peak_depths(r[:, :1])


def test_difference_interval_paired_and_independent():
    a = np.array([0.5, 0.5, 0.75, np.nan])
    lo, hi, n = difference_interval(a, a, paired=True, level=0.95)
    assert (lo, hi, n) == (0.0, 0.0, 3)  # identical draws: a zero-width difference
    b = np.array([0.0, 0.25])
    lo, hi, n = difference_interval(a, b, paired=False, level=0.5)
    all_pairs = np.array([0.5, 0.25, 0.5, 0.25, 0.75, 0.5])
    assert n == 6 and (lo, hi) == tuple(np.quantile(all_pairs, [0.25, 0.75]))
    with pytest.raises(EmovecInputError, match="paired draws need equal shapes"):
        difference_interval(a, b, paired=True, level=0.95)


# ---- the statistics on planted valence outputs ----------------------------------------------------

EMO = tuple(f"e{i}" for i in range(6))


def _cell(model: str, corpus: str, n_layers: int = 5) -> dict:
    return {"cell": f"{model}__{corpus}", "model": model, "corpus": corpus, "family": model, "variant": "instruct",
            "n_layers": n_layers, "generator": model, "norms": "nrc_vad", "emotion_set": "toy"}


def _write_cell(root: Path, c: dict, r: np.ndarray, boot_idx: np.ndarray, emotions=EMO,
                peaks: dict | None = None) -> None:
    """A valence output as the stage writes it: summary.json (the keys read) and bootstrap.npz."""
    d = root / c["cell"]
    d.mkdir(parents=True)
    peaks = peaks or {"valence": {"layer": 2, "r": 0.7, "r_ci_low": 0.5, "r_ci_high": 0.8},
                      "arousal": {"layer": 1, "r": 0.3, "r_ci_low": 0.1, "r_ci_high": 0.4}}
    summary = valence_summary(emotions, cell=c["cell"], model=c["model"], corpus=c["corpus"],
                              n_layers=r.shape[1], peaks=peaks)
    write_json(d / "summary.json", VALENCE_SUMMARY, summary)
    np.savez(d / "bootstrap.npz", r=r, boot_idx=boot_idx, emotions=np.array(emotions),
             targets=np.array(["valence", "arousal"]))


def _planted_r(peak_layers: list[int], n_layers: int = 5) -> np.ndarray:
    """[B, L, 2]: draw b's valence |r| peaks at peak_layers[b]; arousal flat 0.2 but 0.4 at layer 1."""
    r = np.full((len(peak_layers), n_layers, 2), 0.1)
    for b, layer in enumerate(peak_layers):
        r[b, layer, 0] = 0.8
    r[:, :, 1] = 0.2
    r[:, 1, 1] = 0.4
    return r


def test_peak_depth_is_the_observed_peak_with_the_draws_peaks_as_ci(tmp_path: Path):
    c = _cell("m", "c")
    _write_cell(tmp_path, c, _planted_r([2] * 20 + [3] * 20), np.zeros((40, 6), dtype=int))
    ctx = FindingsContext(paper_config(valence_cells=[c]), Path("."), Path("."), tmp_path)
    (o,) = FINDING_STATISTICS["affect_peak_depth"](ctx, {"target": "valence"})
    e = o.estimate
    assert (o.subject.label, e.value, e.ci_low, e.ci_high, e.n) == ("m / c", 0.5, 0.5, 0.75, 6)
    assert "40 of 40 draws valid" in e.ci_method and e.detail == "peak layer 2 of 5 (r +0.700)"
    (a,) = FINDING_STATISTICS["affect_peak_depth"](ctx, {"target": "arousal"})
    assert (a.estimate.value, a.estimate.ci_low, a.estimate.ci_high) == (0.25, 0.25, 0.25)
    with pytest.raises(EmovecInputError, match="target must be valence or arousal"):
        FINDING_STATISTICS["affect_peak_depth"](ctx, {"target": "dominance"})


def test_an_older_valence_output_without_draws_is_not_applicable(tmp_path: Path):
    c = _cell("m", "c")
    _write_cell(tmp_path, c, _planted_r([2, 2]), np.zeros((2, 6), dtype=int))
    (tmp_path / c["cell"] / "bootstrap.npz").unlink()
    ctx = FindingsContext(paper_config(valence_cells=[c]), Path("."), Path("."), tmp_path)
    (o,) = FINDING_STATISTICS["affect_peak_depth"](ctx, {})
    assert o.estimate is None and "no bootstrap.npz" in o.not_applicable


def test_depth_difference_is_paired_only_when_the_draws_resample_the_same_emotions(tmp_path: Path):
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 6, size=(40, 6))
    peaks_a = [2] * 20 + [3] * 20
    a, b, c = _cell("a", "s"), _cell("b", "s"), _cell("c", "s")
    _write_cell(tmp_path, a, _planted_r(peaks_a), idx)
    _write_cell(tmp_path, b, _planted_r(peaks_a), idx)  # identical draws
    _write_cell(tmp_path, c, _planted_r([1] * 40), idx.copy())  # the same indices: paired
    other = _cell("d", "s")
    _write_cell(tmp_path, other, _planted_r([1] * 40), rng.integers(0, 6, size=(40, 6)))  # other draws
    ctx = FindingsContext(paper_config(valence_cells=[a, b, c, other, _cell("a", "lone")]), Path("."), Path("."), tmp_path)
    outs = {o.subject.label: o for o in FINDING_STATISTICS["affect_peak_depth_difference"](ctx, {})}
    assert list(outs) == ["a x b / s", "a x c / s", "a x d / s", "b x c / s", "b x d / s", "c x d / s"]
    ab = outs["a x b / s"].estimate
    assert (ab.value, ab.ci_low, ab.ci_high) == (0.0, 0.0, 0.0) and ab.unit_of_analysis == "emotions (paired)"
    ac = outs["a x c / s"].estimate  # paired: 0.25 or 0.5 per draw
    assert (ac.ci_low, ac.ci_high) == (0.25, 0.5) and "paired draw by draw" in ac.ci_method
    ad = outs["a x d / s"].estimate
    assert ad.unit_of_analysis == "emotions (independent resamples)" and "1600 differences" in ad.ci_method
    assert "resample different emotions" in ad.detail
    assert outs["a x b / s"].subject.models == ("a", "b")


def test_no_two_models_on_a_corpus_is_one_not_applicable_row(tmp_path: Path):
    c = _cell("m", "c")
    ctx = FindingsContext(paper_config(valence_cells=[c]), Path("."), Path("."), tmp_path)
    (o,) = FINDING_STATISTICS["affect_peak_depth_difference"](ctx, {})
    assert o.subject.label == "(run)" and o.not_applicable == "needs two models on one story corpus; the " \
                                                              "selection has m / c"


def test_corpus_difference_is_the_summaries_difference_with_an_independent_ci_when_emotions_differ(tmp_path: Path):
    rng = np.random.default_rng(1)
    ra, rb = rng.normal(0.6, 0.1, size=(30, 5, 2)), rng.normal(0.2, 0.1, size=(25, 5, 2))
    ca, cb = _cell("m", "gemma-stories"), _cell("m", "own-stories")
    pa = {"valence": {"layer": 2, "r": 0.6, "r_ci_low": 0.4, "r_ci_high": 0.8},
          "arousal": {"layer": 3, "r": 0.45, "r_ci_low": 0.2, "r_ci_high": 0.6}}
    pb = {"valence": {"layer": 4, "r": 0.55, "r_ci_low": 0.3, "r_ci_high": 0.7},
          "arousal": {"layer": 0, "r": 0.21, "r_ci_low": -0.1, "r_ci_high": 0.4}}
    _write_cell(tmp_path, ca, ra, np.zeros((30, 6), dtype=int), peaks=pa)
    _write_cell(tmp_path, cb, rb, np.zeros((25, 4), dtype=int), emotions=EMO[:4], peaks=pb)
    lone = _cell("n", "gemma-stories")
    _write_cell(tmp_path, lone, ra, np.zeros((30, 6), dtype=int))
    ctx = FindingsContext(paper_config(valence_cells=[ca, cb, lone]), Path("."), Path("."), tmp_path)
    m, n = FINDING_STATISTICS["affect_corpus_difference"](ctx, {"target": "arousal"})
    e = m.estimate
    assert m.subject.label == "m: gemma-stories - own-stories" and e.value == pytest.approx(0.45 - 0.21, abs=1e-15)
    d = (ra[:, 3, 1][:, None] - rb[:, 0, 1][None, :]).ravel()  # each cell's own peak layer, every pair of draws
    assert (e.ci_low, e.ci_high) == pytest.approx(tuple(np.quantile(d, [0.025, 0.975])), abs=1e-14)
    assert e.unit_of_analysis == "emotions (6 and 4, independent resamples)" and "emotion sets differ" in e.detail
    assert e.n == 4 and "750 differences" in e.ci_method
    assert n.estimate is None and n.not_applicable == "needs two story corpora; n has only gemma-stories"
    (v, _) = FINDING_STATISTICS["affect_corpus_difference"](ctx, {"target": "valence"})
    assert v.estimate.value == pytest.approx(0.05, abs=1e-15)


def test_same_corpus_pair_with_aligned_draws_gives_a_zero_width_corpus_difference(tmp_path: Path):
    r = np.random.default_rng(2).normal(0.5, 0.1, size=(50, 5, 2))
    idx = np.random.default_rng(3).integers(0, 6, size=(50, 6))
    ca, cb = _cell("m", "x"), _cell("m", "y")
    _write_cell(tmp_path, ca, r, idx)
    _write_cell(tmp_path, cb, r, idx)
    ctx = FindingsContext(paper_config(valence_cells=[ca, cb]), Path("."), Path("."), tmp_path)
    (o,) = FINDING_STATISTICS["affect_corpus_difference"](ctx, {"target": "valence"})
    assert (o.estimate.value, o.estimate.ci_low, o.estimate.ci_high) == (0.0, 0.0, 0.0)
    assert o.estimate.unit_of_analysis == "emotions (paired)"


# ---- the pairing comes from the seed: the valence stage's draws --------------------------------


def test_two_cells_with_one_seed_and_emotion_count_resample_the_same_emotions():
    """The claim the paired CIs rest on: affect_by_layer draws its bootstrap indices first from
    default_rng(seed), independent of the vectors, so two cells (different models) with the same
    seed, n_boot and emotions resample the same emotions draw by draw; another seed does not."""
    rng = np.random.default_rng(0)
    n, emotions = 8, ("happy", "afraid", "sad", "calm", "angry", "proud", "bored", "tense")
    val, aro = rng.normal(size=n), rng.normal(size=n)
    kw = dict(n_boot=30, n_perm=9, anchors=("happy", "afraid"))
    one = affect_by_layer(rng.normal(size=(n, 3, 10)), emotions, val, aro, seed=5, **kw)
    two = affect_by_layer(rng.normal(size=(n, 4, 12)), emotions, val, aro, seed=5, **kw)
    other = affect_by_layer(rng.normal(size=(n, 3, 10)), emotions, val, aro, seed=6, **kw)
    np.testing.assert_array_equal(one.boot_idx, two.boot_idx)
    np.testing.assert_array_equal(one.boot_idx, np.random.default_rng(5).integers(0, n, size=(30, n)))
    assert not np.array_equal(one.boot_idx, other.boot_idx)
    assert one.boot_r.shape == (30, 3, 2) and two.boot_r.shape == (30, 4, 2)
    # the recorded draws are the ones behind the per-layer CIs
    ci = np.nanquantile(one.boot_r[:, :, 0], [0.025, 0.975], axis=0)
    np.testing.assert_allclose(ci.T, one.layers[["valence_r_ci_low", "valence_r_ci_high"]].to_numpy(), atol=1e-12)


# ---- the rotation-invariant R and the comparison baseline -----------------------------------------

def _identified_peak(layer: int, r: float, swap: float) -> dict:
    return {"layer": layer, "pc": 1, "r": r, "abs_r": abs(r), "r_ci_low": r - 0.2, "r_ci_high": r + 0.1, "p_max": 0.01,
            "swap_rate": swap, "identified": swap <= 0.05, "lambda_ratio": 1.1, "lambda_ratio_ci_low": 1.0,
            "lambda_ratio_ci_high": 2.0, "R": 0.8, "R_ci_low": 0.6, "R_ci_high": 0.9, "angle": 31.0}


def test_multiple_r_reads_the_summary_and_says_when_the_pc_is_not_identified(tmp_path: Path):
    c = _cell("m", "c")
    peaks = {"valence": _identified_peak(2, -0.5, 0.3), "arousal": _identified_peak(1, 0.4, 0.0)}
    _write_cell(tmp_path, c, _planted_r([2, 2]), np.zeros((2, 6), dtype=int), peaks=peaks)
    s = json.loads((tmp_path / c["cell"] / "summary.json").read_text())
    s.update({"n_boot": 2, "ci_level": 0.95, "max_swap_rate": 0.05, "pc_matching": "order"})
    (tmp_path / c["cell"] / "summary.json").write_text(json.dumps(s))
    ctx = FindingsContext(paper_config(valence_cells=[c]), Path("."), Path("."), tmp_path)
    (o,) = FINDING_STATISTICS["affect_peak_multiple_r"](ctx, {"target": "valence"})
    assert (o.estimate.value, o.estimate.ci_low, o.estimate.ci_high, o.estimate.n) == (0.8, 0.6, 0.9, 6)
    assert "31 degrees from PC1" in o.estimate.detail and "PC NOT identified (swap rate 0.300" in o.estimate.detail
    (a,) = FINDING_STATISTICS["affect_peak_multiple_r"](ctx, {"target": "arousal"})
    assert "PC identified (swap rate 0.000" in a.estimate.detail
    (p,) = FINDING_STATISTICS["affect_peak_r"](ctx, {"target": "valence"})
    assert p.estimate.value == -0.5 and "|r| 0.500" in p.estimate.detail and "matched by order" in p.estimate.ci_method


def test_baseline_difference_is_paired_over_the_same_draws_at_each_variants_peak(tmp_path: Path):
    rng = np.random.default_rng(4)
    r, compare_r = rng.normal(0.6, 0.1, size=(40, 5, 2)), rng.normal(0.5, 0.1, size=(40, 5, 2))
    c, bare = _cell("m", "c"), _cell("n", "c")
    peaks = {"valence": _identified_peak(2, 0.6, 0.0), "arousal": _identified_peak(1, 0.3, 0.0)}
    _write_cell(tmp_path, c, r, np.zeros((40, 6), dtype=int), peaks=peaks)
    np.savez(tmp_path / c["cell"] / "bootstrap.npz", r=r, compare_r=compare_r, boot_idx=np.zeros((40, 6), dtype=int),
             emotions=np.array(EMO), targets=np.array(["valence", "arousal"]))
    s = json.loads((tmp_path / c["cell"] / "summary.json").read_text())
    s.update({"baseline": "grand_mean", "compare": {"baseline": "neutral_pca", "removed_k": [1, 2, 3, 4, 5],
                                                    "peaks": {"valence": _identified_peak(4, 0.45, 0.0),
                                                              "arousal": _identified_peak(0, 0.2, 0.0)}}})
    (tmp_path / c["cell"] / "summary.json").write_text(json.dumps(s))
    _write_cell(tmp_path, bare, r, np.zeros((40, 6), dtype=int))
    s = json.loads((tmp_path / bare["cell"] / "summary.json").read_text())
    (tmp_path / bare["cell"] / "summary.json").write_text(json.dumps({**s, "compare": None}))
    ctx = FindingsContext(paper_config(valence_cells=[c, bare]), Path("."), Path("."), tmp_path)
    o, n = FINDING_STATISTICS["affect_baseline_difference"](ctx, {"target": "valence"})
    d = r[:, 2, 0] - compare_r[:, 4, 0]  # each variant's own peak layer, draw by draw
    assert o.estimate.value == pytest.approx(0.15, abs=1e-15)
    assert (o.estimate.ci_low, o.estimate.ci_high) == pytest.approx(tuple(np.quantile(d, [0.025, 0.975])), abs=1e-14)
    assert o.estimate.unit_of_analysis == "emotions (paired)" and "k = 5 neutral PCs removed at layer 4" in o.estimate.detail
    assert n.estimate is None and "no comparison baseline" in n.not_applicable
    np.savez(tmp_path / c["cell"] / "bootstrap.npz", r=r, boot_idx=np.zeros((40, 6), dtype=int))
    with pytest.raises(EmovecInputError, match="no 'compare_r'"):
        FINDING_STATISTICS["affect_baseline_difference"](ctx, {"target": "valence"})
