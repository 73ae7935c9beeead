"""The claims ledger: loading refuses malformed entries by name, each measure recomputes its
number from the right basis, statuses follow the rules, and the tracked ledger is complete
enough that every weight-free claim is computed (emovec.ledgers.claims, stages.claims)."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

from emovec.errors import EmovecInputError
from emovec.ledgers.claim_ledger import MEASURES, ClaimContext
from emovec.ledgers.claim_measures_data import evaluate_expression
from emovec.ledgers.claims import evaluate_claims, load_claims
from emovec.report.claims_table import claims_csv, claims_table
from emovec.stages.claims import main

from conftest import materialised
from helpers import cell_entry, claim_record, claims_ledger, paper_config, write_separation_csv

REPO = Path(__file__).resolve().parents[2]
LEDGER = REPO / "paper" / "claims.yaml"
UPSTREAM_FILES = ("neural-mri/protocol_stimuli.json", "neural-mri/emotion_comprehension_texts.csv",
                  "emotion_experiment/prompts/emotions.txt", "emotion_experiment/prompts/neutral_texts.txt",
                  "emotion_experiment/prompts/topics.txt", "emotion_experiment/output_gemma_stories/stories.jsonl")


# The status of every weight-free claim with a measure, on the upstream data alone (no model
# outputs). Checked by hand against each measure: the design counts are the upstream files' own
# counts; the reported_arithmetic and binomial_fraction claims recompute the papers' reported
# numbers within their tolerances (jeong.table4.min_delta: Table 4's smallest delta is 16, one
# unit, exactly the tolerance, from the prose's 17). The one "differs": the mean of the ratios of
# Table 4's rounded llama-3.2 deltas is 1.342, 0.012 from the reported 1.33 (tolerance 0.01), as
# the ledger's note says.
WEIGHT_FREE_REPLICATED = (
    "jeong.design.n_emotions", "jeong.design.n_templates", "jeong.design.n_stories_per_emotion",
    "jeong.design.n_comprehension_passages", "jeong.design.n_neutral_passages", "jeong.design.n_passages_per_emotion",
    "jeong.design.n_anisotropy_sentences", "jeong.design.n_steering_scenarios", "jeong.design.steering_strengths",
    "jeong.ucurve.layer6.depth", "jeong.ucurve.layer12.depth", "jeong.ucurve.layer18.depth",
    "jeong.ucurve.layer24.depth", "jeong.table2.smollm2-1.7b-instruct.g_minus_c",
    "jeong.table2.llama-3.2-3b-instruct.g_minus_c", "jeong.table2.llama-3.1-8b-instruct.g_minus_c",
    "jeong.table2.mistral-7b-instruct.g_minus_c", "jeong.table2.llama-3.2-3b.g_minus_c",
    "jeong.table2.llama-3.1-8b.g_minus_c", "jeong.table2.mistral-7b.g_minus_c",
    "jeong.table2.comprehension_range_min", "jeong.table2.comprehension_range_max",
    "jeong.table2.comprehension_spread", "jeong.table2.generation_range_min", "jeong.table2.generation_range_max",
    "jeong.table2.generation_spread", "jeong.loo.mannwhitney_p_min", "jeong.rlhf.llama-3.2-3b.delta",
    "jeong.rlhf.llama-3.1-8b.delta", "jeong.rlhf.mistral-7b.delta",
    "jeong.anisotropy.smollm2-1.7b-instruct.happy_sad_gap", "jeong.anisotropy.gemma-3-1b-it.headroom",
    "jeong.table4.min_delta", "jeong.table4.max_delta", "jeong.classifier.agreement_rate",
    "jeong.appendix.basic_total", "jeong.appendix.nuanced_total", "jeong.appendix.overall_matched",
    "jeong.appendix.overall_match_rate", "jeong.appendix.basic_match_rate", "jeong.appendix.nuanced_match_rate",
    "jeong.regimes.gpt2.ratio", "jeong.regimes.gemma-2-2b.ratio", "jeong.regimes.gemma-2-2b-it.ratio",
    "jeong.regimes.gemma-3-1b-pt.ratio", "jeong.regimes.gemma-3-1b-it.ratio", "jeong.regimes.llama-3.2-3b.ratio",
    "jeong.regimes.llama-3.2-3b-instruct.ratio", "jeong.regimes.qwen2.5-1.5b.ratio",
    "jeong.regimes.qwen2.5-1.5b-instruct.ratio", "jeong.sensitivity.gemma-2.ratio", "jeong.sensitivity.qwen2.5.ratio",
    "vanderben.design.n_emotions", "vanderben.design.n_stories", "vanderben.design.n_stories_per_emotion",
    "vanderben.design.n_neutral_texts", "vanderben.valence.gemma.peak_depth", "jeong2026b.design.n_models",
)
WEIGHT_FREE_DIFFERS = ("jeong.sensitivity.llama-3.2.ratio",)
# The tracked ledger's size: an entry added or lost must be a deliberate edit of this number.
N_LEDGER_ENTRIES = 275


# The run's separation cells: model m on a generation and a comprehension corpus, 3 blocks, layer 1 reported.
CELLS = (cell_entry("m", "gen", n_layers=3, layer=1), cell_entry("m", "comp", n_layers=3, layer=1, method="comprehension"))


def _ctx(tmp_path: Path, data_dir: Path | None = None) -> ClaimContext:
    return ClaimContext(separation_dir=tmp_path / "sep", analyses_dir=tmp_path / "analyses",
                        valence_dir=tmp_path / "val", data_dir=data_dir or tmp_path / "data",
                        paper=paper_config(CELLS, steering={"models": []}))


def test_arithmetic_fraction_and_min_p_are_recomputed_from_reported_numbers(tmp_path: Path) -> None:
    claims = load_claims(claims_ledger(tmp_path, [
        claim_record("g", 0.357, None), claim_record("c", 0.665, None),
        claim_record("gc", 0.308, {"kind": "reported_arithmetic", "expr": "c - g", "inputs": {"c": "c", "g": "g"}}),
        claim_record("gc_wrong", 0.300, {"kind": "reported_arithmetic", "expr": "c - g", "inputs": {"c": "c", "g": "g"}}),
        claim_record("agree", 0.92, {"kind": "binomial_fraction", "k": 37, "n": 40}, tolerance=0.0051),
        claim_record("p", 0.007, {"kind": "mannwhitney_min_p", "n1": 10, "n2": 3}, tolerance=0.0005),
    ]))
    res = {r.claim.id: r for r in evaluate_claims(claims, _ctx(tmp_path))}
    assert res["g"].status == "not measured" and res["g"].replicated is None
    assert res["gc"].replicated == pytest.approx(0.308) and res["gc"].status == "replicated"
    assert res["gc"].basis == "reported numbers"
    assert res["gc_wrong"].status == "differs"
    assert res["agree"].replicated == 0.925 and res["agree"].status == "replicated"
    assert res["p"].replicated == pytest.approx(2 / 286) and res["p"].status == "replicated"


def test_model_output_measures_read_the_cell_and_absent_cells_need_weights(tmp_path: Path) -> None:
    write_separation_csv(tmp_path / "sep" / "m__gen.csv", [0.9, 0.36, 0.8], reported=1)
    write_separation_csv(tmp_path / "sep" / "m__comp.csv", [0.9, 0.66, 0.8], reported=1)
    claims = load_claims(claims_ledger(tmp_path, [
        claim_record("cos", 0.357, {"kind": "separation_mean_cosine", "model": "m", "corpus": "gen"}, tolerance=0.01),
        claim_record("cos_l0", 0.5, {"kind": "separation_mean_cosine", "model": "m", "corpus": "gen", "layer": 0}, tolerance=0.01),
        claim_record("diff", 0.30, {"kind": "separation_difference", "model": "m", "generation_corpus": "gen",
                              "comprehension_corpus": "comp"}, tolerance=0.001),
        claim_record("gap", 0.54, {"kind": "anisotropy_gap", "model": "m", "corpus": "gen"}, tolerance=0.001),
        claim_record("absent", 0.44, {"kind": "separation_mean_cosine", "model": "llama", "corpus": "gen"},
               needs_weights=True, tolerance=0.02),
        claim_record("absent_data", 20, {"kind": "upstream_count", "what": "jeong_emotions"}, tolerance=0),
    ]))
    res = {r.claim.id: r for r in evaluate_claims(claims, _ctx(tmp_path))}
    assert (res["cos"].replicated, res["cos"].status) == (0.36, "replicated")
    assert (res["cos_l0"].replicated, res["cos_l0"].status) == (0.9, "differs")
    assert res["diff"].replicated == pytest.approx(0.30) and res["diff"].status == "replicated"
    assert res["gap"].replicated == pytest.approx(0.54)
    assert res["absent"].status == "not run: needs weights" and "llama__gen.csv absent" in res["absent"].detail
    assert res["absent_data"].status == "not run" and "make data" in res["absent_data"].detail


def test_upstream_counts_come_from_the_materialised_files(upstream_root: Path, tmp_path: Path) -> None:
    data = materialised(upstream_root, tmp_path, *UPSTREAM_FILES)
    whats = {"jeong_emotions": 20, "jeong_templates": 5, "jeong_stories_per_emotion": 10,
             "jeong_comprehension_passages": 60, "jeong_neutral_passages": 3, "jeong_anisotropy_sentences": 20,
             "jeong_steering_scenarios": 6, "vdb_emotions": 171, "vdb_stories": 1539, "vdb_stories_per_emotion": 9,
             "vdb_neutral_texts": 40, "vdb_topics": 100}
    claims = load_claims(claims_ledger(tmp_path, [claim_record(w, n, {"kind": "upstream_count", "what": w}, tolerance=0)
                                            for w, n in whats.items()]
                                 + [claim_record("strengths", [0.005, 0.01, 0.02, 0.03, 0.05],
                                           {"kind": "upstream_list", "what": "jeong_strengths"}, tolerance=0)]))
    res = evaluate_claims(claims, _ctx(tmp_path, data))
    assert {r.claim.id: r.replicated for r in res} == {**whats, "strengths": [0.005, 0.01, 0.02, 0.03, 0.05]}
    assert {r.status for r in res} == {"replicated"}


@pytest.mark.parametrize("edit,fragment", [
    (lambda c: c.pop("value"), "missing key(s) ['value']"),
    (lambda c: c.update(colour="red"), "unknown key(s) ['colour']"),
    (lambda c: c.update(paper="nature2030"), "paper 'nature2030'"),
    (lambda c: c.update(measure={"kind": "telepathy"}), "measure.kind must be one of"),
    (lambda c: c.update(value={"a": 1}), "value must be a number"),
    (lambda c: c.pop("tolerance"), "needs a tolerance"),
    (lambda c: c.update(measure={"kind": "reported_arithmetic", "expr": "a", "inputs": {"a": "nope"}}),
     "input(s) ['nope'] are not claim ids"),
])
def test_malformed_ledger_entries_are_refused_by_name(tmp_path: Path, edit, fragment: str) -> None:
    rec = claim_record("jeong.x", 0.5, None)
    edit(rec)
    with pytest.raises(EmovecInputError, match="jeong.x|nope") as exc:
        load_claims(claims_ledger(tmp_path, [rec]))
    assert fragment in str(exc.value) and "claims.yaml" in str(exc.value)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(EmovecInputError, match="duplicate id 'a'"):
        load_claims(claims_ledger(tmp_path, [claim_record("a", 1, None), claim_record("a", 2, None)]))


def test_expressions_allow_arithmetic_only() -> None:
    assert evaluate_expression("mean(a / b, 2) - abs(-1)", {"a": 3.0, "b": 1.5}) == 1.0
    for bad in ("__import__('os')", "a.real", "[a]", "a ** 2"):
        with pytest.raises(EmovecInputError, match="unsupported syntax|unknown name"):
            evaluate_expression(bad, {"a": 1.0})


def test_the_tracked_ledger_is_complete_and_its_weight_free_claims_all_compute(upstream_root: Path,
                                                                              tmp_path: Path) -> None:
    claims = load_claims(LEDGER)
    n_ledger = len(yaml.safe_load(LEDGER.read_text(encoding="utf-8"))["claims"])
    assert n_ledger == N_LEDGER_ENTRIES and len(claims) == n_ledger
    assert {c.paper for c in claims} == {"jeong2026", "jeong2026b", "vanderben2026", "anthropic2026"}
    used = {c.measure["kind"] for c in claims if c.measure}
    assert used == set(MEASURES), f"measures never used by the ledger: {set(MEASURES) - used}"
    # Headline numbers the papers' readers quote must be present.
    values = {c.id: c.value for c in claims}
    for needle in (0.007, -107.5, 0.76, 0.83, 0.81, 1539):
        assert needle in values.values(), needle
    data = materialised(upstream_root, tmp_path, *UPSTREAM_FILES)
    res = evaluate_claims(claims, _ctx(tmp_path, data))
    assert len(res) == n_ledger
    weight_free = {r.claim.id: r.status for r in res if not r.claim.needs_weights and r.claim.measure is not None}
    assert weight_free == {**{cid: "replicated" for cid in WEIGHT_FREE_REPLICATED},
                           **{cid: "differs" for cid in WEIGHT_FREE_DIFFERS}}
    for r in res:
        if r.claim.needs_weights:
            assert r.status in ("not run: needs weights", "not measured"), r.claim.id
    # The csv has one row per claim with the status the evaluation gave.
    rows = list(csv.DictReader(io.StringIO(claims_csv(res))))
    assert len(rows) == n_ledger
    assert [(r["id"], r["status"]) for r in rows] == [(r.claim.id, r.status) for r in res]
    tex = claims_table(res, "Provenance: test.")
    assert tex.count("\\begin{longtable}") == 1 and "Provenance: test." in tex
    assert tex.count("\\texttt{") == len(claims)


# Jeong's follow-up (arXiv 2604.11050; abstract only, no shared/papers file): every number of its abstract
# and the exact status each gets on the upstream data alone. Only the design arithmetic (6 architectures x
# base/instruct = 12) computes without weights; the Gemma-3 1B base anisotropy has a measure but reads a model
# not in the run; the RDM correlations have no claim measure (the findings stage's RSA computes them on the
# run's own models), nor do the design facts and labels.
FOLLOW_UP_STATUS = {
    "jeong2026b.design.n_emotions": "not measured",
    "jeong2026b.design.n_architectures": "not measured",
    "jeong2026b.design.n_models": "replicated",
    "jeong2026b.design.model_param_range": "not measured",
    "jeong2026b.design.precision": "not measured",
    "jeong2026b.rsa.n_mature_architectures": "not measured",
    "jeong2026b.rsa.mature_pairwise_range": "not measured",
    "jeong2026b.rsa.qwen2.5_vs_llama3.2": "not measured",
    "jeong2026b.rsa.base_instruct_min": "not measured",
    "jeong2026b.rsa.mistral-7b-v0.3.base_instruct": "not measured",
    "jeong2026b.anisotropy.gemma-3-1b-pt.baseline": "not run: needs weights",
    "jeong2026b.method_effect.precision_contrast": "not measured",
}


def test_follow_up_entries_cite_the_abstract_and_get_their_exact_status(upstream_root: Path, tmp_path: Path) -> None:
    claims = load_claims(LEDGER)
    follow = [c for c in claims if c.paper == "jeong2026b"]
    assert {c.id for c in follow} == set(FOLLOW_UP_STATUS)
    assert all(c.id.startswith("jeong2026b.") for c in follow)
    assert not [c.id for c in claims if c.id.startswith("jeong2026b.") and c.paper != "jeong2026b"]
    for c in follow:
        # No shared/papers file holds it: the doc is the arXiv id, never a 3-digit file prefix.
        assert c.source == {"doc": "arXiv:2604.11050", "section": "abstract", "table": None}, c.id
    values = {c.id: c.value for c in follow}
    assert values["jeong2026b.rsa.mature_pairwise_range"] == [0.74, 0.92]
    assert values["jeong2026b.rsa.qwen2.5_vs_llama3.2"] == 0.81
    assert values["jeong2026b.rsa.base_instruct_min"] == 0.92
    assert values["jeong2026b.rsa.mistral-7b-v0.3.base_instruct"] == 0.985
    assert values["jeong2026b.anisotropy.gemma-3-1b-pt.baseline"] == 0.997
    assert (values["jeong2026b.design.n_emotions"], values["jeong2026b.design.n_models"],
            values["jeong2026b.design.n_architectures"]) == (21, 12, 6)
    data = materialised(upstream_root, tmp_path, *UPSTREAM_FILES)
    res = {r.claim.id: r for r in evaluate_claims(claims, _ctx(tmp_path, data)) if r.claim.paper == "jeong2026b"}
    assert {cid: r.status for cid, r in res.items()} == FOLLOW_UP_STATUS
    assert res["jeong2026b.design.n_models"].replicated == 12
    assert "gemma-3-1b-pt__jeong-comprehension.csv absent" in res["jeong2026b.anisotropy.gemma-3-1b-pt.baseline"].detail
    rows = [r for r in csv.DictReader(io.StringIO(claims_csv(list(res.values()))))]
    assert {r["source"] for r in rows} == {"Jeong 2026b (abstract), §abstract"}


def test_stage_writes_both_files_or_nothing(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "paper.yaml"
    cfg.write_text(yaml.safe_dump({"digits": 3, "experiment": "separation", "cells": list(CELLS),
                                   "steering": {"models": []}, "provenance": {"config_hash": "ab" * 32, "models": [], "axes": {}}}))
    good = claims_ledger(tmp_path, [claim_record("a", 0.925, {"kind": "binomial_fraction", "k": 37, "n": 40})])
    out = tmp_path / "out"
    base = ["--config", str(cfg), "--separation-dir", str(tmp_path), "--analyses-dir", str(tmp_path / "analyses"),
            "--data-dir", str(tmp_path), "--out", str(out)]
    assert main([*base, "--claims", str(good)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["claims.csv", "claims.tex", "provenance.json"]
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"claims": [claim_record("a", 1, {"kind": "nope"})]}))
    assert main([*base, "--claims", str(bad)]) == 2
    assert "bad.yaml" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# ---------------------------------------------------------------- claims that read classifier output

def _steering_ctx(tmp_path: Path, with_jhartmann: bool) -> ClaimContext:
    """The synthetic steering outputs of test_paper_steering (toy_lexicon + vader) through the
    analyses stage's steering analyses (written to ``tmp_path/analyses``), which the claims read;
    with ``with_jhartmann`` the toy_lexicon block is relabelled as the hf_sequence_classifier (j-hartmann)."""
    from helpers.steering_outputs import BASE, INST, RAW_SPEC, TOY, write_steering_outputs

    inp = write_steering_outputs(tmp_path / "steer_in")
    raw = {**RAW_SPEC, "classifiers": list(RAW_SPEC["classifiers"])}
    if with_jhartmann:
        jh = "j-hartmann/emotion-english-distilroberta-base"
        raw["classifiers"][0] = {"name": "hf_sequence_classifier", "display_name": jh}
        for model in (BASE, INST):
            path = inp["classify"] / f"{model}.csv"
            df = pd.read_csv(path)
            toy = df["classifier"] == "toy_lexicon"
            assert (df.loc[toy, "display_name"] == TOY).all()
            df.loc[toy, "classifier"], df.loc[toy, "display_name"], df.loc[toy, "n_hits"] = \
                "hf_sequence_classifier", jh, None
            df.to_csv(path, index=False)
    write_steering_analyses(raw, inp, tmp_path / "analyses")
    return ClaimContext(separation_dir=tmp_path / "sep", analyses_dir=tmp_path / "analyses",
                        valence_dir=tmp_path / "val", data_dir=tmp_path / "data",
                        paper=paper_config(steering=raw))


def write_steering_analyses(raw: dict, inp: dict[str, Path], out: Path) -> None:
    """What the analyses stage writes for a run that steered ``raw``'s models (no separation cells)."""
    from emovec.analysis.catalogue import compute_analyses, write_analyses
    from emovec.readers.paper_inputs import PaperInputs, SteeringInputs
    from emovec.readers.paper_steering import load_steering_spec
    from emovec.readers.steering import load_steering

    spec = load_steering_spec(raw, 3, "paper config")
    steering = SteeringInputs(spec=spec, data=load_steering(spec, inp["steering"], inp["classify"]))
    write_analyses(compute_analyses(PaperInputs(steering=steering)), out)


