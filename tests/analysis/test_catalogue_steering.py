"""The steering analyses: computed once by the analyses stage from the steering outputs, written as
JSON that reads back bit for bit, formatted by the steering tables and read by the claims, which
recompute nothing; a missing, stale or malformed file is refused by name.

Inputs: test_paper_steering's synthetic steering outputs (two partner models, two scenarios, two
classifiers), and a variant in which toy-instruct's emotion-vector generations at the high
strength are empty (NaN perplexities, deltas and shares).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import struct
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from emovec.analysis.catalogue import ANALYSES, analysis_file_text, compute_analyses, read_analyses, with_analyses
from emovec.analysis.json_records import decode, encode
from emovec.analysis.regime_records import RegimeStats, RegimeTable
from emovec.artefacts.declarations import STEERING_NORMS, write_csv
from emovec.errors import EmovecInputError
from emovec.ledgers.claims import evaluate_claims, load_claims
from emovec.readers.paper_inputs import PaperInputs, SteeringInputs, load_paper_inputs
from emovec.readers.paper_steering import load_steering_spec
from emovec.readers.steering import load_steering
from emovec.report.tables import build_tables
from emovec.stages.analyses import main as analyses_main
from emovec.stages.claims import main as claims_main
from emovec.stages.paper import main as paper_main

import helpers.separation_outputs as sep
import helpers.steering_outputs as st
from helpers import claim_record, claims_ledger

STEERING = [name for name, a in ANALYSES.items() if a.experiment == "steering"]


def identical(a: Any, b: Any) -> bool:
    """Equal with the same types throughout and floats bit for bit (any NaN matches any NaN: JSON
    keeps NaN, not its payload)."""
    if type(a) is not type(b):
        return False
    if dataclasses.is_dataclass(a):
        return all(identical(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, tuple):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or struct.pack("<d", a) == struct.pack("<d", b)
    return a == b


def _empty_high(inp: dict[str, Path]) -> None:
    """toy-instruct's emotion-vector generations at the high strength generated nothing."""
    path = inp["steering"] / st.INST / "measures.csv"
    df = pd.read_csv(path)
    hit = (df["condition"] == "emotion") & (df["magnitude"] == st.HIGH)
    df.loc[hit, ["n_gen_tokens", "n_script_chars", "n_foreign_chars"]] = 0
    df.loc[hit, "nll_sum"] = 0.0
    for col in ("ppl", "distinct_1", "distinct_2", "leak_share", "cjk_share", "projection", "projection_text",
                "delta", "delta_text"):
        df.loc[hit, col] = None
    df.loc[hit, "leaked_tokens"] = "[]"
    df.to_csv(path, index=False)
    spath = inp["steering"] / st.INST / "summary.json"
    summary = json.loads(spath.read_text())
    summary["n_empty"] = int((df["n_gen_tokens"] == 0).sum())
    spath.write_text(json.dumps(summary))


def _steering_inputs(inp: dict[str, Path], raw: dict = st.RAW_SPEC) -> PaperInputs:
    spec = load_steering_spec(raw, st.DIGITS, "paper.yaml: steering")
    data = load_steering(spec, inp["steering"], inp["classify"])
    return PaperInputs(steering=SteeringInputs(spec=spec, data=data, separation=dict(st.SEPARATION)))


@pytest.fixture(scope="module", params=["standard", "empty_high"])
def results(request, tmp_path_factory) -> dict[str, Any]:
    inp = st.write_steering_outputs(tmp_path_factory.mktemp(request.param) / "in")
    if request.param == "empty_high":
        _empty_high(inp)
    return compute_analyses(_steering_inputs(inp))


@pytest.mark.parametrize("name", STEERING)
def test_each_steering_analysis_reads_back_exactly(results, name):
    assert set(results) == set(STEERING)
    text = analysis_file_text(name, results[name])
    node = json.loads(text)
    assert node["analysis"] == name and node["about"] == ANALYSES[name].about
    back = ANALYSES[name].from_json(node["result"])
    assert identical(back, results[name]), name
    assert analysis_file_text(name, back) == text  # written again: the same bytes
    assert back.models == (st.BASE, st.INST)


