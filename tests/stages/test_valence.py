"""The valence study's stages: story_corpus, valence and cka (emovec.stages.*), end to end on
small inputs: what they write, that a planted valence axis survives the whole stage, and that
bad inputs stop them with one clear line and no partial output."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from emovec import story_corpus
from emovec.activations.cache import write_cache
from emovec.compose.selection import compose_all
from emovec.emotions import JEONG_20, NEUTRAL
from emovec.geometry import valence_study
from emovec.stages import cka as cka_stage
from emovec.stages import story_corpus as story_stage
from emovec.stages import valence as valence_stage
from emovec.toy.corpus import TOY_AFFECT

SELECTION = {"experiment": "separation", "models": ["toy-base", "toy-instruct"], "corpora": ["toy-comprehension"],
             "story_corpora": ["toy-stories", "toy-instruct-stories"], "overrides": []}


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cfg") / "config"
    compose_all(SELECTION, out)
    return out


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ---------------------------------------------------------------- story_corpus


def test_project_story_corpus_is_nine_per_emotion_plus_forty_neutral_and_deterministic(config_dir: Path, tmp_path: Path):
    args = ["--config", str(config_dir / "stories" / "toy-stories.yaml")]
    assert story_stage.main([*args, "--out", str(tmp_path / "a.jsonl"), "--summary", str(tmp_path / "a.json")]) == 0
    assert story_stage.main([*args, "--out", str(tmp_path / "b.jsonl"), "--summary", str(tmp_path / "b.json")]) == 0
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    rows = _read_jsonl(tmp_path / "a.jsonl")
    per = pd.Series([r["emotion"] for r in rows]).value_counts()
    assert set(per.index) == {*JEONG_20, NEUTRAL}
    assert (per[list(JEONG_20)] == 9).all() and per[NEUTRAL] == 40
    assert {r["role"] for r in rows if r["emotion"] == NEUTRAL} == {NEUTRAL}
    summary = json.loads((tmp_path / "a.json").read_text())
    assert summary["n_stories"] == 180 and summary["n_neutral"] == 40 and summary["generator"] == "project"
    # held out from the training corpus: a different seed than toy.seed
    train_seed = yaml.safe_load((config_dir / "toy.yaml").read_text())["seed"]
    assert yaml.safe_load((config_dir / "stories" / "toy-stories.yaml").read_text())["corpus"]["stories"]["seed"] != train_seed


def _generated_slice(tmp_path: Path, config_dir: Path, tiny_spec, **stories: object) -> Path:
    raw = yaml.safe_load((config_dir / "stories" / "toy-instruct-stories.yaml").read_text())
    raw["generator_model"] = asdict(tiny_spec)
    raw["corpus"]["stories"].update({"calls_per_emotion": 1, "n_neutral": 3, **stories})
    raw["corpus"]["decoding"].update({"max_new_tokens": 6, "batch_size": 20})
    path = tmp_path / "gen.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_generated_corpus_is_written_by_its_generator(config_dir: Path, tmp_path: Path, tiny_spec):
    cfg = _generated_slice(tmp_path, config_dir, tiny_spec)
    out, summary = tmp_path / "g.jsonl", tmp_path / "g.json"
    assert story_stage.main(["--config", str(cfg), "--out", str(out), "--summary", str(summary)]) == 0
    info = json.loads(summary.read_text())
    assert info["generator"] == "tiny" and info["n_calls"] == 20 and info["prompt_format"] == "chat"
    assert info["decoding"]["do_sample"] is True and info["decoding"]["temperature"] == 0.8
    rows = _read_jsonl(out)
    stories = [r for r in rows if r["role"] == "emotion"]
    # every call either became one story or is listed as unparsed: nothing vanishes
    assert len(stories) + info["n_unparsed"] == 20
    assert sum(r["role"] == NEUTRAL for r in rows) == 3


def test_template_prompts_with_marker_splitting_are_refused_before_any_generation(config_dir: Path, tmp_path: Path, tiny_spec, capsys):
    # Template prompts ask for one story per call, so [story N] splitting is a config error.
    cfg = _generated_slice(tmp_path, config_dir, tiny_spec, split="markers", on_unparsed="error")
    raw = yaml.safe_load(cfg.read_text())
    raw["corpus"]["format"] = "templates_json"
    cfg.write_text(yaml.safe_dump(raw))
    out = tmp_path / "g.jsonl"
    assert story_stage.main(["--config", str(cfg), "--out", str(out), "--summary", str(tmp_path / "g.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "split=whole" in err
    assert not out.exists()


def test_markers_required_by_the_corpus_are_enforced(config_dir: Path, tmp_path: Path, tiny_spec, capsys,
                                                     monkeypatch: pytest.MonkeyPatch):
    """story_prompt_txt + markers on a model that writes none: error naming the request."""
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Write {n_stories} stories about {topic} for someone feeling {emotion}.")
    topics = tmp_path / "topics.txt"
    topics.write_text("a garden\na train\n")
    cfg = _generated_slice(tmp_path, config_dir, tiny_spec, split="markers", on_unparsed="error",
                           topics_path=str(topics), stories_per_call=2)
    raw = yaml.safe_load(cfg.read_text())
    raw["corpus"].update({"format": "story_prompt_txt", "path": str(prompt)})
    cfg.write_text(yaml.safe_dump(raw))
    monkeypatch.setattr(story_corpus, "_file", lambda rel: Path(rel))
    out = tmp_path / "g.jsonl"
    assert story_stage.main(["--config", str(cfg), "--out", str(out), "--summary", str(tmp_path / "g.json")]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and "-t00" in err  # names the request id (<emotion>-t00)
    assert not out.exists()


# ---------------------------------------------------------------- valence


def _planted_cache(path: Path, emotions: tuple[str, ...], n_layers: int = 3, d: int = 24, per: int = 4,
                   seed: int = 0) -> None:
    """Stories whose pooled activations carry the toy norms' valence on one axis (all layers),
    arousal on a second, plus noise; neutral texts are noise only."""
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.normal(size=(d, 2)))[0].T
    acts, labels, n_tokens = [], [], []
    for e in emotions:
        v, a = TOY_AFFECT[e]
        for _ in range(per):
            acts.append(np.tile(3 * v * u[0] + 2 * a * u[1], (n_layers, 1)) + 0.3 * rng.normal(size=(n_layers, d)))
            labels.append(e)
            n_tokens.append(int(rng.integers(20, 60)))
    for _ in range(6):
        acts.append(0.3 * rng.normal(size=(n_layers, d)))
        labels.append(NEUTRAL)
        n_tokens.append(40)
    meta = {"ids": [f"s{i}" for i in range(len(labels))], "emotions": labels,
            "roles": ["neutral" if lab == NEUTRAL else "emotion" for lab in labels], "n_tokens": n_tokens}
    arr = np.stack(acts).astype(np.float32)
    write_cache(path, {"mean_from_offset": arr, "last_token": arr.copy()}, meta, "float32")


def _valence_slice(config_dir: Path, tmp_path: Path, name: str = "valence.yaml", **valence: object) -> Path:
    raw = yaml.safe_load((config_dir / "cells" / "toy-base__toy-stories" / "valence.yaml").read_text())
    raw["valence"].update({"n_boot": 60, "n_perm": 99, **valence})
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def test_valence_stage_recovers_a_planted_axis_and_writes_every_output(config_dir: Path, tmp_path: Path):
    _planted_cache(tmp_path / "acts", JEONG_20)
    out = tmp_path / "valence"
    assert valence_stage.main(["--config", str(_valence_slice(config_dir, tmp_path)), "--activations",
                               str(tmp_path / "acts"), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["bootstrap.npz", "compare_layers.csv", "grams.npz", "layers.csv",
                                                      "norms.csv", "scores.npz", "summary.json"]
    layers = pd.read_csv(out / "layers.csv")
    assert list(layers["layer"]) == [0, 1, 2]
    assert (layers["valence_r"] > 0.9).all() and (layers["valence_r_ci_low"] > 0).all()
    summary = json.loads((out / "summary.json").read_text())
    peak = summary["peaks"]["valence"]
    assert peak["r"] == pytest.approx(layers["valence_r"].max(), abs=1e-5) and peak["p_max"] <= 0.01
    assert summary["n_emotions"] == 20 and summary["n_neutral"] == 6 and summary["n_excluded_short"] == 0
    assert summary["norms"] == "toy" and summary["weighting"] == "token" and summary["mean_offset"] == 16
    norms = pd.read_csv(out / "norms.csv")
    assert (norms["status"] == "found").all() and len(norms) == 20
    with np.load(out / "grams.npz") as z:
        assert z["grams"].shape == (3, 20, 20)
        np.testing.assert_allclose(z["grams"].sum(axis=2), 0, atol=1e-8)  # centred across emotions
    with np.load(out / "bootstrap.npz") as z:  # the draws behind the CIs of layers.csv, draw by draw
        assert z["r"].shape == (60, 3, 2) and z["boot_idx"].shape == (60, 20)
        assert list(z["emotions"]) == summary["emotions"] and list(z["targets"]) == ["valence", "arousal"]
        np.testing.assert_array_equal(z["boot_idx"], np.random.default_rng(summary["seed"]).integers(0, 20, (60, 20)))
        for j, t in enumerate(("valence", "arousal")):
            ci = np.nanquantile(z["r"][:, :, j], [0.025, 0.975], axis=0)
            np.testing.assert_allclose(ci, layers[[f"{t}_r_ci_low", f"{t}_r_ci_high"]].to_numpy().T, atol=1e-5)
            ci = np.nanquantile(z["R"][:, :, j], [0.025, 0.975], axis=0)
            np.testing.assert_allclose(ci, layers[[f"{t}_R_ci_low", f"{t}_R_ci_high"]].to_numpy().T, atol=1e-5)
        np.testing.assert_allclose(z["swapped"].mean(axis=0), layers["swap_rate"], atol=1e-6)
        assert z["compare_r"].shape == z["r"].shape == z["compare_R"].shape
    assert summary["compare"]["baseline"] == "neutral_pca" and len(summary["compare"]["removed_k"]) == 3
    assert summary["compare"]["variance_threshold"] == 0.5


def test_compare_baseline_equals_the_analysis_run_with_that_baseline(config_dir: Path, tmp_path: Path):
    """compare_layers.csv is exactly the layers.csv of a run whose vectors.baseline is the compare
    baseline (the same resamples and permutations: the same seed)."""
    _planted_cache(tmp_path / "acts", JEONG_20)
    main_cfg = _valence_slice(config_dir, tmp_path, "main.yaml")
    raw = yaml.safe_load(main_cfg.read_text())
    assert raw["vectors"]["baseline"] == "grand_mean" and raw["valence"]["compare_baseline"] == "neutral_pca"
    raw["vectors"]["baseline"], raw["valence"]["compare_baseline"] = "neutral_pca", None
    (tmp_path / "pca.yaml").write_text(yaml.safe_dump(raw))
    for name in ("main", "pca"):
        assert valence_stage.main(["--config", str(tmp_path / f"{name}.yaml"), "--activations", str(tmp_path / "acts"),
                                   "--out", str(tmp_path / name)]) == 0
    assert (tmp_path / "main" / "compare_layers.csv").read_bytes() == (tmp_path / "pca" / "layers.csv").read_bytes()
    assert not (tmp_path / "pca" / "compare_layers.csv").exists()
    main, pca = (json.loads((tmp_path / n / "summary.json").read_text()) for n in ("main", "pca"))
    assert main["compare"]["peaks"] == pca["peaks"] and main["compare"]["removed_k"] == pca["removed_k"]
    assert pca["compare"] is None


def test_token_weighting_is_a_recorded_choice_that_changes_the_vectors(config_dir: Path, tmp_path: Path):
    _planted_cache(tmp_path / "acts", JEONG_20)
    outs = {}
    for w in ("story", "token"):
        outs[w] = tmp_path / w
        cfg = _valence_slice(config_dir, tmp_path, f"{w}.yaml", weighting=w)
        assert valence_stage.main(["--config", str(cfg), "--activations", str(tmp_path / "acts"),
                                   "--out", str(outs[w] / "v")]) == 0
    s, t = (json.loads((outs[w] / "v" / "summary.json").read_text()) for w in ("story", "token"))
    assert (s["weighting"], t["weighting"]) == ("story", "token")
    with np.load(outs["story"] / "v" / "grams.npz") as a, np.load(outs["token"] / "v" / "grams.npz") as b:
        assert not np.allclose(a["grams"], b["grams"])


def test_too_few_rated_emotions_stop_the_stage_with_nothing_written(config_dir: Path, tmp_path: Path, capsys,
                                                                    monkeypatch: pytest.MonkeyPatch):
    """A norms file covering only 2 emotions, on_missing=exclude: the exclusions are allowed, but a
    PCA with 2 components and a correlation need at least 3 emotions."""
    data = tmp_path / "data" / "emotion_experiment"
    data.mkdir(parents=True)
    (data / "emotion_valence_arousal_nrc.csv").write_text(
        "emotion,valence,arousal,source\nhappy,0.9,0.5,nrc_vad\nsad,-0.8,-0.3,nrc_vad\n")
    monkeypatch.setattr(valence_study, "REPO_ROOT", tmp_path)
    _planted_cache(tmp_path / "acts", JEONG_20)
    cfg = _valence_slice(config_dir, tmp_path, norms="nrc_emotion_experiment", on_missing="exclude")
    out = tmp_path / "valence"
    assert valence_stage.main(["--config", str(cfg), "--activations", str(tmp_path / "acts"), "--out", str(out)]) == 2
    assert "at least 3 emotions" in capsys.readouterr().err
    assert not out.exists()
    # on_missing=error names the file and the missing emotions instead
    cfg = _valence_slice(config_dir, tmp_path, norms="nrc_emotion_experiment", on_missing="error")
    assert valence_stage.main(["--config", str(cfg), "--activations", str(tmp_path / "acts"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "emotion_valence_arousal_nrc.csv" in err and "calm" in err
    assert not out.exists()


def test_stories_shorter_than_the_offset_are_counted_not_averaged(config_dir: Path, tmp_path: Path, capsys):
    _planted_cache(tmp_path / "acts", JEONG_20)
    from emovec.activations.cache import read_cache

    pooled, meta = read_cache(tmp_path / "acts")
    pooled["mean_from_offset"][0] = np.nan  # first "happy" story: no token past the offset
    write_cache(tmp_path / "acts2", pooled, meta, "float32")
    out = tmp_path / "v"
    assert valence_stage.main(["--config", str(_valence_slice(config_dir, tmp_path)), "--activations",
                               str(tmp_path / "acts2"), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_excluded_short"] == 1 and summary["excluded_short_by_label"] == {"happy": 1}
    assert summary["n_stories"]["happy"] == 3
    # every story of an emotion too short: a clear error, no output
    for i in range(4):
        pooled["mean_from_offset"][i] = np.nan
    write_cache(tmp_path / "acts3", pooled, meta, "float32")
    assert valence_stage.main(["--config", str(_valence_slice(config_dir, tmp_path)), "--activations",
                               str(tmp_path / "acts3"), "--out", str(tmp_path / "w")]) == 2
    assert "happy" in capsys.readouterr().err and not (tmp_path / "w").exists()


# ---------------------------------------------------------------- cka


def test_cka_stage_from_grams_equals_cka_on_the_vectors(config_dir: Path, tmp_path: Path):
    from emovec.stats.cka import debiased_linear_cka
    from emovec.vectors import compute_emotion_vectors

    vdir = tmp_path / "valence"
    cells = []
    for k, corpus in enumerate(("toy-stories", "toy-instruct-stories")):
        _planted_cache(tmp_path / f"acts{k}", JEONG_20, seed=k)
        cfg = _valence_slice(config_dir, tmp_path, f"c{k}.yaml")
        cell = f"toy-base__{corpus}"
        raw = yaml.safe_load(cfg.read_text())
        raw.update({"cell": cell, "corpus": corpus})
        cfg.write_text(yaml.safe_dump(raw))
        assert valence_stage.main(["--config", str(cfg), "--activations", str(tmp_path / f"acts{k}"),
                                   "--out", str(vdir / cell)]) == 0
        cells.append({"cell": cell, "model": "toy-base", "corpus": corpus})
    (tmp_path / "cka.yaml").write_text(yaml.safe_dump({"valence_cells": cells}))
    assert cka_stage.main(["--config", str(tmp_path / "cka.yaml"), "--valence-dir", str(vdir),
                           "--out", str(tmp_path / "cka")]) == 0
    with np.load(tmp_path / "cka" / "toy-base.npz") as z:
        assert list(z["corpora"]) == ["toy-instruct-stories", "toy-stories"]
        within, between = z["layer_by_layer"], z["between_corpora"]
        assert within.shape == (2, 3, 3) and between.shape == (1, 3)
        np.testing.assert_array_equal(np.diagonal(within, axis1=1, axis2=2), 1.0)
    # recompute from the activations directly
    from emovec.activations.cache import read_cache

    vecs = {}
    for k, corpus in enumerate(("toy-stories", "toy-instruct-stories")):
        pooled, meta = read_cache(tmp_path / f"acts{k}")
        # the default token weighting: each story weighs its pooled tokens (those past mean_offset=16)
        weights = np.maximum(np.array(meta["n_tokens"]) - 16, 0).astype(float)
        vecs[corpus] = compute_emotion_vectors(pooled["mean_from_offset"], meta["emotions"], JEONG_20,
                                               "grand_mean", False, weights=weights).vectors
    expected = debiased_linear_cka(vecs["toy-instruct-stories"][:, 1], vecs["toy-stories"][:, 1])
    assert between[0, 1] == pytest.approx(expected, abs=1e-6)
    expected_within = debiased_linear_cka(vecs["toy-stories"][:, 0], vecs["toy-stories"][:, 2])
    assert within[1, 0, 2] == pytest.approx(expected_within, abs=1e-6)


def test_cka_stage_names_a_missing_cell(tmp_path: Path, capsys):
    (tmp_path / "cka.yaml").write_text(yaml.safe_dump({"valence_cells": [
        {"cell": "m__c", "model": "m", "corpus": "c"}]}))
    assert cka_stage.main(["--config", str(tmp_path / "cka.yaml"), "--valence-dir", str(tmp_path / "v"),
                           "--out", str(tmp_path / "cka")]) == 2
    assert "m__c" in capsys.readouterr().err and not (tmp_path / "cka").exists()