def _classifier_claims(tmp_path: Path):
    from helpers.steering_outputs import BASE, INST

    return load_claims(claims_ledger(tmp_path, [
        claim_record("agree", 0.92, {"kind": "classifier_agreement", "models": [BASE, INST]}, needs_weights=True,
               tolerance=0.05),
        claim_record("agree_vader", 0.25, {"kind": "classifier_agreement", "models": [BASE, INST], "classifier": "vader"},
               tolerance=0.001),
        claim_record("p_joy", 0.75, {"kind": "classifier_probability", "model": BASE, "scenario": "up", "label": "joy",
                               "strength": 0.05}, needs_weights=True, tolerance=0.001),
        claim_record("p_joy_vader", 0.75, {"kind": "classifier_probability", "model": BASE, "scenario": "up",
                                     "label": "joy", "strength": 0.05, "classifier": "vader"}, tolerance=0.001),
    ]))


def test_jeong_classifier_claims_are_not_run_without_jhartmann(tmp_path: Path) -> None:
    res = {r.claim.id: r for r in evaluate_claims(_classifier_claims(tmp_path), _steering_ctx(tmp_path, False))}
    # Jeong's numbers were scored by j-hartmann: never silently recomputed with another classifier
    for cid in ("agree", "p_joy"):
        assert res[cid].status == "not run: needs weights" and res[cid].replicated is None, cid
        detail = res[cid].detail
        assert "j-hartmann/emotion-english-distilroberta-base" in detail and "hf_sequence_classifier" in detail
        assert "VADER 3.3.2 (compound valence) (vader)" in detail and "toy lexicon classifier" in detail
    # a claim that names a classifier reads that one, and says so
    assert (res["agree_vader"].replicated, res["agree_vader"].status) == (0.25, "replicated")
    assert res["agree_vader"].detail == "classifier: VADER 3.3.2 (compound valence) (vader); 1/4 units"
    assert res["p_joy_vader"].status == "not run" and "label joy is not a label of VADER" in res["p_joy_vader"].detail