def test_nan_survives_the_file(tmp_path):
    inp = st.write_steering_outputs(tmp_path / "in")
    _empty_high(inp)
    table = compute_analyses(_steering_inputs(inp))["regime_stats"]
    inst = table.of(st.INST)
    assert math.isnan(inst.ppl_high) and math.isnan(inst.ratio) and inst.regime == "undetermined"
    text = analysis_file_text("regime_stats", table)
    assert '"ppl_high": NaN' in text
    back = ANALYSES["regime_stats"].from_json(json.loads(text)["result"])
    assert math.isnan(back.of(st.INST).ratio) and identical(back, table)


def test_the_files_hold_the_hand_computed_numbers(tmp_path):
    r = compute_analyses(_steering_inputs(st.write_steering_outputs(tmp_path / "in")))
    base = r["regime_stats"].of(st.BASE)
    assert (base.ppl_low, base.ppl_high, base.regime, base.n_low) == (math.exp(1.5), math.exp(4.0), "explosive", 2)
    pair = r["rlhf_steering"].pair(st.BASE, st.INST)
    assert (pair.sensitivity.mean, pair.sensitivity.n) == (1.25, 2) and r["rlhf_steering"].methods == ("generation",)
    assert (pair.separation[0].base, pair.separation[0].instruct, pair.separation[0].delta) == (0.25, 0.1875, -0.0625)
    toy = r["agreement_counts"].of("toy_lexicon")
    prot = toy.count("protocol", "emotion")
    assert (prot.k, prot.n, prot.proportion, prot.mean_shift) == (3, 4, 0.75, 0.28125)
    for c in toy.counts:  # the per-model counts add up to the pooled ones
        mine = [m for m in toy.per_model if (m.scope, m.comparison) == (c.scope, c.comparison)]
        assert (sum(m.k for m in mine), sum(m.n for m in mine)) == (c.k, c.n)
    assert math.isnan(toy.count("every strength", "induction").ci_low)
    assert (r["no_hit_count"].of("vader").no_hit, r["no_hit_count"].of("vader").with_count) == (4, 32)
    assert r["protocol_deltas"].of(st.BASE).of("up").emotion_delta == 1.5
    assert [s.scenario for s in r["protocol_deltas"].scenarios] == ["up", "down"]
    leak = r["script_leakage"].of(st.BASE).rows[0]
    assert (leak.condition, leak.n, leak.top_tokens) == ("emotion", 2, (("快", 2), ("é", 1), ("乐", 1)))
    ppl = r["steering_ppl"].of(st.BASE)
    assert [s.magnitude for s in ppl.strengths] == [st.LOW, st.HIGH] and ppl.strengths[1].ppl == math.exp(4.0)
    joy = [x for x in r["classifier_scores"].rows
           if (x.classifier, x.model, x.magnitude, x.scenario) == ("toy_lexicon", st.BASE, st.HIGH, "up")]
    assert len(joy) == 1 and joy[0].mean("joy") == 0.75 and joy[0].n == 1


def test_protocol_deltas_carry_the_text_and_induction_deltas(tmp_path):
    r = compute_analyses(_steering_inputs(st.write_steering_outputs(tmp_path / "in")))["protocol_deltas"]
    up, down = r.of(st.BASE).of("up"), r.of(st.INST).of("down")
    # the fixture's delta_text is half its delta; induction rows hold their own delta
    assert (up.emotion_delta_text, up.random_delta_text) == (0.75, (0.25 - 0.0625) / 4)
    assert (up.induction_delta, up.induction_delta_text, up.n_induction) == (0.75, 0.375, 1)
    assert math.isnan(down.induction_delta) and down.n_induction == 0  # no delta on record: left out, not zero


