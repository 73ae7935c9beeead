"""The benchmark's pieces run on the tiny model and count what they claim to count (no timing is
asserted: speed goals live in `make bench`, never in tests)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from emovec.activations.extract import tokenise_stimuli
from emovec.bench import bench_extraction, bench_generation
from emovec.bench_common import corpus_texts
from emovec.bench_story_stats import STORY_BASELINE, separation_cosine, story_vectors, valence_pc1_abs_r
from emovec.errors import EmovecInputError
from emovec.geometry.affect import affect_by_layer
from emovec.geometry.separation import cosine_floor, mean_pairwise_cosine
from emovec.models.loading import load_model
from emovec.vectors import compute_emotion_vectors


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    from emovec.config.schema import ModelConfig

    return load_model(ModelConfig(name="tiny", local_dir=str(tiny_model_dir), family="toy", variant="instruct",
                                  n_layers=3, d_model=32))


def test_extraction_bench_counts_every_real_token(loaded, tmp_path) -> None:
    texts, corpus = corpus_texts(5, tmp_path)  # no data/ here: toy stories
    assert len(texts) == 5 and corpus.startswith("5 toy stories")
    res = bench_extraction(loaded, texts, batch_size=2, repeats=1)
    rows = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
    assert res["tokens"] == sum(len(s.ids) for s in tokenise_stimuli(loaded.tokenizer, rows, 1024))
    assert res["ratio"] == pytest.approx(res["package_tok_s"] / res["hf_tok_s"])


def test_generation_bench_makes_every_token_and_restores_eos(loaded) -> None:
    eos = (loaded.hf_model.generation_config.eos_token_id, loaded.tokenizer.eos_token_id)
    res = bench_generation(loaded, ["Anna was happy.", "Ben sat alone."], max_new_tokens=3, repeats=1)
    assert res["tokens"] == 6 and res["ratio"] > 0
    assert (loaded.hf_model.generation_config.eos_token_id, loaded.tokenizer.eos_token_id) == eos


def _planted_stories(means: dict[str, np.ndarray], per: int, layer: int,
                     n_layers: int = 2) -> tuple[np.ndarray, list[str]]:
    """``per`` stories per label whose pooled activations [n, n_layers, d] average exactly to the
    label's planted mean at ``layer`` (noise elsewhere and around it)."""
    pooled, labels = [], []
    for i, (name, mean) in enumerate(means.items()):
        noise = np.random.default_rng(i).normal(size=(per, n_layers, mean.size))
        noise[:, layer] += mean - noise[:, layer].mean(axis=0)
        pooled.append(noise)
        labels += [name] * per
    return np.concatenate(pooled), labels


def test_story_vectors_are_the_pipelines_grand_mean_story_weighted_vectors_without_neutral() -> None:
    rng = np.random.default_rng(0)
    pooled = rng.normal(size=(11, 3, 5))
    labels = ["b", "a", "c", "b", "neutral", "a", "c", "c", "neutral", "a", "b"]
    ev = story_vectors(pooled, labels, normalise=True)
    expected = compute_emotion_vectors(pooled, labels, ["a", "b", "c"], baseline="grand_mean", normalise=True,
                                       weights=None)
    assert ev.emotions == ("a", "b", "c") and ev.baseline == STORY_BASELINE == "grand_mean" and ev.normalised
    assert np.array_equal(ev.vectors, expected.vectors)
    assert ev.n_per_emotion == {"a": 3, "b": 3, "c": 3} and ev.n_neutral == 2


def test_separation_cosine_is_the_pipelines_mean_pairwise_cosine_and_hits_the_floor_for_orthonormal_means() -> None:
    k, d, layer = 4, 8, 1
    pooled, labels = _planted_stories({f"e{i}": np.eye(d)[i] * 5.0 for i in range(k)}, per=3, layer=layer)
    emotions = sorted(set(labels))
    pipeline = mean_pairwise_cosine(compute_emotion_vectors(pooled, labels, emotions, "grand_mean", False).vectors)
    for at in (0, 1):
        assert separation_cosine(pooled, labels, at) == float(pipeline[at])
    # orthonormal means minus their grand mean: a regular simplex at the floor -1/(k-1)
    assert separation_cosine(pooled, labels, layer) == pytest.approx(cosine_floor(k), abs=1e-12)
    # neutral stories are no emotion of the vectors: adding them changes nothing
    with_neutral = np.concatenate([pooled, np.random.default_rng(9).normal(size=(2, 2, d))])
    assert separation_cosine(with_neutral, [*labels, "neutral", "neutral"], layer) == \
        separation_cosine(pooled, labels, layer)


