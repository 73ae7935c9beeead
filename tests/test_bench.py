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
