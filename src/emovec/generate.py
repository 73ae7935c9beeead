"""Batched, KV-cached generation of stimuli (stories written by the extracting model).

Prompts are left-padded into batches (so every row's generation starts at the same column) and
decoded greedily (Jeong) or by seeded sampling (van der Ben: T=0.8, top-p 0.95). Token ids of
prompt and generation are kept, so extraction later reads exactly what the model produced.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from emovec.emotions import NEUTRAL
from emovec.errors import EmovecInputError, is_out_of_memory
from emovec.models.kv_cache import preallocated_cache


def generation_requests(templates: dict[str, Any], emotions: Sequence[str], n_per_emotion: int,
                        n_neutral: int) -> list[dict[str, Any]]:
    """One request per story: emotion stories cycle the templates (story s uses template
    s % n_templates, as in Jeong's protocol); neutral stories cycle the neutral topics."""
    if n_per_emotion < 1 or n_neutral < 1:
        raise EmovecInputError("corpus.n_per_emotion and corpus.n_neutral must be >= 1")
    reqs = []
    tpls = templates["templates"]
    for emotion in emotions:
        for s in range(n_per_emotion):
            reqs.append({"id": f"{emotion}-{s:03d}", "emotion": emotion, "role": "emotion",
                         "template": s % len(tpls), "prompt": tpls[s % len(tpls)].format(emotion=emotion)})
    topics = templates["neutral_topics"]
    for s in range(n_neutral):
        reqs.append({"id": f"{NEUTRAL}-{s:03d}", "emotion": NEUTRAL, "role": NEUTRAL, "template": -1,
                     "prompt": templates["neutral_template"].format(topic=topics[s % len(topics)])})
    return reqs


def use_chat_format(prompt_format: str, has_chat_template: bool, model_name: str) -> bool:
    """Decide chat vs plain prompting; a base model asked for chat generation is refused."""
    if prompt_format == "chat":
        if not has_chat_template:
            raise EmovecInputError(f"model {model_name!r} has no chat template but the corpus asks "
                                   "for chat-template generation (corpus.prompt_format=chat)")
        return True
    if prompt_format == "plain":
        return False
    return has_chat_template


def encode_prompt(tokenizer: Any, prompt: str, chat: bool) -> list[int]:
    """Token ids of one prompt: the chat rendering with the assistant header, or plain text."""
    if chat:
        ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                            add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        return [int(i) for i in ids]
    return [int(i) for i in tokenizer(prompt)["input_ids"]]


def left_pad(batch: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """Left-pad id lists into (input_ids, attention_mask) tensors [batch, width]."""
    import torch

    width = max(len(x) for x in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, x in enumerate(batch):
        if len(x):
            ids[i, width - len(x):] = torch.tensor(list(x), dtype=torch.long)
            mask[i, width - len(x):] = 1
    return ids, mask


def generate_ids(hf_model: Any, tokenizer: Any, prompts: Sequence[Sequence[int]], *, max_new_tokens: int,
                 do_sample: bool, temperature: float, top_p: float, seed: int, batch_size: int,
                 progress: bool = True, batch_context: Any = None, desc: str = "generate stimuli",
                 resume_file: str | Path | None = None, resume_key: str = "",
                 preallocate_cache: bool = True) -> list[list[int]]:
    """Generate continuations for token-id prompts; returns the new ids of each, cut at EOS.

    ``preallocate_cache``: decode through :func:`emovec.models.kv_cache.preallocated_cache` (the
    same tokens as Hugging Face's DynamicCache without its per-step copy); False keeps HF's own
    cache (the bench's reference).

    Each batch draws from its own random stream (``seed`` + the batch's first row), so a batch's
    tokens do not depend on the batches before it. That makes a run resumable exactly:
    with ``resume_file`` every finished batch is appended there (with a key over the prompts, the
    settings and the caller's ``resume_key``), and a re-run with the same key reuses those batches
    instead of generating them again. The caller deletes the file once its output is written.

    ``batch_context(rows)``, if given, returns a context manager entered around the batch of
    prompts at the indices ``rows`` (e.g. steering hooks whose per-row vectors follow that batch's
    rows).

    Greedy batches are formed from prompts sorted by length (:func:`generation_order`): left
    padding to the batch's longest prompt then costs little. That is exact, since a greedy row's
    tokens do not depend on its batch-mates (tested against one prompt at a time); a sampled
    batch keeps the given order, because its rows draw from one random stream.

    Out of memory: a greedy batch is halved until it fits, since each row's tokens do not
    depend on its batch-mates (left padding, masked attention; tested against one prompt at a
    time). A sampled batch is not split: its rows draw from one random stream, so a split would
    silently change the text; the error says to lower the batch size instead."""
    import torch
    from tqdm import tqdm

    eos = hf_model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
    if tokenizer.eos_token_id is not None:
        eos_ids.add(tokenizer.eos_token_id)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    sampling = dict(do_sample=True, temperature=temperature, top_p=top_p) if do_sample else dict(do_sample=False)

    def run(rows: list[int]) -> list[list[int]]:
        ids, mask = left_pad([prompts[i] for i in rows], pad_id)
        context = batch_context(rows) if batch_context is not None else nullcontext()
        # The same attention without DynamicCache's per-step copy of every layer's cache
        # (emovec.models.kv_cache; None for a layer kind it cannot reproduce exactly).
        cache = preallocated_cache(hf_model.config, ids.shape[1] + max_new_tokens) if preallocate_cache else None
        try:
            with torch.no_grad(), context:
                gen = hf_model.generate(input_ids=ids.to(hf_model.device), attention_mask=mask.to(hf_model.device),
                                        max_new_tokens=max_new_tokens, pad_token_id=pad_id,
                                        eos_token_id=sorted(eos_ids) or None,
                                        **({"past_key_values": cache} if cache is not None else {}), **sampling)
        except RuntimeError as exc:
            if not is_out_of_memory(exc):
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            if do_sample:
                raise EmovecInputError(
                    f"{desc}: out of memory on a sampled batch of {len(rows)} prompts; a sampled batch is "
                    "not split (that would change the random draws): lower the generation batch_size") from exc
            if len(rows) == 1:
                raise EmovecInputError(f"{desc}: out of memory on a single prompt of {ids.shape[1]} tokens "
                                       f"generating {max_new_tokens} more; lower max_new_tokens, use a smaller "
                                       "dtype or a larger device") from exc
            print(f"{desc}: out of memory on a batch of {len(rows)}; splitting it in two (the batch size "
                  "is too large for this device)", file=sys.stderr)
            mid = len(rows) // 2
            return run(rows[:mid]) + run(rows[mid:])
        return [_cut_at_eos(row, eos_ids) for row in gen[:, ids.shape[1]:].tolist()]

    if not do_sample and batch_context is None and len(set(map(tuple, prompts))) < len(prompts):
        # Greedy decoding of the same prompt gives the same tokens (rows are independent), so each
        # distinct prompt is generated once: Jeong's 5 templates cycled over 10 stories per emotion
        # cost 5 generations, not 10. (Not with batch_context: steering gives equal prompts
        # different vectors.)
        distinct = list(dict.fromkeys(map(tuple, prompts)))
        generated = dict(zip(distinct, generate_ids(
            hf_model, tokenizer, distinct, max_new_tokens=max_new_tokens, do_sample=False, temperature=temperature,
            top_p=top_p, seed=seed, batch_size=batch_size, progress=progress, desc=desc, resume_file=resume_file,
            resume_key=resume_key, preallocate_cache=preallocate_cache)))
        return [list(generated[tuple(p)]) for p in prompts]
    order = generation_order(prompts, do_sample)
    key = _resume_key(prompts, [max_new_tokens, do_sample, temperature, top_p, seed, batch_size, resume_key,
                                "length-sorted" if not do_sample else "given order"])
    done = _read_resume(resume_file, key) if resume_file is not None else {}
    out: list[list[int]] = [[] for _ in prompts]
    for start in tqdm(range(0, len(prompts), batch_size), desc=desc, disable=not progress):
        rows = order[start:start + batch_size]
        if start in done and len(done[start]) == len(rows):
            generated = done[start]
        else:
            torch.manual_seed(seed + start)
            generated = run(rows)
            if resume_file is not None:
                _append_resume(resume_file, key, start, generated)
        for i, g in zip(rows, generated):
            out[i] = g
    return out


def generation_order(prompts: Sequence[Sequence[int]], do_sample: bool) -> list[int]:
    """The order in which prompts are batched: greedy prompts by length (stable, so the plan is
    deterministic), which keeps left padding short; sampled prompts as given (their batch's rows
    share a random stream, so regrouping them would change the text)."""
    if do_sample:
        return list(range(len(prompts)))
    return sorted(range(len(prompts)), key=lambda i: (len(prompts[i]), i))


def _resume_key(prompts: Sequence[Sequence[int]], settings: list[Any]) -> str:
    h = hashlib.sha256(json.dumps([[list(map(int, p)) for p in prompts], settings]).encode())
    return h.hexdigest()


def _read_resume(path: str | Path, key: str) -> dict[int, list[list[int]]]:
    """Finished batches of an interrupted run with the same key ({first row: rows}); a file
    written under another key, or a line torn by an interruption, is ignored for what it cannot vouch for."""
    done: dict[int, list[list[int]]] = {}
    p = Path(path)
    if not p.is_file():
        return done
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by an interruption (a later run appends whole lines after it)
        if rec.get("key") == key:
            done[int(rec["start"])] = rec["rows"]
    return done


def _append_resume(path: str | Path, key: str, start: int, rows: list[list[int]]) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    torn = False
    if p.is_file() and p.stat().st_size > 0:
        with open(p, "rb") as last:
            last.seek(-1, os.SEEK_END)
            torn = last.read(1) != b"\n"
    with open(p, "a", encoding="utf-8") as fh:
        # after a line cut by an interruption, start a new line so this record stays whole
        fh.write(("\n" if torn else "") + json.dumps({"key": key, "start": start, "rows": rows}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _cut_at_eos(row: Sequence[int], eos_ids: set[int]) -> list[int]:
    """The generated ids before the first end-of-sequence id."""
    cut: list[int] = []
    for t in row:
        if t in eos_ids:
            break
        cut.append(int(t))
    return cut


def deduplicate(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, int], int]:
    """Drop stories whose generated text repeats an earlier one of the same emotion.

    Greedy decoding with cycled templates repeats stories (Jeong: stories 6-10 = 1-5), so the
    effective n per emotion is recorded rather than assumed. Returns (rows, effective n, dropped).
    """
    seen: set[tuple[str, str]] = set()
    kept, dropped = [], 0
    for r in rows:
        key = (r["emotion"], r["text"])
        if key in seen:
            dropped += 1
            continue
        seen.add(key)
        kept.append(r)
    eff: dict[str, int] = {}
    for r in kept:
        eff[r["emotion"]] = eff.get(r["emotion"], 0) + 1
    return kept, eff, dropped