def test_valence_r_is_the_pipelines_and_leaves_out_emotions_without_both_ratings() -> None:
    pooled = np.random.default_rng(3).normal(size=(18, 3, 6))
    labels = [e for e in "abcdef" for _ in range(3)]
    valence = {"a": -0.8, "b": -0.1, "c": 0.3, "d": 0.9, "e": float("nan"), "f": 0.5}
    arousal = {"a": 0.2, "b": 0.7, "c": -0.4, "d": 0.1, "e": 0.3, "f": float("nan")}
    rated = ["a", "b", "c", "d"]
    # the valence stage's way: unrated emotions out first, then vectors, then every layer's PCA
    # under its own orientation rule and resampling sizes
    pipeline = affect_by_layer(compute_emotion_vectors(pooled, labels, rated, "grand_mean", False).vectors, rated,
                               [valence[e] for e in rated], [arousal[e] for e in rated], n_boot=50, n_perm=50,
                               seed=1, orientation="anchor", anchors=("d", "a"))
    for layer in range(3):
        r, n = valence_pc1_abs_r(pooled, labels, layer, valence, arousal)
        assert n == 4
        assert r == pytest.approx(abs(pipeline.layers["valence_r"].iloc[layer]), rel=1e-12, abs=1e-15)
    with pytest.raises(EmovecInputError, match=r"needs >= 3 emotions with a rating, got 2"):
        valence_pc1_abs_r(pooled, labels, 1, {"a": 0.1, "b": 0.2}, arousal)


def test_valence_r_of_a_planted_valence_axis_is_one() -> None:
    valence = {"a": -0.9, "b": -0.3, "c": 0.3, "d": 0.9}
    arousal = {"a": 0.5, "b": -0.5, "c": -0.5, "d": 0.5}  # uncorrelated with valence: PC2
    means = {e: np.array([10.0 * valence[e], 3.0 * arousal[e], 0.0, 0.0]) for e in valence}
    pooled, labels = _planted_stories(means, per=3, layer=1)
    r, n = valence_pc1_abs_r(pooled, labels, 1, valence, arousal)
    assert n == 4 and r == pytest.approx(1.0, abs=1e-12)


def test_steering_delta_is_the_injected_norm_at_its_layer_and_zero_when_steered_only_after_it(loaded) -> None:
    from emovec.bench_real import steering_delta
    from emovec.steering.additions import build_row_steering

    units = np.random.default_rng(0).normal(size=(loaded.n_layers, loaded.d_model))
    units /= np.linalg.norm(units, axis=-1, keepdims=True)
    ids = [loaded.tokenizer(t)["input_ids"] for t in ["Anna was happy today.", "Ben sat alone at home."]]
    prompts, gens = [x[:3] for x in ids], [x[3:] for x in ids]
    layer = 1
    # Steered only after the read layer: the read is untouched, exactly.
    assert steering_delta(loaded, units, prompts, gens, 0.5, layer, layers=[2]) == 0.0
    # Steered only at it: the read moves by the injected addition's length (units are unit norm),
    # strength x the prompt's mean token norm, per row; float32 model, so to float32 rounding.
    additions = build_row_steering(loaded, np.repeat(units[None], 2, axis=0), [0.5, 0.5], [layer],
                                   "prompt_mean_norm", prompt_ids=prompts).additions[layer]
    expected = float(additions.double().norm(dim=-1).mean())
    assert steering_delta(loaded, units, prompts, gens, 0.5, layer, layers=[layer]) == pytest.approx(expected, rel=1e-5)


