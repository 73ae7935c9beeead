"""Extraction on the tiny random-weight model (emovec.activations.extract): batching, padding side,
the HF layer definition, resumable runs, the on-disk cache and stimulus tokenisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import emovec.activations.extract as ex
from emovec.activations.cache import read_cache, write_cache
from emovec.activations.extract import (
    TokenisedStimulus,
    extract_batch,
    extract_pooled,
    plan_batches,
    tokenise_stimuli,
)
from emovec.errors import EmovecInputError

ATOL = 1e-5
N_LAYERS = 3
D_MODEL = 32

TEXTS = [
    "She felt happy today.",
    "The storm broke the old fence and everyone was very afraid of the dark night.",
    "Calm water.",
    "He was proud of the garden he had grown all summer long.",
    "They waited in the cold station, nervous about the letter.",
    "A quiet and reflective morning by the lake.",
    "Angry words.",
]


@pytest.fixture(scope="module")
def loaded(tiny_model_dir: Path):
    from emovec.config.schema import ModelConfig
    from emovec.models.loading import load_model

    spec = ModelConfig(name="tiny", hf_id=None, local_dir=str(tiny_model_dir), family="toy", variant="instruct",
                       n_layers=N_LAYERS, d_model=D_MODEL, chat_template=True)
    return load_model(spec)


def _passages(loaded) -> list[TokenisedStimulus]:
    rows = [{"id": f"p{i}", "text": t} for i, t in enumerate(TEXTS)]
    return tokenise_stimuli(loaded.tokenizer, rows, max_length=256)


def _generated(loaded) -> list[TokenisedStimulus]:
    """Stimuli with a prompt and a generated part, of generation lengths on both sides of Jeong's 10."""
    tok = loaded.tokenizer
    prompts = ["Write a story about someone who feels happy.", "Write a story about someone who feels sad.",
               "Write about calm.", "Write a story about someone who feels afraid."]
    gens = [" The sun was bright and she laughed with her friends all afternoon in the park.",
            " It rained.",
            " The lake was still and the birds were quiet in the trees near the water at dusk.",
            " Dark night, cold wind, a noise in the hall, and nobody home to hear it."]
    rows = []
    for i, (p, g) in enumerate(zip(prompts, gens)):
        rows.append({"id": f"g{i}", "text": "ignored", "prompt_ids": tok(p)["input_ids"],
                     "generated_ids": tok(g, add_special_tokens=False)["input_ids"]})
    stimuli = tokenise_stimuli(tok, rows, max_length=256)
    gen_lens = [len(s.ids) - s.gen_start for s in stimuli]
    assert any(n > 10 for n in gen_lens) and any(n <= 10 for n in gen_lens), gen_lens
    return stimuli


def _pad_id(loaded) -> int:
    return loaded.tokenizer.pad_token_id


def _single(loaded, stimuli, poolings, mean_offset):
    rows = [extract_batch(loaded.bridge, N_LAYERS, [s], poolings, mean_offset, _pad_id(loaded)) for s in stimuli]
    return {p: torch.cat([r[p] for r in rows]) for p in poolings}


# --- batched vs left-padded vs unbatched ---------------------------------------------------------

@pytest.mark.parametrize("kind,poolings", [
    ("passages", ["last_token", "mean_from_offset"]),
    ("generation", ["last_token", "mean_from_offset", "mid_generation"]),
])
def test_right_left_and_unbatched_agree(loaded, kind, poolings):
    stimuli = _passages(loaded) if kind == "passages" else _generated(loaded)
    lengths = {len(s.ids) for s in stimuli}
    assert len(lengths) > 1  # padding actually happens
    right = extract_batch(loaded.bridge, N_LAYERS, stimuli, poolings, 2, _pad_id(loaded), side="right")
    left = extract_batch(loaded.bridge, N_LAYERS, stimuli, poolings, 2, _pad_id(loaded), side="left")
    single = _single(loaded, stimuli, poolings, 2)
    for p in poolings:
        assert right[p].shape == (len(stimuli), N_LAYERS, D_MODEL)
        assert right[p].dtype == torch.float32
        assert not torch.isnan(right[p]).any(), p
        torch.testing.assert_close(right[p], single[p], atol=ATOL, rtol=0)
        torch.testing.assert_close(left[p], single[p], atol=ATOL, rtol=0)