def test_regime_check_compares_the_runs_per_scenario_and_relays_the_norm_scale(tmp_path):
    inp = _run_inputs(tmp_path / "in")
    check = tmp_path / "check"
    for model in (st.BASE, st.INST):  # the check: the same outputs, one scenario less repetitive, other norms
        shutil.copytree(inp["steering"] / model, check / model)
        m = pd.read_csv(check / model / "measures.csv")
        hi = (m.scenario == "up") & (m.condition == "emotion") & (m.magnitude == st.HIGH)
        m.loc[hi, "distinct_2"] = 0.96875
        m.to_csv(check / model / "measures.csv", index=False)
        summary = json.loads((check / model / "summary.json").read_text())
        summary["norm_reference"] = "prompt_median_norm"
        (check / model / "summary.json").write_text(json.dumps(summary))
        write_csv(check / model / "norms.csv", STEERING_NORMS,
                  [st.norms_row(model, layer, "prompt_median_norm") for layer in summary["layers"]])
    cfg = yaml.safe_load(inp["config"].read_text())
    cfg["steering_check"] = {"label": "median token norm", "overrides": ["steering.norm_reference=prompt_median_norm"]}
    inp["config"].write_text(yaml.safe_dump(cfg))
    inputs = load_paper_inputs(inp["config"], inp["separation"], inp["vectors"], "absent", "absent", inp["steering"],
                               inp["classify"], check)
    rc = compute_analyses(inputs)["regime_check"]
    assert rc.check_label == "median token norm" and [r.model for r in rc.check] == list(rc.models)
    scen = {(x.model, x.run, x.scenario): x for x in rc.scenarios}
    assert len(scen) == 8
    assert scen[(st.BASE, "main", "up")].distinct2_high == st.DISTINCT2_HIGH[(st.BASE, "up")]
    assert scen[(st.BASE, "check", "up")].distinct2_high == 0.96875
    assert scen[(st.BASE, "check", "down")] == dataclasses.replace(scen[(st.BASE, "main", "down")], run="check")
    assert scen[(st.BASE, "main", "up")].repeat_high == st.REPEAT_HIGH[(st.BASE, "up")]
    assert scen[(st.BASE, "main", "up")].ppl_high == math.exp(60.0 / 20)
    assert rc.main == compute_analyses(inputs)["regime_stats"].rows
    norms = {(n.model, n.run, n.layer): n for n in rc.norms}
    assert len(norms) == 2 * 2 * 4 and norms[(st.INST, "check", 2)].norm_reference == "prompt_median_norm"
    assert (norms[(st.INST, "main", 2)].ratio_mean, norms[(st.INST, "main", 2)].first_token_norm) == (15.0, 50.0)
    # without a check directory (the paper stage) or without a check in the config: an empty check
    plain = compute_analyses(_steering_inputs(st.write_steering_outputs(tmp_path / "plain")))["regime_check"]
    assert (plain.check, plain.check_label) == ((), "") and {x.run for x in plain.scenarios} == {"main"}


def test_every_analysis_states_unit_ci_and_correction():
    for name, analysis in ANALYSES.items():
        assert "unit" in analysis.about and "CI" in analysis.about and "correction" in analysis.about, name


def test_the_codec_refuses_another_shape():
    row = RegimeStats(model="m", ppl_low=1.0, ppl_high=2.0, ratio=2.0, random_ratio=math.nan, distinct2_high=0.5,
                      repeat_high=3.0, n_low=1, n_high=1, regime="surgical", distinct2_unsteered=0.25,
                      distinct2_random_high=0.4, unsteered_collapsed=True)
    node = json.loads(json.dumps(encode(row)))
    assert identical(decode(RegimeStats, node), row)
    with pytest.raises(TypeError, match="expected float, got int"):
        decode(RegimeStats, {**node, "ppl_low": 1})
    with pytest.raises(KeyError, match="has fields"):
        decode(RegimeStats, {**node, "extra": 1})
    with pytest.raises(TypeError, match="expected a list"):
        decode(RegimeTable, {"models": "m", "low_strength": 0.1, "high_strength": 0.2, "explosive_min_ratio": 5.0,
                             "collapse_max_distinct2": 0.5, "collapse_min_repeat": 8.0, "rows": []})
    with pytest.raises(TypeError, match="cannot write int64"):
        encode(dataclasses.replace(row, n_low=pd.Series([1]).iloc[0]))


# ---------------------------------------------------------------------------- the stages


def _run_inputs(root: Path, raw: dict = st.RAW_SPEC) -> dict[str, Path]:
    """Separation cells (test_paper) and the steering outputs under one paper config."""
    inp = {**sep.write_separation_outputs(root / "sep"), **st.write_steering_outputs(root / "steer")}
    cfg = yaml.safe_load(inp["config"].read_text())
    cfg["steering"] = raw
    inp["config"].write_text(yaml.safe_dump(cfg))
    return inp


def _flags(inp: dict[str, Path]) -> list[str]:
    return ["--config", str(inp["config"]), "--separation-dir", str(inp["separation"]), "--vectors-dir",
            str(inp["vectors"]), "--steering-dir", str(inp["steering"]), "--classify-dir", str(inp["classify"])]


