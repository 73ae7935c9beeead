"""Generation of stimuli (emovec.generate): requests, prompt format, dedup and batched decoding."""

from __future__ import annotations

import copy
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from emovec.config.schema import ModelConfig
from emovec.corpora.stimuli import read_templates
from emovec.emotions import JEONG_20, NEUTRAL
from emovec.errors import EmovecInputError
from emovec.generate import (
    deduplicate,
    encode_prompt,
    generate_ids,
    generation_order,
    generation_requests,
    left_pad,
    use_chat_format,
)
from emovec.models.loading import load_model
from emovec.paths import PACKAGE_DIR
from emovec.toy.train import ASSISTANT, BOS, chat_prompt

TEMPLATES = read_templates(PACKAGE_DIR / "stimuli" / "generation_templates.json", "templates_json")


# ---------------------------------------------------------------- requests


def test_generation_requests_cycle_templates_and_topics():
    reqs = generation_requests(TEMPLATES, JEONG_20, n_per_emotion=7, n_neutral=12)
    assert len(reqs) == 20 * 7 + 12
    happy = [r for r in reqs if r["emotion"] == "happy"]
    assert [r["template"] for r in happy] == [0, 1, 2, 3, 4, 0, 1]
    assert [r["id"] for r in happy] == [f"happy-{s:03d}" for s in range(7)]
    for s, r in enumerate(happy):
        assert r["prompt"] == TEMPLATES["templates"][s % 5].format(emotion="happy")
        assert r["role"] == "emotion"
    assert happy[5]["prompt"] == happy[0]["prompt"]  # story 6 reuses template 1 (Jeong)
    neutral = [r for r in reqs if r["emotion"] == NEUTRAL]
    topics = TEMPLATES["neutral_topics"]
    assert [r["prompt"] for r in neutral] == [TEMPLATES["neutral_template"].format(topic=topics[s % 10])
                                              for s in range(12)]
    assert neutral[10]["prompt"] == neutral[0]["prompt"]
    assert {r["role"] for r in neutral} == {NEUTRAL} and {r["template"] for r in neutral} == {-1}
    assert [r["emotion"] for r in reqs[:7]] == ["happy"] * 7 and reqs[-1]["id"] == "neutral-011"
    assert len({r["id"] for r in reqs}) == len(reqs)


@pytest.mark.parametrize("n_per_emotion,n_neutral", [(0, 10), (10, 0)])
def test_generation_requests_need_at_least_one(n_per_emotion: int, n_neutral: int):
    with pytest.raises(EmovecInputError, match="n_per_emotion and corpus.n_neutral must be >= 1"):
        generation_requests(TEMPLATES, JEONG_20, n_per_emotion, n_neutral)


# ---------------------------------------------------------------- prompt format


def test_chat_format_refused_for_model_without_template():
    with pytest.raises(EmovecInputError) as exc:
        use_chat_format("chat", False, "gemma-2-2b")
    assert "'gemma-2-2b'" in str(exc.value) and "prompt_format=chat" in str(exc.value)


@pytest.mark.parametrize("fmt,has_template,expected", [
    ("auto", True, True), ("auto", False, False),
    ("chat", True, True),
    ("plain", True, False), ("plain", False, False),
])
def test_prompt_format_choice(fmt: str, has_template: bool, expected: bool):
    assert use_chat_format(fmt, has_template, "m") is expected


# ---------------------------------------------------------------- dedup


def test_deduplicate_within_emotion_only():
    rows = [
        {"id": "happy-000", "emotion": "happy", "text": "A"},
        {"id": "happy-001", "emotion": "happy", "text": "B"},
        {"id": "happy-002", "emotion": "happy", "text": "A"},  # dup of happy-000
        {"id": "sad-000", "emotion": "sad", "text": "A"},  # same text, other emotion: kept
        {"id": "sad-001", "emotion": "sad", "text": "A"},  # dup of sad-000
        {"id": "sad-002", "emotion": "sad", "text": "A "},  # differs by a space: kept
        {"id": "neutral-000", "emotion": NEUTRAL, "text": "C"},
        {"id": "neutral-001", "emotion": NEUTRAL, "text": "C"},
    ]
    kept, eff, dropped = deduplicate(rows)
    assert [r["id"] for r in kept] == ["happy-000", "happy-001", "sad-000", "sad-002", "neutral-000"]
    assert eff == {"happy": 2, "sad": 2, NEUTRAL: 1}
    assert dropped == 3
    assert kept[0] is rows[0]  # rows are passed through, not rebuilt


