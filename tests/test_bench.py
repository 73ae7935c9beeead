"""The benchmark's pieces run on the tiny model and count what they claim to count (no timing is
asserted: speed goals live in `make bench`, never in tests)."""

from __future__ import annotations

import pytest

from emovec.activations.extract import tokenise_stimuli
from emovec.bench import bench_extraction, bench_generation, corpus_texts
from emovec.models.loading import load_model


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    from emovec.config import ModelConfig

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


def test_mean_pairwise_cosine_of_orthonormal_means_is_minus_one_over_k_minus_one() -> None:
    import numpy as np

    from emovec.bench_real import mean_pairwise_cosine

    k, per, d = 4, 3, 8
    means = np.eye(d)[:k] * 5.0
    pooled = np.zeros((k * per, 2, d))
    for i in range(k):  # each label's stories average exactly to its planted mean
        noise = np.random.default_rng(i).normal(size=(per, d))
        pooled[i * per:(i + 1) * per, 1] = means[i] + noise - noise.mean(axis=0)
    labels = [f"e{i}" for i in range(k) for _ in range(per)]
    assert mean_pairwise_cosine(pooled, labels, 1) == pytest.approx(-1 / (k - 1), abs=1e-12)


def test_valence_r_of_a_planted_valence_axis_is_one_and_unrated_emotions_are_left_out() -> None:
    import numpy as np

    from emovec.bench_real import valence_pc1_abs_r
    from emovec.errors import EmovecInputError

    valence = {"a": -0.8, "b": -0.1, "c": 0.3, "d": 0.9, "e": float("nan")}
    d = 6
    pooled, labels = [], []
    for i, (name, v) in enumerate(sorted(valence.items())):
        mean = np.zeros((2, d))
        mean[1, 0] = 10.0 * (v if np.isfinite(v) else 5.0)  # e's mean is far off the axis' line
        mean[1, 3] = 7.0 if name == "e" else 0.0
        noise = np.random.default_rng(i).normal(size=(3, 2, d))
        pooled.append(mean + noise - noise.mean(axis=0))
        labels += [name] * 3
    r, n = valence_pc1_abs_r(np.concatenate(pooled), labels, 1, valence)
    assert n == 4 and r == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(EmovecInputError, match=r"needs >= 3 emotions with a rating, got 2"):
        valence_pc1_abs_r(np.concatenate(pooled), labels, 1, {"a": 0.1, "b": 0.2})


def test_steering_delta_is_the_injected_norm_at_its_layer_and_zero_when_steered_only_after_it(loaded) -> None:
    import numpy as np

    from emovec.bench_real import steering_delta
    from emovec.steering.hooks import build_row_steering

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


def test_bf16_bench_reports_each_statistic_under_both_precisions(tiny_model_dir) -> None:
    import numpy as np

    from emovec.bench_real import bench_bf16
    from emovec.config import ModelConfig

    spec = ModelConfig(name="tiny", local_dir=str(tiny_model_dir), family="toy", variant="instruct", n_layers=3,
                       d_model=32)
    words = {"joy": "Anna laughed and sang with her friends in the sun", "fear": "Ben shook in the dark cold room",
             "anger": "Cara shouted and slammed the heavy door", "calm": "Dan rested quietly by the still lake"}
    texts, labels = [], []
    for emotion, sentence in words.items():
        for k in range(2):
            texts.append(" ".join([sentence + f" on day {k}."] * 6))  # >= 48 tokens: the delta's read
            labels.append(emotion)
    res = bench_bf16(spec, texts, labels, ["Anna was happy.", "Ben sat alone."], batch_size=4, new_tokens=2,
                     repeats=1, valence={"joy": 0.9, "fear": -0.7, "anger": -0.6, "calm": 0.4})
    assert res["n_valence"] == 4 and res["middle_layer"] == 1 and res["float32"]["steer_rows"] == 8
    for key in ("valence_abs_r_fp32", "valence_abs_r_bf16", "cosine_fp32", "cosine_bf16"):
        assert np.isfinite(res[key]), key
    assert all(np.isfinite(res[d]["steering_delta"]) for d in ("float32", "bfloat16"))
    assert res["extract_speedup"] == pytest.approx(res["bfloat16"]["extract_tok_s"] / res["float32"]["extract_tok_s"])
    assert 0 < res["median_rel"] <= res["max_rel"]


def test_stimulus_generation_bench_compares_three_batchings_of_the_same_tokens(loaded) -> None:
    from emovec.bench_real import bench_stimulus_generation

    prompts = [loaded.tokenizer(p)["input_ids"] for p in ["Anna was happy.", "Ben sat alone.", "It rained all day."]]
    res = bench_stimulus_generation(loaded, prompts, batch_size=2, max_new_tokens=4, repeats=1)
    assert res["identical"] is True and res["prompts"] == 3 and 0 < res["tokens"] <= 12
    assert set(res["tok_s"]) == {"package", "one_at_a_time", "one_batch"}
    best = max(res["tok_s"]["one_at_a_time"], res["tok_s"]["one_batch"])
    assert res["ratio_vs_best"] == pytest.approx(res["tok_s"]["package"] / best)


def test_configured_stimulus_batch_reads_the_composed_cell_and_names_a_missing_one(tmp_path) -> None:
    from emovec.bench_real import configured_stimulus_batch
    from emovec.errors import EmovecInputError

    cell = tmp_path / "build" / "config" / "cells" / "m__jeong-generation"
    with pytest.raises(EmovecInputError, match=r"m__jeong-generation/stimuli.yaml is missing: run `dvc repro compose`"):
        configured_stimulus_batch(tmp_path, "m")
    cell.mkdir(parents=True)
    (cell / "stimuli.yaml").write_text("corpus:\n  decoding:\n    batch_size: 48\n")
    assert configured_stimulus_batch(tmp_path, "m") == 48
    (cell / "stimuli.yaml").write_text("corpus:\n  decoding: {}\n")
    with pytest.raises(EmovecInputError, match=r"stimuli.yaml: no integer corpus.decoding.batch_size"):
        configured_stimulus_batch(tmp_path, "m")


def test_real_model_spec_names_the_stage_to_run_when_absent(tmp_path) -> None:
    from emovec.bench import load_real_spec
    from emovec.errors import EmovecInputError

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
    import pytest

    from emovec.bench import bench_dvc
    from emovec.errors import EmovecInputError

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
