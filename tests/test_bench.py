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