def _load(inp: dict[str, Path]) -> PaperInputs:
    return load_paper_inputs(inp["config"], inp["separation"], inp["vectors"], "absent", "absent", inp["steering"],
                             inp["classify"])


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("staged")
    inp = _run_inputs(root / "in")
    assert analyses_main([*_flags(inp), "--out", str(root / "analyses")]) == 0
    return {**inp, "analyses": root / "analyses", "root": root}


def test_the_stage_writes_them_and_the_paper_formats_what_it_reads(staged):
    names = sorted(p.stem for p in staged["analyses"].iterdir())
    assert names == sorted(["gen_vs_comp", *STEERING])
    inputs = _load(staged)
    read = read_analyses(staged["analyses"], inputs)
    direct = with_analyses(inputs)
    for name in STEERING:
        assert identical(read.analyses[name], direct.analyses[name]), name
    assert build_tables(read) == build_tables(direct)
    out = staged["root"] / "paper"
    assert paper_main([*_flags(staged), "--analyses-dir", str(staged["analyses"]), "--tables-dir", str(out / "t"),
                       "--figures-dir", str(out / "f"), "--processes", "1"]) == 0
    assert (out / "t" / "steering_regimes.tex").read_text().count("toy-instruct & instruct") == 1


@pytest.mark.parametrize("name", STEERING)
def test_a_missing_steering_analysis_is_named(staged, tmp_path, name, capsys):
    partial = tmp_path / "analyses"
    partial.mkdir()
    for p in staged["analyses"].iterdir():
        if p.stem != name:
            (partial / p.name).write_bytes(p.read_bytes())
    with pytest.raises(EmovecInputError, match=rf"{name}\.json does not exist: run the analyses stage"):
        read_analyses(partial, _load(staged))
    out = tmp_path / "out"
    assert paper_main([*_flags(staged), "--analyses-dir", str(partial), "--tables-dir", str(out / "t"),
                       "--figures-dir", str(out / "f")]) == 2
    assert f"{name}.json does not exist" in capsys.readouterr().err and not out.exists()


def test_analyses_of_other_models_or_shape_are_named(staged, tmp_path):
    stale = tmp_path / "stale"
    base_only = {**st.RAW_SPEC, "models": st.RAW_SPEC["models"][:1]}
    inp = _run_inputs(tmp_path / "in", base_only)
    assert analyses_main([*_flags(inp), "--out", str(stale)]) == 0
    with pytest.raises(EmovecInputError, match=r"regime_stats\.json: covers models \['toy-base'\] but this run "
                                               r"steered \['toy-base', 'toy-instruct'\]; re-run the analyses stage"):
        read_analyses(stale, _load(staged))
    bad = tmp_path / "bad"
    bad.mkdir()
    for p in staged["analyses"].iterdir():
        (bad / p.name).write_bytes(p.read_bytes())
    node = json.loads((bad / "script_leakage.json").read_text())
    del node["result"]["per_model"][0]["rows"][0]["k_foreign"]
    (bad / "script_leakage.json").write_text(json.dumps(node))
    with pytest.raises(EmovecInputError, match=r"script_leakage\.json: not a script_leakage analysis written by "
                                               r"this version .*re-run the analyses stage"):
        read_analyses(bad, _load(staged))


# ---------------------------------------------------------------------------- the claims


def _claims(tmp_path: Path) -> list:
    return load_claims(claims_ledger(tmp_path, [
        claim_record("delta", 1.5, {"kind": "steering_delta", "model": st.BASE, "scenario": "up"}),
        claim_record("ppl", 54.6, {"kind": "steering_ppl", "model": st.BASE, "strength": 0.05}, tolerance=0.01),
        claim_record("ppl_absent", 1.0, {"kind": "steering_ppl", "model": st.BASE, "strength": 0.02}),
        claim_record("ratio", 1.0, {"kind": "steering_ppl_ratio", "model": st.INST}, tolerance=1.0),
        claim_record("regime", "explosive", {"kind": "steering_regime", "model": st.BASE}, tolerance=None),
        claim_record("sens", 1.25, {"kind": "steering_sensitivity", "base": st.BASE, "instruct": st.INST}),
        claim_record("agree", 0.75, {"kind": "classifier_agreement", "models": [st.BASE, st.INST],
                               "classifier": "toy_lexicon"}),
        claim_record("p_joy", 0.75, {"kind": "classifier_probability", "model": st.BASE, "scenario": "up", "label": "joy",
                               "strength": 0.05, "classifier": "toy_lexicon"}),
    ]))