def test_bf16_bench_reports_the_pipelines_statistics_of_each_precisions_activations(tiny_model_dir) -> None:
    from emovec.activations.extract import extract_pooled
    from emovec.bench_real import bench_bf16, steering_delta
    from emovec.config.schema import ModelConfig

    spec = ModelConfig(name="tiny", local_dir=str(tiny_model_dir), family="toy", variant="instruct", n_layers=3,
                       d_model=32)
    words = {"joy": "Anna laughed and sang with her friends in the sun", "fear": "Ben shook in the dark cold room",
             "anger": "Cara shouted and slammed the heavy door", "calm": "Dan rested quietly by the still lake"}
    texts, labels = [], []
    for emotion, sentence in words.items():
        for k in range(2):
            texts.append(" ".join([sentence + f" on day {k}."] * 6))  # >= 48 tokens: the delta's read
            labels.append(emotion)
    valence = {"joy": 0.9, "fear": -0.7, "anger": -0.6, "calm": 0.4}
    arousal = {"joy": 0.6, "fear": 0.8, "anger": 0.9, "calm": -0.7}
    res = bench_bf16(spec, texts, labels, ["Anna was happy.", "Ben sat alone."], batch_size=4, new_tokens=2,
                     repeats=1, valence=valence, arousal=arousal)
    assert res["n_valence"] == 4 and res["middle_layer"] == 1 and res["float32"]["steer_rows"] == 8
    assert res["extract_speedup"] == pytest.approx(res["bfloat16"]["extract_tok_s"] / res["float32"]["extract_tok_s"])
    assert 0 < res["median_rel"] <= res["max_rel"]
    emotions = sorted(words)
    pooled = {}
    for dtype, tag in (("float32", "fp32"), ("bfloat16", "bf16")):
        # the same stories extracted again in that precision, then the pipeline's own functions
        loaded = load_model(dataclasses.replace(spec, dtype=dtype))
        stimuli = tokenise_stimuli(loaded.tokenizer, [{"id": str(i), "text": t} for i, t in enumerate(texts)], 1024)
        acts = extract_pooled(loaded.bridge, loaded.n_layers, stimuli, ["mean_from_offset"], batch_size=4,
                              mean_offset=0, pad_id=loaded.tokenizer.pad_token_id, progress=False)["mean_from_offset"]
        pooled[dtype] = acts = acts.astype(np.float64)
        raw = compute_emotion_vectors(acts, labels, emotions, baseline="grand_mean", normalise=False)
        assert res[f"cosine_{tag}"] == float(mean_pairwise_cosine(raw.vectors)[1])
        affect = affect_by_layer(raw.vectors, emotions, [valence[e] for e in emotions], [arousal[e] for e in emotions],
                                 n_boot=10, n_perm=10, seed=0, orientation="anchor", anchors=("joy", "fear"))
        assert res[f"valence_abs_r_{tag}"] == pytest.approx(abs(affect.layers["valence_r"].iloc[1]), rel=1e-12)
        units = compute_emotion_vectors(acts, labels, emotions, baseline="grand_mean", normalise=True).vectors[0]
        ids = [loaded.tokenizer(t)["input_ids"] for t in texts][:8]
        delta = steering_delta(loaded, units, [x[:16] for x in ids], [x[16:48] for x in ids], 0.05, 1)
        assert res[dtype]["steering_delta"] == delta
    a, b = pooled["float32"], pooled["bfloat16"]
    assert res["max_abs"] == float(np.abs(a - b).max())
    assert res["max_rel"] == float((np.linalg.norm(a - b, axis=-1) / np.linalg.norm(a, axis=-1)).max())


def test_stimulus_generation_bench_compares_four_decodings_of_the_same_tokens_and_extraction(loaded) -> None:
    from emovec.bench_real import bench_stimulus_generation

    prompts = [loaded.tokenizer(p)["input_ids"] for p in ["Anna was happy.", "Ben sat alone.", "It rained all day."]]
    res = bench_stimulus_generation(loaded, prompts, batch_size=2, max_new_tokens=4, repeats=1)
    assert res["identical"] is True and res["prompts"] == 3 and 0 < res["tokens"] <= 12
    assert set(res["tok_s"]) == {"package", "dynamic_cache", "one_at_a_time", "one_batch"}
    best = max(res["tok_s"]["one_at_a_time"], res["tok_s"]["one_batch"])
    assert res["ratio_vs_best"] == res["tok_s"]["package"] / best
    assert res["over_dynamic_cache"] == res["tok_s"]["package"] / res["tok_s"]["dynamic_cache"]
    assert res["gen_over_extract"] == res["tok_s"]["package"] / res["extract_tok_s"] and res["extract_tok_s"] > 0