def test_deduplicate_nothing_to_drop():
    rows = [{"id": f"x{i}", "emotion": "calm", "text": str(i)} for i in range(4)]
    assert deduplicate(rows) == (rows, {"calm": 4}, 0)


def test_left_pad():
    ids, mask = left_pad([[5, 6, 7], [8], []], pad_id=1)
    assert ids.tolist() == [[5, 6, 7], [1, 1, 8], [1, 1, 1]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1], [0, 0, 0]]


# ---------------------------------------------------------------- on the tiny model


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    spec = ModelConfig(name="tiny", hf_id=None, local_dir=str(tiny_model_dir), family="toy", variant="instruct",
                       n_layers=3, d_model=32, chat_template=True)
    return load_model(spec)


@pytest.fixture(scope="module")
def sharp_model(tiny):
    """The tiny model with embeddings scaled up so its greedy output depends on content and
    position (the random-weight model on its own mostly repeats one token)."""
    m = copy.deepcopy(tiny.hf_model)
    with torch.no_grad():
        m.transformer.wpe.weight.mul_(30)
        m.transformer.wte.weight.mul_(5)
    return m


PROMPTS = ["Write a story about someone who feels happy.", "Sad and blue.",
           "A person washing dishes in a long and winding sentence about nothing much at all", "Calm day", "x"]


def _prompt_ids(tok) -> list[list[int]]:
    ids = [encode_prompt(tok, p, chat=i % 2 == 0) for i, p in enumerate(PROMPTS)]
    assert len({len(x) for x in ids}) == len(ids)  # all different lengths: real left padding
    return ids


GREEDY = dict(max_new_tokens=12, do_sample=False, temperature=1.0, top_p=1.0, seed=0, progress=False)


def test_encode_prompt_chat_and_plain(tiny):
    tok = tiny.tokenizer
    chat = encode_prompt(tok, "Write a story about someone who feels happy.", chat=True)
    bos, assistant = tok.convert_tokens_to_ids([BOS, ASSISTANT])
    header = tok(ASSISTANT, add_special_tokens=False)["input_ids"]
    assert header == [assistant]
    assert chat[0] == tok.bos_token_id == bos
    assert chat[-len(header):] == header
    assert chat == tok(chat_prompt("Write a story about someone who feels happy."),
                       add_special_tokens=False)["input_ids"]
    assert all(isinstance(i, int) for i in chat)
    plain = encode_prompt(tok, "Write a story.", chat=False)
    assert plain == tok("Write a story.")["input_ids"] and plain[0] == bos and assistant not in plain


def test_greedy_batched_equals_one_at_a_time(tiny, sharp_model):
    tok = tiny.tokenizer
    prompts = _prompt_ids(tok)
    batched = generate_ids(sharp_model, tok, prompts, batch_size=3, **GREEDY)
    single = generate_ids(sharp_model, tok, prompts, batch_size=1, **GREEDY)
    assert batched == single
    assert len(batched) == len(prompts)
    assert all(1 <= len(g) <= 12 for g in batched)
    assert any(len(set(g)) > 3 for g in batched)  # the comparison is not between constant outputs
    eos = tok.eos_token_id
    assert all(eos not in g for g in batched)  # cut at EOS


def test_greedy_order_is_by_length_and_sampled_order_is_kept():
    prompts = [[1, 2, 3], [4], [5, 6], [7], [8, 9, 10, 11], [12, 13]]
    assert generation_order(prompts, do_sample=False) == [1, 3, 2, 5, 0, 4]  # ties keep their order
    assert generation_order(prompts, do_sample=True) == [0, 1, 2, 3, 4, 5]
    assert generation_order([], do_sample=False) == []