def test_poolings_differ_from_each_other(loaded):
    """Sanity: the policies do pick different tokens (otherwise the agreement test proves little)."""
    stimuli = _generated(loaded)
    out = extract_batch(loaded.bridge, N_LAYERS, stimuli, ["last_token", "mean_from_offset", "mid_generation"],
                        2, _pad_id(loaded))
    assert not torch.allclose(out["last_token"], out["mean_from_offset"])
    assert not torch.allclose(out["last_token"], out["mid_generation"])


def test_mid_generation_is_nan_for_passages_and_mean_from_offset_nan_when_too_short(loaded):
    stimuli = _passages(loaded)
    short = min(len(s.ids) for s in stimuli)
    out = extract_batch(loaded.bridge, N_LAYERS, stimuli, ["mid_generation", "mean_from_offset"], short,
                        _pad_id(loaded))
    assert torch.isnan(out["mid_generation"]).all()
    nan_rows = torch.isnan(out["mean_from_offset"]).all(dim=(1, 2))
    ok_rows = ~torch.isnan(out["mean_from_offset"]).any(dim=(1, 2))
    assert (nan_rows | ok_rows).all()
    assert nan_rows.tolist() == [len(s.ids) <= short for s in stimuli]


# --- layer definition ----------------------------------------------------------------------------

def test_last_token_matches_hf_hidden_states(loaded):
    stimuli = _passages(loaded)
    out = extract_batch(loaded.bridge, N_LAYERS, stimuli, ["last_token"], 2, _pad_id(loaded))["last_token"]
    with torch.no_grad():
        for row, s in enumerate(stimuli):
            hs = loaded.hf_model(torch.tensor([s.ids]), output_hidden_states=True).hidden_states
            assert len(hs) == N_LAYERS + 1
            for i in range(N_LAYERS - 1):
                torch.testing.assert_close(out[row, i], hs[i + 1][0, -1].float(), atol=ATOL, rtol=0)
            # The last block is taken before the final norm, so it differs from HF's last entry.
            assert not torch.allclose(out[row, N_LAYERS - 1], hs[N_LAYERS][0, -1], atol=1e-3)


# --- resumable, length-sorted batching -----------------------------------------------------------

def test_plan_batches_sorted_and_complete():
    plan = plan_batches([5, 2, 9, 2, 7], 2)
    assert plan == [[1, 3], [0, 4], [2]]
    with pytest.raises(EmovecInputError, match="batch_size"):
        plan_batches([1], 0)


def test_resume_after_interruption_gives_identical_arrays(loaded, tmp_path, monkeypatch):
    stimuli = _passages(loaded) + _generated(loaded)
    poolings = ["last_token", "mean_from_offset", "mid_generation"]
    lengths = [len(s.ids) for s in stimuli]
    assert lengths != sorted(lengths)  # input order is not length order
    kwargs = dict(batch_size=3, mean_offset=2, pad_id=_pad_id(loaded), progress=False)
    n_batches = len(plan_batches(lengths, 3))
    assert n_batches == 4

    reference = extract_pooled(loaded.bridge, N_LAYERS, stimuli, poolings, **kwargs)

    resume = tmp_path / "resume"
    with pytest.raises(KeyboardInterrupt):
        extract_pooled(loaded.bridge, N_LAYERS, stimuli, poolings, resume_dir=resume, stop_after_batches=1, **kwargs)
    assert sorted(p.name for p in resume.glob("batch-*.pt")) == ["batch-00000.pt"]
    assert not [p for p in resume.iterdir() if p.name.startswith(".")]  # no stray temp files

    calls: list[int] = []
    real = ex.extract_batch

    def counting(*args, **kw):
        calls.append(len(args[2]))
        return real(*args, **kw)

    monkeypatch.setattr(ex, "extract_batch", counting)
    resumed = extract_pooled(loaded.bridge, N_LAYERS, stimuli, poolings, resume_dir=resume, **kwargs)
    assert len(calls) == n_batches - 1
    assert sorted(p.name for p in resume.glob("batch-*.pt")) == [f"batch-{k:05d}.pt" for k in range(n_batches)]

    assert set(resumed) == set(poolings)
    for p in poolings:
        assert resumed[p].shape == (len(stimuli), N_LAYERS, D_MODEL)
        assert resumed[p].dtype == np.float32
        assert np.array_equal(resumed[p], reference[p], equal_nan=True), p

    # A fully finished resume dir computes nothing.
    calls.clear()
    again = extract_pooled(loaded.bridge, N_LAYERS, stimuli, poolings, resume_dir=resume, **kwargs)
    assert calls == []
    for p in poolings:
        assert np.array_equal(again[p], reference[p], equal_nan=True)

    # Stimulus order despite length-sorted batching: row k is stimulus k run alone.
    monkeypatch.setattr(ex, "extract_batch", real)
    single = _single(loaded, stimuli, poolings, 2)
    for p in poolings:
        np.testing.assert_allclose(reference[p], single[p].numpy(), atol=ATOL, rtol=0, equal_nan=True)
    # passages have no generated part: NaN under mid_generation; generated rows are finite
    n_pass = len(TEXTS)
    assert np.isnan(reference["mid_generation"][:n_pass]).all()
    assert not np.isnan(reference["mid_generation"][n_pass:]).any()