def test_jeong_classifier_claims_read_jhartmann_and_name_it(tmp_path: Path) -> None:
    res = {r.claim.id: r for r in evaluate_claims(_classifier_claims(tmp_path), _steering_ctx(tmp_path, True))}
    # toy-base/toy-instruct x up/down at the protocol strength: 3 of 4 units move toward the target
    assert (res["agree"].replicated, res["agree"].status) == (0.75, "differs")
    assert res["agree"].detail == ("classifier: j-hartmann/emotion-english-distilroberta-base "
                                   "(hf_sequence_classifier); 3/4 units")
    assert (res["p_joy"].replicated, res["p_joy"].status) == (0.75, "replicated")
    assert res["p_joy"].detail == "classifier: j-hartmann/emotion-english-distilroberta-base (hf_sequence_classifier)"
    assert res["agree_vader"].replicated == 0.25
    csv_text = claims_csv(list(res.values()))
    assert "classifier: j-hartmann/emotion-english-distilroberta-base (hf_sequence_classifier); 3/4 units" in csv_text


def test_loo_measures_read_the_analyses_record_of_the_named_corpora(tmp_path: Path) -> None:
    from emovec.analysis.catalogue import write_analyses
    from emovec.analysis.gen_vs_comp import GenVsComp, MethodComparison

    cmp = MethodComparison(model="m", loo_gen=(0.5, 0.01, 5), loo_comp=(0.6, 0.02, 3), mwu_u=15.0, mwu_p=2 / 56,
                           mwu_method="exact", d_loo=-6.25, diff=-0.1, diff_ci=(-0.2, 0.0), per_emotion_diff=-0.1,
                           wilcoxon_p=0.01, d=-1.0, d_ci=(-1.5, -0.5), n_emotions=20, n_boot=100,
                           generation_corpus="gen", comprehension_corpus="comp")
    write_analyses({"gen_vs_comp": GenVsComp((cmp,), (0.01,), 1, 1.0, 0.95)}, tmp_path / "analyses")
    loo = {"model": "m", "generation_corpus": "gen", "comprehension_corpus": "comp"}
    claims = load_claims(claims_ledger(tmp_path, [
        claim_record("p", 0.036, {"kind": "loo_mannwhitney_p", **loo}, tolerance=0.001),
        claim_record("d", -6.25, {"kind": "loo_cohens_d", **loo}, tolerance=0.001),
        claim_record("other", 0.036, {"kind": "loo_mannwhitney_p", **loo, "comprehension_corpus": "elsewhere"},
               tolerance=0.001),
    ]))
    res = {r.claim.id: r for r in evaluate_claims(claims, _ctx(tmp_path))}
    assert (res["p"].replicated, res["p"].status) == (2 / 56, "replicated")
    assert (res["d"].replicated, res["d"].status) == (-6.25, "replicated")
    assert res["other"].status.startswith("not run") and "m__elsewhere not in the run" in res["other"].detail
    # A record comparing other corpora than the run's cells is stale: an error naming the file.
    write_analyses({"gen_vs_comp": GenVsComp((dataclasses.replace(cmp, comprehension_corpus="x"),), (0.01,), 1, 1.0,
                                             0.95)}, tmp_path / "analyses")
    with pytest.raises(EmovecInputError, match="gen_vs_comp.json"):
        evaluate_claims(load_claims(claims_ledger(tmp_path, [claim_record("p", 0.036, {"kind": "loo_mannwhitney_p", **loo})])),
                        _ctx(tmp_path))