def test_greedy_batches_hold_prompts_of_similar_length_and_rows_come_back_in_order(tiny, sharp_model, monkeypatch):
    """Prompts given longest first, in batches of 2: each batch holds the next two by length, so
    a batch pads only to its own longest prompt; the output still follows the given order and
    equals one prompt at a time."""
    tok = tiny.tokenizer
    prompts = sorted(_prompt_ids(tok), key=len, reverse=True)
    single = generate_ids(sharp_model, tok, prompts, batch_size=1, **GREEDY)
    lengths: list[list[int]] = []
    original = sharp_model.generate

    def recording_generate(*args, **kwargs):
        lengths.append(kwargs["attention_mask"].sum(dim=1).tolist())
        return original(*args, **kwargs)

    monkeypatch.setattr(sharp_model, "generate", recording_generate)
    got = generate_ids(sharp_model, tok, prompts, batch_size=2, **GREEDY)
    assert got == single
    by_length = sorted(len(p) for p in prompts)
    assert lengths == [by_length[i:i + 2] for i in range(0, len(prompts), 2)]


def test_greedy_generates_each_distinct_prompt_once(tiny, sharp_model, monkeypatch):
    """Repeated prompts (Jeong's cycled templates) are generated once each under greedy decoding,
    and every copy gets the same tokens as when all copies are generated."""
    tok = tiny.tokenizer
    base = _prompt_ids(tok)[:3]
    prompts = [base[0], base[1], base[0], base[2], base[1], base[0]]
    expected = generate_ids(sharp_model, tok, [base[0], base[1], base[2]], batch_size=1, **GREEDY)
    rows_generated: list[int] = []
    original = sharp_model.generate

    def counting_generate(*args, **kwargs):
        rows_generated.append(int(kwargs["input_ids"].shape[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(sharp_model, "generate", counting_generate)
    got = generate_ids(sharp_model, tok, prompts, batch_size=2, **GREEDY)
    assert got == [expected[0], expected[1], expected[0], expected[2], expected[1], expected[0]]
    assert sum(rows_generated) == 3  # three distinct prompts, not six rows


def test_greedy_equals_manual_argmax(tiny, sharp_model):
    """One unpadded prompt: generate_ids is plain argmax decoding of the model's logits."""
    tok = tiny.tokenizer
    prompt = _prompt_ids(tok)[0]
    (got,) = generate_ids(sharp_model, tok, [prompt], batch_size=1, **GREEDY)
    ids = list(prompt)
    manual: list[int] = []
    with torch.no_grad():
        for _ in range(12):
            nxt = int(sharp_model(torch.tensor([ids])).logits[0, -1].argmax())
            if nxt == tok.eos_token_id:
                break
            manual.append(nxt)
            ids.append(nxt)
    assert got == manual


def test_seeded_sampling_is_reproducible(tiny):
    tok = tiny.tokenizer
    prompts = _prompt_ids(tok)
    kw = dict(max_new_tokens=10, do_sample=True, temperature=0.8, top_p=0.95, batch_size=3, progress=False)
    a = generate_ids(tiny.hf_model, tok, prompts, seed=1, **kw)
    b = generate_ids(tiny.hf_model, tok, prompts, seed=1, **kw)
    assert a == b
    c = generate_ids(tiny.hf_model, tok, prompts, seed=2, **kw)
    assert c != a  # a different seed draws different stories


class _DeviceFitting:
    """A model whose ``generate`` runs out of memory above ``limit`` rows (like a small GPU)."""

    def __init__(self, model, limit: int, error: Exception | None = None):
        self.model, self.limit, self.sizes = model, limit, []
        self.error = error or torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    def __getattr__(self, name):
        return getattr(self.model, name)

    def generate(self, input_ids, **kwargs):
        self.sizes.append(int(input_ids.shape[0]))
        if input_ids.shape[0] > self.limit:
            raise self.error
        return self.model.generate(input_ids=input_ids, **kwargs)


def test_out_of_memory_halves_a_greedy_batch_with_the_same_tokens(tiny, sharp_model, capsys):
    tok = tiny.tokenizer
    prompts = _prompt_ids(tok)
    expected = generate_ids(sharp_model, tok, prompts, batch_size=5, **GREEDY)
    small = _DeviceFitting(sharp_model, limit=2)
    entered = []

    @contextmanager
    def record(rows):
        entered.append(tuple(rows))
        yield

    got = generate_ids(small, tok, prompts, batch_size=5, batch_context=record, **GREEDY)
    assert got == expected
    # 5 fails -> its first 2 fit, the other 3 fail -> 1 and 2 fit; each piece gets its own context
    o = generation_order(prompts, do_sample=False)
    assert small.sizes == [5, 2, 3, 1, 2]
    assert entered == [tuple(o), tuple(o[:2]), tuple(o[2:]), tuple(o[2:3]), tuple(o[3:])]
    err = capsys.readouterr().err
    assert all(f"out of memory on a batch of {n}; splitting" in err for n in (5, 3))


def test_a_sampled_batch_is_not_split_and_one_prompt_that_does_not_fit_is_named(tiny):
    tok = tiny.tokenizer
    prompts = _prompt_ids(tok)
    sampled = dict(GREEDY, do_sample=True, temperature=0.8, top_p=0.95)
    with pytest.raises(EmovecInputError, match="out of memory on a sampled batch of 3 prompts.*lower the generation "
                                               "batch_size"):
        generate_ids(_DeviceFitting(tiny.hf_model, limit=2), tok, prompts, batch_size=3, **sampled)
    cpu = RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")
    with pytest.raises(EmovecInputError, match=r"out of memory on a single prompt of \d+ tokens generating 12 more"):
        generate_ids(_DeviceFitting(tiny.hf_model, limit=0, error=cpu), tok, prompts[:2], batch_size=2, **GREEDY)
    with pytest.raises(RuntimeError, match="shape mismatch"):  # not an allocation failure: raised as is
        generate_ids(_DeviceFitting(tiny.hf_model, limit=0, error=RuntimeError("shape mismatch")), tok, prompts,
                     batch_size=2, **GREEDY)


def test_an_interrupted_generation_resumes_with_the_same_tokens(tiny, tmp_path, monkeypatch):
    """Finished batches are kept in the resume file; a re-run generates only the rest, and the
    result equals an uninterrupted run (each batch has its own random stream), also when sampling."""
    tok = tiny.tokenizer
    model = tiny.hf_model
    prompts = _prompt_ids(tok)[:5]
    settings = dict(max_new_tokens=8, do_sample=True, temperature=1.0, top_p=1.0, seed=3, batch_size=2, progress=False)
    uninterrupted = generate_ids(model, tok, prompts, **settings)
    resume = tmp_path / "partial" / "gen.jsonl"
    original = model.generate
    calls: list[int] = []

    def failing_generate(*args, **kwargs):
        calls.append(int(kwargs["input_ids"].shape[0]))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the machine stops during the second batch
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "generate", failing_generate)
    with pytest.raises(KeyboardInterrupt):
        generate_ids(model, tok, prompts, resume_file=resume, resume_key="k", **settings)
    assert len(resume.read_text().splitlines()) == 1  # the first batch is kept
    calls.clear()
    monkeypatch.setattr(model, "generate", lambda *a, **k: (calls.append(int(k["input_ids"].shape[0])), original(*a, **k))[1])
    resumed = generate_ids(model, tok, prompts, resume_file=resume, resume_key="k", **settings)
    assert resumed == uninterrupted
    assert calls == [2, 1]  # batches 2 and 3 only
    # another key (e.g. a changed config) reuses nothing
    calls.clear()
    generate_ids(model, tok, prompts, resume_file=resume, resume_key="other", **settings)
    assert calls == [2, 2, 1]