# --- tokenisation --------------------------------------------------------------------------------

def test_tokenise_too_long_raises_naming_stimulus(loaded):
    rows = [{"id": "short-one", "text": "Calm."}, {"id": "the-long-one", "text": " ".join(["word"] * 50)}]
    with pytest.raises(EmovecInputError, match="the-long-one") as err:
        tokenise_stimuli(loaded.tokenizer, rows, max_length=12)
    assert "max_length=12" in str(err.value)


def test_tokenise_generated_rows_reuse_stored_ids(loaded):
    rows = [{"id": "g", "text": "this text is not re-tokenised", "prompt_ids": [0, 5, 6, 7],
             "generated_ids": [9, 10, 11]},
            {"id": "p", "text": "Calm."}]
    out = tokenise_stimuli(loaded.tokenizer, rows, max_length=64)
    assert out[0] == TokenisedStimulus(ids=(0, 5, 6, 7, 9, 10, 11), gen_start=4)
    assert out[1].ids == tuple(loaded.tokenizer("Calm.")["input_ids"])
    assert out[1].gen_start == -1
    # max_length counts prompt + generated tokens
    with pytest.raises(EmovecInputError, match="'g'"):
        tokenise_stimuli(loaded.tokenizer, rows[:1], max_length=6)


# --- vectors stage reads the cache ---------------------------------------------------------------

def _cell_cache(tmp_path: Path) -> Path:
    emotions = ["happy", "happy", "sad", "sad", "neutral", "neutral", "aniso", "aniso"]
    roles = ["emotion"] * 4 + ["neutral"] * 2 + ["anisotropy"] * 2
    ids = ["h1", "h2", "s1", "s2", "n1", "n2", "a1", "a2"]
    rng = np.random.default_rng(0)
    pooled = {p: rng.normal(size=(8, N_LAYERS, D_MODEL)).astype(np.float32)
              for p in ("last_token", "mean_from_offset", "mid_generation")}
    pooled["mean_from_offset"][[1, 3]] = np.nan  # h2, s2 too short for the offset
    pooled["mid_generation"][6:] = np.nan  # anisotropy sentences have no generated part
    meta = {"ids": ids, "emotions": emotions, "roles": roles}
    write_cache(tmp_path / "cell", pooled, meta, "float32")
    return tmp_path / "cell"


def test_cell_activations_raises_naming_nan_stimuli(tmp_path):
    from emovec.activations.cache import cell_activations

    cache = _cell_cache(tmp_path)
    with pytest.raises(EmovecInputError, match="mean_from_offset") as err:
        cell_activations(cache, "mean_from_offset")
    assert "h2" in str(err.value) and "s2" in str(err.value)
    assert "h1" not in str(err.value)


def test_cell_activations_selects_rows_and_anisotropy(tmp_path):
    from emovec.activations.cache import cell_activations

    cache = _cell_cache(tmp_path)
    pooled, _ = read_cache(cache)
    acts, labels, aniso, meta = cell_activations(cache, "mid_generation")
    assert labels.tolist() == ["happy", "happy", "sad", "sad", "neutral", "neutral"]
    assert np.array_equal(acts, pooled["mid_generation"][:6])
    # under mid_generation the anisotropy sentences are pooled at their last token
    assert np.array_equal(aniso, pooled["last_token"][6:])
    assert meta["ids"][0] == "h1"
    with pytest.raises(EmovecInputError, match="nope"):
        cell_activations(cache, "nope")