def _ctx(staged: dict[str, Path], analyses: Path):
    from emovec.ledgers.claim_ledger import ClaimContext
    from emovec.readers.paper_config import load_paper_config

    return ClaimContext(separation_dir=staged["separation"], analyses_dir=analyses, valence_dir=Path("absent"),
                        data_dir=Path("absent"), paper=load_paper_config(staged["config"]))


def test_steering_claims_read_the_analyses_and_never_the_outputs(staged, tmp_path):
    copy = tmp_path / "analyses"
    copy.mkdir()
    for p in staged["analyses"].iterdir():
        (copy / p.name).write_bytes(p.read_bytes())
    res = {r.claim.id: r for r in evaluate_claims(_claims(tmp_path), _ctx(staged, copy))}
    assert {k: (r.replicated, r.status) for k, r in res.items()} == {
        "delta": (1.5, "replicated"), "ppl": (math.exp(4.0), "replicated"), "ppl_absent": (None, "not run"),
        "ratio": (math.exp(0.2), "replicated"), "regime": ("explosive", "replicated"), "sens": (1.25, "replicated"),
        "agree": (0.75, "replicated"), "p_joy": (0.75, "replicated")}
    assert res["ppl_absent"].detail == "no emotion-vector generations at strength 0.02"
    assert res["agree"].detail == "classifier: toy lexicon classifier (offline fallback, not j-hartmann) " \
                                  "(toy_lexicon); 3/4 units"
    # The value is the file's: edit it and the claim follows (the steering outputs are not read).
    node = json.loads((copy / "protocol_deltas.json").read_text())
    node["result"]["per_model"][0]["rows"][0]["emotion_delta"] = 42.0
    (copy / "protocol_deltas.json").write_text(json.dumps(node))
    res = {r.claim.id: r for r in evaluate_claims(_claims(tmp_path), _ctx(staged, copy))}
    assert res["delta"].replicated == 42.0


def test_claims_refuse_a_missing_or_stale_analysis_by_name(staged, tmp_path, capsys):
    with pytest.raises(EmovecInputError, match=r"claim delta: .*protocol_deltas\.json does not exist: run the "
                                               r"analyses stage"):
        evaluate_claims(_claims(tmp_path), _ctx(staged, tmp_path / "nowhere"))
    stale = tmp_path / "stale"
    inp = _run_inputs(tmp_path / "in", {**st.RAW_SPEC, "models": st.RAW_SPEC["models"][:1]})
    assert analyses_main([*_flags(inp), "--out", str(stale)]) == 0
    claims = load_claims(claims_ledger(tmp_path, [claim_record("r", 1.0, {"kind": "steering_ppl_ratio", "model": st.INST})]))
    with pytest.raises(EmovecInputError, match=r"regime_stats\.json: covers models \['toy-base'\], not the steered "
                                               r"model 'toy-instruct'; re-run the analyses stage"):
        evaluate_claims(claims, _ctx(staged, stale))
    # The stage: exit 2 naming the file, nothing written.
    out = tmp_path / "out"
    argv = ["--config", str(staged["config"]), "--claims", str(tmp_path / "claims.yaml"), "--separation-dir",
            str(staged["separation"]), "--analyses-dir", str(tmp_path / "nowhere"), "--data-dir", str(tmp_path),
            "--out", str(out)]
    assert claims_main(argv) == 2
    assert "regime_stats.json does not exist: run the analyses stage" in capsys.readouterr().err
    assert not out.exists()
    assert claims_main([*argv[:7], str(staged["analyses"]), *argv[8:]]) == 0 and (out / "claims.csv").is_file()


def test_the_pipeline_feeds_the_analyses_to_paper_and_claims():
    stages = yaml.safe_load((Path(__file__).resolve().parents[2] / "dvc.yaml").read_text())["stages"]
    for name in ("paper", "claims"):
        assert "--analyses-dir build/analyses" in stages[name]["cmd"], name
        assert "build/analyses" in stages[name]["deps"], name
    assert "--steering-dir" not in stages["claims"]["cmd"]  # the claims read steering only through the analyses
