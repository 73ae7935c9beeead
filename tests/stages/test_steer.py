"""The steer and steer_classify stages on the tiny GPT-2: outputs hold exactly the planned grid
with consistent measures, and every bad input stops the stage before generation with nothing written."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from emovec.activations.cache import write_cache
from emovec.artefacts.declarations import CLASSIFY_SCORES, STEERING_MEASURES, STEERING_NORMS
from emovec.config.schema import ClassifierConfig, DecodingConfig, ModelConfig, SteeringConfig, VectorsConfig
from emovec.emotions import JEONG_20, NEUTRAL
from emovec.errors import EmovecInputError
from emovec.stages import steer_classify as steer_classify_stage
from emovec.steering import classify_study as steer_classify
from emovec.steering import study as steer

N_LAYERS, D = 3, 32


def _cache(path: Path, d: int = D, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    emotions = [e for e in JEONG_20 for _ in range(2)] + [NEUTRAL] * 3
    acts = rng.standard_normal((len(emotions), N_LAYERS, d)).astype(np.float32)
    meta = {"ids": [f"r{i}" for i in range(len(emotions))], "emotions": emotions,
            "roles": ["neutral" if e == NEUTRAL else "emotion" for e in emotions], "axes": {"model": "tiny"}}
    write_cache(path, {"mid_generation": acts, "last_token": acts.copy()}, meta, "float32")
    return path


def _scenarios(tmp_path: Path, emotion: str = "happy") -> Path:
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps({"scenarios": [
        {"name": "up", "prompt": "She sat alone.", "emotion": emotion, "strength": 0.03},
        {"name": "down", "prompt": "He poured the tea.", "emotion": "calm", "strength": -0.02,
         "induction_prompt": "He poured the tea. He felt anxious."}]}))
    return path


def _raw(tiny_spec: ModelConfig, scenario_path: Path, **steering: object):
    st = SteeringConfig(scenario_path=str(scenario_path), strengths=[0.005, 0.05], n_random=2,
                        decoding=DecodingConfig(max_new_tokens=5, batch_size=8))
    for k, v in steering.items():
        setattr(st, k, v)
    body = {k: v for k, v in asdict(st).items() if k not in ("classifiers", "regimes", "ci_level")}
    return OmegaConf.create({"model": asdict(tiny_spec), "steering": body,
                             "vectors_from": {"cell": "tiny__c", "corpus": "c", "emotion_set": "jeong20",
                                              "pooling": "mid_generation", "vectors": asdict(VectorsConfig())},
                             "scorer": None, "scenario_sha256": None})


@pytest.fixture(scope="module")
def steered(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("steer")
    spec = ModelConfig(name="tiny", hf_id=None, local_dir=str(tiny_model_dir), family="toy", variant="instruct",
                       n_layers=N_LAYERS, d_model=D, chat_template=True)
    steer.run(_raw(spec, _scenarios(tmp)), "slice.yaml", str(_cache(tmp / "acts")), str(tmp / "out"))
    return tmp / "out"


def test_steer_writes_the_planned_grid(steered: Path):
    m = pd.read_csv(steered / "measures.csv")
    assert list(m.columns) == list(STEERING_MEASURES.names)
    # per scenario: unsteered, induction, 3 magnitudes (0.005, 0.05, protocol) x (emotion + 2 random)
    assert len(m) == 2 * (2 + 3 * 3)
    counts = m.groupby(["scenario", "condition"]).size().to_dict()
    assert counts[("up", "emotion")] == 3 and counts[("up", "random")] == 6 and counts[("down", "induction")] == 1
    assert (m[m.condition == "unsteered"].delta == 0).all()
    ok = m.n_gen_tokens > 0
    np.testing.assert_allclose(m.ppl[ok], np.exp(m.nll_sum[ok] / m.n_gen_tokens[ok]), rtol=1e-9)
    assert set(m.direction[m.scenario == "down"]) == {-1}
    assert (m[m.condition == "random"].strength <= 0).sum() == 6  # anti-steering: signed like the scenario
    gens = [json.loads(line) for line in (steered / "generations.jsonl").read_text().splitlines()]
    assert [g["id"] for g in gens] == list(m.id)
    summary = json.loads((steered / "summary.json").read_text())
    assert summary["layers"] == [0, 1, 2] and summary["projection_layer"] == 1
    # the random control's addition has exactly the emotion vector's norm
    assert summary["mean_addition_norm"]["random"] == pytest.approx(summary["mean_addition_norm"]["emotion"], rel=1e-6)


def test_steer_records_the_reference_against_the_typical_token_norm(steered: Path, tiny_model_dir: Path):
    """norms.csv: per steered layer, the reference (prompt mean, BOS included) and the median token
    norm over the distinct prompts, equal to a direct computation on those prompts."""
    from emovec.models.loading import load_model
    from emovec.steering.norm_reference import block_output_token_norms

    norms = pd.read_csv(steered / "norms.csv")
    assert list(norms.columns) == list(STEERING_NORMS.names)
    assert list(norms.layer) == [0, 1, 2] and set(norms.norm_reference) == {"prompt_mean_norm"}
    gens = [json.loads(line) for line in (steered / "generations.jsonl").read_text().splitlines()]
    distinct = [list(p) for p in dict.fromkeys(tuple(g["prompt_ids"]) for g in gens)]
    assert set(norms.n_prompts) == {len(distinct)} and len(distinct) < len(gens)
    spec = ModelConfig(name="tiny", hf_id=None, local_dir=str(tiny_model_dir), family="toy", variant="instruct",
                       n_layers=N_LAYERS, d_model=D, chat_template=True)
    stats = {k: v.double().numpy() for k, v in block_output_token_norms(load_model(spec), distinct, [0, 1, 2]).items()}
    ratio = stats["mean"] / stats["median"]
    np.testing.assert_allclose(norms.reference_norm, stats["mean"].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(norms.typical_norm, stats["median"].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(norms.first_token_norm, stats["first"].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(norms.ratio_mean, ratio.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(norms.ratio_min, ratio.min(axis=0), rtol=1e-6)
    np.testing.assert_allclose(norms.ratio_max, ratio.max(axis=0), rtol=1e-6)


def test_steer_is_deterministic(steered: Path, tiny_model_dir: Path, tmp_path: Path):
    spec = ModelConfig(name="tiny", hf_id=None, local_dir=str(tiny_model_dir), family="toy", variant="instruct",
                       n_layers=N_LAYERS, d_model=D, chat_template=True)
    steer.run(_raw(spec, _scenarios(tmp_path)), "slice.yaml", str(_cache(tmp_path / "acts")), str(tmp_path / "out"))
    for name in ("measures.csv", "generations.jsonl", "norms.csv"):
        assert (tmp_path / "out" / name).read_bytes() == (steered / name).read_bytes()
    again, first = (json.loads((d / "summary.json").read_text()) for d in (tmp_path / "out", steered))
    assert again.pop("scenario_path") != first.pop("scenario_path")  # the only difference: where the file was
    assert again == first


@pytest.mark.parametrize("case, message", [
    ("unknown_emotion", r"unknown emotion 'joyful'"),
    ("unknown_scenario", r"unknown scenario\(s\) \['sideways'\]"),
    ("other_width", r"width 16, but model 'tiny' has 3 layers x d_model 32: they come from another model"),
])
def test_bad_inputs_stop_before_generation(tiny_spec: ModelConfig, tmp_path: Path, monkeypatch, case: str, message: str):
    import emovec.models.loading as loading

    def no_load(spec):  # the check must come before the model is even loaded
        raise AssertionError("model loaded before the inputs were checked")

    monkeypatch.setattr(loading, "load_model", no_load)
    scenarios = _scenarios(tmp_path, emotion="joyful" if case == "unknown_emotion" else "happy")
    raw = _raw(tiny_spec, scenarios, scenarios=["sideways"] if case == "unknown_scenario" else None)
    acts = _cache(tmp_path / "acts", d=16 if case == "other_width" else D)
    with pytest.raises(EmovecInputError, match=message):
        steer.run(raw, "slice.yaml", str(acts), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


TOY = "toy lexicon classifier (offline fallback, not j-hartmann)"
STIMULI = Path(steer_classify.__file__).resolve().parents[1] / "stimuli"
VADER = ClassifierConfig(name="vader", label_map="stimuli/emotion_to_vader_valence.csv")
NRC = ClassifierConfig(name="nrc_lexicon", label_map="stimuli/emotion_to_nrc.csv")


def test_classify_stage_probabilities_and_targets(steered: Path, tmp_path: Path):
    gens = [json.loads(line) for line in (steered / "generations.jsonl").read_text().splitlines()]
    text = steer_classify.classify(gens, [ClassifierConfig()], "generations.jsonl")
    out = tmp_path / "c.csv"
    out.write_text(text)
    c = pd.read_csv(out)
    assert tuple(c.columns) == CLASSIFY_SCORES.names == ("id", "classifier", "display_name", "target_label",
                                                           "p_target", "n_hits", "scores")
    assert list(c.id) == [g["id"] for g in gens]
    scores = [json.loads(s) for s in c.scores]
    assert all(list(s) == ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"] for s in scores)
    np.testing.assert_allclose([sum(s.values()) for s in scores], 1.0, atol=1e-12)
    targets = dict(zip(c.id, c.target_label))
    assert {targets[g["id"]] for g in gens if g["emotion"] == "happy"} == {"joy"}
    assert (c.p_target == [s[t] for s, t in zip(scores, c.target_label)]).all()
    assert set(c.classifier) == {"toy_lexicon"} and set(c.display_name) == {TOY}
    assert (c.n_hits >= 0).all()


def test_classify_stage_runs_every_classifier(steered: Path, tmp_path: Path):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from emovec.steering.classifiers import build_classifier

    gens = [json.loads(line) for line in (steered / "generations.jsonl").read_text().splitlines()]
    no_hits: dict[str, int] = {}
    text = steer_classify.classify(gens, [ClassifierConfig(), VADER, NRC], "generations.jsonl", no_hits)
    out = tmp_path / "c.csv"
    out.write_text(text)
    c = pd.read_csv(out, keep_default_na=False)
    # one row per (classifier, generation): classifier blocks in config order, generations in file order
    assert len(c) == 3 * len(gens)
    assert list(c.classifier) == ["toy_lexicon"] * len(gens) + ["vader"] * len(gens) + ["nrc_lexicon"] * len(gens)
    for name in ("toy_lexicon", "vader", "nrc_lexicon"):
        assert list(c.id[c.classifier == name]) == [g["id"] for g in gens]
    assert set(c.display_name[c.classifier == "vader"]) == {"VADER 3.3.2 (compound valence)"}
    assert set(c.display_name[c.classifier == "nrc_lexicon"]) == {"NRC emotion lexicon (NRCLex 4.1.0)"}

    v = c[c.classifier == "vader"].reset_index(drop=True)
    sia = SentimentIntensityAnalyzer()
    for g, row in zip(gens, v.itertuples()):
        compound = sia.polarity_scores(g["text"])["compound"]
        sign = 1.0 if g["emotion"] in ("happy", "calm") else -1.0  # the scenarios' emotions
        assert row.target_label == ("valence_positive" if sign > 0 else "valence_negative")
        assert float(row.p_target) == compound * sign
        assert json.loads(row.scores) == {"valence_positive": compound, "valence_negative": 0.0 - compound}

    n = c[c.classifier == "nrc_lexicon"].reset_index(drop=True)
    nrc = build_classifier(NRC)
    expected = nrc.predict([g["text"] for g in gens])
    for i, row in enumerate(n.itertuples()):
        assert row.target_label == {"happy": "joy", "calm": "positive"}[gens[i]["emotion"]]
        s = json.loads(row.scores)
        assert list(s) == ["anger", "anticipation", "disgust", "fear", "joy", "sadness", "surprise", "trust",
                           "positive", "negative"]
        assert list(s.values()) == expected[i].tolist() and float(row.p_target) == s[row.target_label]
    hits = nrc.hits([g["text"] for g in gens])
    assert n.n_hits.astype(int).tolist() == hits.tolist()
    assert no_hits["nrc_lexicon"] == int((hits == 0).sum()) and set(no_hits) == {"toy_lexicon", "vader", "nrc_lexicon"}


def test_classify_stage_main_reads_the_classifiers_list(steered: Path, tmp_path: Path, capsys):
    cfg = tmp_path / "classify.yaml"
    cfg.write_text(OmegaConf.to_yaml({"model": "tiny", "classifiers": [asdict(VADER), asdict(NRC)]}))
    out = tmp_path / "c.csv"
    assert steer_classify_stage.main(["--config", str(cfg), "--steering", str(steered), "--out", str(out)]) == 0
    c = pd.read_csv(out)
    assert list(dict.fromkeys(c.classifier)) == ["vader", "nrc_lexicon"]
    assert "without a lexicon hit" in capsys.readouterr().out
    old = tmp_path / "old.yaml"
    old.write_text(OmegaConf.to_yaml({"model": "tiny", "classifier": asdict(VADER)}))
    out2 = tmp_path / "c2.csv"
    assert steer_classify_stage.main(["--config", str(old), "--steering", str(steered), "--out", str(out2)]) == 2
    assert not out2.exists() and "re-run the compose stage" in capsys.readouterr().err


def test_classify_stage_unmapped_emotion_writes_nothing(tmp_path: Path, monkeypatch):
    steering = tmp_path / "steering"
    steering.mkdir()
    (steering / "generations.jsonl").write_text(json.dumps({"id": "a", "emotion": "happy", "text": "x"}) + "\n"
                                                + json.dumps({"id": "b", "emotion": "awestruck", "text": "y"}) + "\n")
    mapping = tmp_path / "map.csv"
    mapping.write_text("emotion,label,rationale\nhappy,valence_positive,positive\n")
    cfg = tmp_path / "classify.yaml"
    bad = ClassifierConfig(name="vader", label_map=str(mapping))
    cfg.write_text(OmegaConf.to_yaml({"model": "tiny", "classifiers": [asdict(NRC), asdict(bad)]}))
    out = tmp_path / "c.csv"
    import emovec.steering.classifiers as classifiers

    def no_build(cfg):  # every map is checked before any classifier is built or run
        raise AssertionError("a classifier was built before every label map was checked")

    monkeypatch.setattr(classifiers, "build_classifier", no_build)
    rc = steer_classify_stage.main(["--config", str(cfg), "--steering", str(steering), "--out", str(out)])
    assert rc == 2 and not out.exists()
    with pytest.raises(EmovecInputError) as info:
        steer_classify.classify([{"id": "a", "emotion": "awestruck", "text": "x"}],
                                [ClassifierConfig(), bad], "g.jsonl")
    msg = str(info.value)
    # toy_lexicon's map has no 'awestruck' either: the first classifier's map is named
    assert "g.jsonl: row 1: emotion 'awestruck'" in msg and "emotion_to_ekman7.csv" in msg
    with pytest.raises(EmovecInputError) as info:
        steer_classify.classify([{"id": "a", "emotion": "happy", "text": "x"}, {"id": "b", "emotion": "sad",
                                                                                "text": "y"}], [bad], "g.jsonl")
    assert "row 2: emotion 'sad'" in str(info.value) and str(mapping) in str(info.value)


def test_classify_stage_refuses_a_map_of_another_classifier(tmp_path: Path):
    wrong = ClassifierConfig(name="vader")  # the default label_map is the EKMAN7 one
    with pytest.raises(EmovecInputError, match=r"emotion_to_ekman7\.csv: data row 1: label 'joy' for 'happy' is not "
                                               r"one of \['valence_positive', 'valence_negative'\]"):
        steer_classify.classify([{"id": "a", "emotion": "happy", "text": "x"}], [wrong], "g.jsonl")


def test_steer_check_stage_writes_a_not_selected_note_when_the_selection_has_no_check(tmp_path: Path):
    from emovec.stages import steer_check
    from emovec.stages.common import NOT_SELECTED

    (tmp_path / "steer_check.yaml").write_text("selected: false\nreason: the selection has no steering_check\n")
    assert steer_check.main(["--config", str(tmp_path / "steer_check.yaml"), "--activations", str(tmp_path / "none"),
                             "--out", str(tmp_path / "out")]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == [NOT_SELECTED]
    assert (tmp_path / "out" / NOT_SELECTED).read_text() == "the selection has no steering_check\n"