def test_generated_row_without_prompt_ids_is_named():
    from emovec.activations.extract import tokenise_stimuli
    from emovec.errors import EmovecInputError

    with pytest.raises(EmovecInputError, match="'g-1'.*no prompt_ids"):
        tokenise_stimuli(None, [{"id": "g-1", "text": "x", "generated_ids": [1, 2]}], 10)


def test_extract_with_no_stimuli_is_a_clear_error():
    from emovec.activations.extract import extract_pooled
    from emovec.errors import EmovecInputError

    with pytest.raises(EmovecInputError, match="no stimuli"):
        extract_pooled(None, 3, [], ["last_token"], batch_size=2, mean_offset=0, pad_id=0)


# --- out-of-memory fallback ---------------------------------------------------------------------

def test_the_forward_stops_after_the_last_block_and_leaves_no_hook(loaded):
    """No final norm, no unembedding (no [batch, tokens, vocab] logits), and the model is clean after."""
    stimuli = _passages(loaded)
    fired = []
    with loaded.bridge.hooks(fwd_hooks=[("ln_final.hook_in", lambda t, hook: fired.append("ln_final")),
                                        ("unembed.hook_out", lambda t, hook: fired.append("unembed"))]):
        pooled = ex.extract_batch(loaded.bridge, N_LAYERS, stimuli, ["last_token"], 0, _pad_id(loaded))
        assert fired == []
        ids, mask, _ = ex.pad_batch(stimuli, _pad_id(loaded))
        with torch.no_grad():
            logits = loaded.bridge(ids, attention_mask=mask)  # a plain forward still runs to the end
        assert fired == ["ln_final", "unembed"] and logits.shape[:2] == ids.shape
    assert pooled["last_token"].shape == (len(stimuli), N_LAYERS, loaded.d_model)
    assert not any(hp._forward_hooks for hp in loaded.bridge.hook_dict.values())


def test_out_of_memory_halves_the_batch_and_gives_the_same_vectors(loaded, monkeypatch, capsys):
    stimuli = _passages(loaded)
    poolings = ["last_token", "mean_from_offset"]
    expected = ex.extract_pooled(loaded.bridge, N_LAYERS, stimuli, poolings, batch_size=8, mean_offset=2,
                                 pad_id=_pad_id(loaded), progress=False)
    real = ex.extract_batch
    sizes = []

    def limited(bridge, n_layers, batch, *args, **kwargs):
        sizes.append(len(batch))
        if len(batch) > 2:  # a device that fits 2 stimuli at a time
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(bridge, n_layers, batch, *args, **kwargs)

    monkeypatch.setattr(ex, "extract_batch", limited)
    got = ex.extract_pooled(loaded.bridge, N_LAYERS, stimuli, poolings, batch_size=8, mean_offset=2,
                            pad_id=_pad_id(loaded), progress=False)
    # 7 fails -> 3 (fails -> 1, 2) and 4 (fails -> 2, 2): halving until every piece fits.
    assert sizes == [7, 3, 1, 2, 4, 2, 2]
    for p in poolings:
        np.testing.assert_allclose(got[p], expected[p], atol=ATOL, rtol=0)
    err = capsys.readouterr().err
    assert all(f"out of memory on a batch of {n}; splitting" in err for n in (7, 3, 4))


def test_out_of_memory_on_one_stimulus_and_other_errors_are_not_swallowed(loaded, monkeypatch):
    stimuli = _passages(loaded)[:2]

    def cpu_oom(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(ex, "extract_batch", cpu_oom)
    with pytest.raises(EmovecInputError, match="out of memory on a single stimulus of \\d+ tokens"):
        ex.extract_batch_with_fallback(loaded.bridge, N_LAYERS, stimuli, ["last_token"], 2, _pad_id(loaded))

    def other(*args, **kwargs):
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(ex, "extract_batch", other)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        ex.extract_batch_with_fallback(loaded.bridge, N_LAYERS, stimuli, ["last_token"], 2, _pad_id(loaded))
