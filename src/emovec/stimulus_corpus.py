"""The stimulus corpus of one cell, validated, as JSON lines (+ a summary with effective n).

Passages are read and validated (unknown emotion, empty text, duplicate id, missing column:
one error naming file and row, before any model is loaded). Generation corpora are written by
the cell's model: batched, greedy or seeded sampling, deduplicated, effective n recorded.
The anisotropy sentences are appended to every cell with role "anisotropy".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from emovec.config.schema import CorpusConfig, ModelConfig, as_dataclass
from emovec.corpora.emotion_sets import emotion_set
from emovec.corpora.stimuli import read_anisotropy, read_passages, read_templates, validate_rows
from emovec.corpora.upstream_files import verify_upstream_file
from emovec.io import sha256_text, write_json_atomic, write_jsonl_atomic
from emovec.paths import PACKAGE_DIR, REPO_ROOT
from emovec.progress import progress_enabled


def corpus_file(corpus: CorpusConfig, rel: str) -> Path:
    """Project stimuli live in the package; upstream ones under the repo's data/."""
    return (REPO_ROOT / rel) if corpus.source == "upstream" else (PACKAGE_DIR / rel)


def generated_rows(model_cfg: ModelConfig, corpus: CorpusConfig, emotions: tuple[str, ...],
                   resume_file: Path | None = None, resume_key: str = "") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from emovec.generate import deduplicate, encode_prompt, generate_ids, generation_requests, use_chat_format
    from emovec.models.loading import load_model

    templates = read_templates(corpus_file(corpus, corpus.path or ""), corpus.format)
    chat = use_chat_format(corpus.prompt_format, model_cfg.chat_template, model_cfg.name)
    reqs = generation_requests(templates, emotions, corpus.n_per_emotion, corpus.n_neutral)
    loaded = load_model(model_cfg, with_bridge=False)  # generation reads no hook
    prompts = [encode_prompt(loaded.tokenizer, r["prompt"], chat) for r in reqs]
    d = corpus.decoding
    gen = generate_ids(loaded.hf_model, loaded.tokenizer, prompts, max_new_tokens=d.max_new_tokens,
                       do_sample=d.do_sample, temperature=d.temperature, top_p=d.top_p, seed=d.seed,
                       batch_size=d.batch_size, progress=progress_enabled(), resume_file=resume_file,
                       resume_key=resume_key)
    rows = []
    for r, p_ids, g_ids in zip(reqs, prompts, gen):
        text = loaded.tokenizer.decode(g_ids, skip_special_tokens=True)
        rows.append({**r, "text": text, "prompt_ids": p_ids, "generated_ids": g_ids})
    empty = [r["id"] for r in rows if not r["text"].strip()]
    rows = [r for r in rows if r["text"].strip()]
    kept, effective_n, dropped = deduplicate(rows)
    summary = {"prompt_format": "chat" if chat else "plain", "n_requested": len(reqs), "n_empty_dropped": len(empty),
               "empty_ids": empty, "n_duplicates_dropped": dropped, "effective_n": effective_n,
               "decoding": {"do_sample": d.do_sample, "temperature": d.temperature, "top_p": d.top_p,
                            "max_new_tokens": d.max_new_tokens, "seed": d.seed}}
    return kept, summary


def run_stimuli(config: str | Path, out: str | Path, summary_out: str | Path,
                model_card: str | Path | None = None, partial_root: str | Path = "build/partial/generate") -> None:
    """The stimuli stage: write the cell's stimuli to ``out`` (JSONL) and ``summary_out`` (JSON).

    ``config`` is the cell's stimuli slice (``model``, ``corpus``); ``model_card`` the model@
    stage's card, part of the generation resume key (finished batches survive an interruption in
    ``partial_root``)."""
    card = json.loads(Path(model_card).read_text()) if model_card else None
    raw = OmegaConf.load(config)
    expected_sha = raw.corpus.pop("input_sha256", None)
    model_cfg: ModelConfig = as_dataclass(raw.model, ModelConfig, str(config))
    # The stimuli slice omits pooling (so a pooling edit never regenerates stimuli); the schema
    # requires a value, and this stage never reads it.
    corpus: CorpusConfig = as_dataclass({**OmegaConf.to_container(raw.corpus), "pooling": "last_token"}, CorpusConfig, str(config))
    emotions = emotion_set(corpus.emotion_set)
    if expected_sha is not None:
        verify_upstream_file(corpus_file(corpus, corpus.path or ""), expected_sha)
    aniso_path = PACKAGE_DIR / corpus.anisotropy_path
    anisotropy = read_anisotropy(aniso_path)
    if corpus.kind == "passages":
        path = corpus_file(corpus, corpus.path or "")
        rows = validate_rows(read_passages(path, corpus.format), emotions, str(path))
        summary: dict[str, Any] = {"n_rows": len(rows), "effective_n": {}}
        for r in rows:
            summary["effective_n"][r["emotion"]] = summary["effective_n"].get(r["emotion"], 0) + 1
    else:
        # Finished batches survive an interruption here (outside DVC's outputs, which DVC deletes
        # before a stage runs); the key covers the slice and the weights, so nothing stale is reused.
        resume_file = Path(partial_root) / f"{Path(out).stem}.jsonl"
        resume_key = sha256_text(Path(config).read_text() + json.dumps(card))
        rows, summary = generated_rows(model_cfg, corpus, emotions, resume_file, resume_key)
        rows = validate_rows(rows, emotions, f"generated by {model_cfg.name}")
    aniso = validate_rows(anisotropy, [], str(aniso_path))
    summary.update({"corpus": corpus.name, "model": model_cfg.name, "n_anisotropy": len(aniso)})
    write_jsonl_atomic(out, rows + aniso)
    write_json_atomic(summary_out, summary)
    (Path(partial_root) / f"{Path(out).stem}.jsonl").unlink(missing_ok=True)
    print(f"stimuli {corpus.name} x {model_cfg.name}: {len(rows)} rows (+{len(aniso)} anisotropy)")