def test_configured_stimulus_batch_reads_the_composed_cell_and_names_a_missing_one(tmp_path) -> None:
    from emovec.bench_real import configured_stimulus_batch

    cell = tmp_path / "build" / "config" / "cells" / "m__jeong-generation"
    with pytest.raises(EmovecInputError, match=r"m__jeong-generation/stimuli.yaml is missing: run `dvc repro compose`"):
        configured_stimulus_batch(tmp_path, "m")
    cell.mkdir(parents=True)
    (cell / "stimuli.yaml").write_text("corpus:\n  decoding:\n    batch_size: 48\n")
    assert configured_stimulus_batch(tmp_path, "m") == 48
    (cell / "stimuli.yaml").write_text("corpus:\n  decoding: {}\n")
    with pytest.raises(EmovecInputError, match=r"stimuli.yaml: no integer corpus.decoding.batch_size"):
        configured_stimulus_batch(tmp_path, "m")


def test_a_model_whose_generation_cell_is_not_run_reads_another_models_prompts_re_encoded(tmp_path) -> None:
    import json

    import yaml

    from emovec.bench_real import _stimulus_prompts, stimulus_source

    cells = tmp_path / "build" / "config" / "cells"
    for model, slice_ in (("base", {"selected": False, "reason": "not run"}), ("inst", {"corpus": {}})):
        (cells / f"{model}__jeong-generation").mkdir(parents=True)
        (cells / f"{model}__jeong-generation" / "stimuli.yaml").write_text(yaml.safe_dump(slice_))
    assert stimulus_source(tmp_path, "inst") == "inst" and stimulus_source(tmp_path, "base") == "inst"
    assert stimulus_source(tmp_path / "nowhere", "inst") is None
    (tmp_path / "build" / "stimuli").mkdir()
    rows = [{"prompt": "Write about joy.", "prompt_ids": [1, 7, 8]},
            {"prompt": "Write about joy.", "prompt_ids": [1, 7, 8]},
            {"prompt": "Write of fear.", "prompt_ids": [1, 7, 9]}, {"prompt": "neutral", "prompt_ids": None}]
    (tmp_path / "build" / "stimuli" / "inst__jeong-generation.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows))
    assert _stimulus_prompts(tmp_path, "inst", 5) == [[1, 7, 8], [1, 7, 9]]

    def words(text: str) -> dict[str, list[int]]:  # a stand-in tokenizer: one id per word length
        return {"input_ids": [len(w) for w in text.split()]}

    assert _stimulus_prompts(tmp_path, "inst", 5, words) == [[5, 5, 4], [5, 2, 5]]


def test_real_model_spec_names_the_stage_to_run_when_absent(tmp_path) -> None:
    from emovec.bench_common import load_real_spec

    with pytest.raises(EmovecInputError, match=r"models/smollm2-135m-instruct.yaml is missing: run `dvc repro"):
        load_real_spec("smollm2-135m-instruct", tmp_path)


def test_real_bench_skips_a_model_without_weights_and_refuses_an_unknown_item(capsys) -> None:
    from emovec.bench_real import main

    assert main(["--real", "no-such-model", "--items", "5"]) == 0
    assert "real model no-such-model: skipped (no build/weights/no-such-model: run `dvc repro model@no-such-model`)" \
        in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--real", "no-such-model", "--items", "6"])
    assert "invalid choice: 6" in capsys.readouterr().err


def test_dvc_bench_on_a_built_checkout_refuses_bad_inputs_and_leaves_the_config(tmp_path) -> None:
    from emovec.bench import bench_dvc

    cfg = tmp_path / "conf" / "separation" / "default.yaml"
    cfg.parent.mkdir(parents=True)
    with pytest.raises(EmovecInputError, match="--full-s"):
        bench_dvc(tmp_path, built=tmp_path)
    cfg.write_text("n_permutations: 100\n")
    with pytest.raises(EmovecInputError, match=r"default\.yaml.*n_permutations: 200"):
        bench_dvc(tmp_path, built=tmp_path, full_s=10.0)
    cfg.write_text("n_permutations: 200   # draws\n")
    with pytest.raises(EmovecInputError, match="dvc status is not clean"):
        bench_dvc(tmp_path, built=tmp_path, full_s=10.0)   # not a dvc repository: nothing is edited
    assert cfg.read_text() == "n_permutations: 200   # draws\n"


def test_memory_child_runs_as_its_own_module_and_its_failure_names_the_arguments() -> None:
    from emovec.bench_memory import _run_child

    with pytest.raises(RuntimeError, match=r"(?s)bench child \['--stories', '1'\] failed: usage: bench_memory.py .*"
                                           r"required: --batch-size"):
        _run_child(["--stories", "1"])
