"""One story corpus (van der Ben et al.), independent of the model that will read it.

A story corpus is written once and read by every selected model, so the model x corpus grid is a
cross-generation grid: an edit to one corpus re-runs that corpus and the cells that read it.
Sources: ``project`` (the toy generator, held-out seed), ``upstream`` (a manifest file, e.g. the
1,539 Gemma-4 stories) or ``generated`` (the corpus's ``generator`` model writes the stories from
a prompt; several per call, split on ``[story N]`` markers). Neutral texts come with the corpus.
Output rows: ``{"id", "emotion", "role", "text"}`` (+ ``topic``), role "emotion" or "neutral".
The stage (``emovec.stages.story_corpus``) is a CLI around :func:`run_story_corpus`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from emovec.config.schema import CorpusConfig, ModelConfig, as_dataclass
from emovec.corpora.emotion_sets import emotion_set
from emovec.corpora.stimuli import read_templates, validate_rows
from emovec.corpora.stories import (
    STORY_READERS,
    load_topics,
    read_neutral_texts,
    stories_from_responses,
    story_requests,
    strip_preamble,
)
from emovec.corpora.upstream_files import verify_upstream_file
from emovec.emotions import NEUTRAL
from emovec.errors import EmovecInputError
from emovec.io import sha256_text, write_json_atomic, write_jsonl_atomic
from emovec.paths import PACKAGE_DIR, REPO_ROOT
from emovec.progress import progress_enabled


def _file(rel: str) -> Path:
    """Upstream files live under the repo's data/ (paths start with data/); project ones in the package."""
    return REPO_ROOT / rel if rel.startswith("data/") else PACKAGE_DIR / rel


def toy_rows(corpus: CorpusConfig, emotions: tuple[str, ...], which: str) -> list[dict[str, Any]]:
    """Project stories from the toy generator with the corpus's seed (the training corpus uses
    toy.seed; a different seed gives held-out stories). ``which``: "emotion" or "neutral"."""
    from emovec.toy.corpus import generate_stories

    s = corpus.stories
    n = max(s.n_per_emotion, s.n_neutral)
    stories = generate_stories(n, s.seed)
    rows: list[dict[str, Any]] = []
    taken: dict[str, int] = {}
    for st in stories:
        if which == "neutral" and st.emotion == NEUTRAL and taken.get(NEUTRAL, 0) < s.n_neutral:
            rows.append({"id": f"neutral-{taken.get(NEUTRAL, 0):03d}", "emotion": NEUTRAL, "role": NEUTRAL, "text": st.text})
        elif which == "emotion" and st.emotion in emotions and taken.get(st.emotion, 0) < s.n_per_emotion:
            rows.append({"id": f"{st.emotion}-{taken.get(st.emotion, 0):03d}", "emotion": st.emotion,
                         "role": "emotion", "text": st.text})
        else:
            continue
        taken[st.emotion] = taken.get(st.emotion, 0) + 1
    return rows


def generation_prompts(corpus: CorpusConfig, emotions: tuple[str, ...]) -> list[dict[str, Any]]:
    """One request per call: the upstream prompt x topics, or the project templates cycled."""
    s = corpus.stories
    path = _file(corpus.path or "")
    if corpus.format == "story_prompt_txt":
        if not path.is_file():
            raise EmovecInputError(f"story prompt {path} is missing: run `make data`")
        if not s.topics_path:
            raise EmovecInputError(f"corpus {corpus.name!r}: format story_prompt_txt needs corpus.stories.topics_path")
        topics = load_topics(_file(s.topics_path))
        return story_requests(path.read_text(encoding="utf-8"), topics, emotions,
                              topics_per_emotion=s.calls_per_emotion, stories_per_call=s.stories_per_call, seed=s.seed)
    if corpus.format == "templates_json":
        if s.split != "whole" or s.stories_per_call != 1:
            raise EmovecInputError(f"corpus {corpus.name!r}: template prompts ask for one story per call; "
                                   "set corpus.stories.split=whole and stories_per_call=1")
        templates = read_templates(path, "templates_json")["templates"]
        return [{"id": f"{e}-t{j:02d}", "emotion": e, "topic": None,
                 "prompt": templates[j % len(templates)].format(emotion=e)}
                for e in emotions for j in range(s.calls_per_emotion)]
    raise EmovecInputError(f"corpus {corpus.name!r}: unknown generated-story prompt format {corpus.format!r}; "
                           "known: story_prompt_txt, templates_json")


def generated_rows(corpus: CorpusConfig, generator: ModelConfig, emotions: tuple[str, ...],
                   resume_file: Path | None = None, resume_key: str = "") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The generator writes the stories (batched, seeded sampling); responses are split into stories."""
    from emovec.generate import encode_prompt, generate_ids, use_chat_format
    from emovec.models.loading import load_model

    reqs = generation_prompts(corpus, emotions)
    chat = use_chat_format(corpus.prompt_format, generator.chat_template, generator.name)
    loaded = load_model(generator, with_bridge=False)  # generation reads no hook
    prompts = [encode_prompt(loaded.tokenizer, r["prompt"], chat) for r in reqs]
    d = corpus.decoding
    gen = generate_ids(loaded.hf_model, loaded.tokenizer, prompts, max_new_tokens=d.max_new_tokens,
                       do_sample=d.do_sample, temperature=d.temperature, top_p=d.top_p, seed=d.seed,
                       batch_size=d.batch_size, progress=progress_enabled(), resume_file=resume_file,
                       resume_key=resume_key, desc=f"write {corpus.name}")
    responses = [{**r, "text": loaded.tokenizer.decode(g, skip_special_tokens=True), "n_new_tokens": len(g)}
                 for r, g in zip(reqs, gen)]
    preambles = []
    if corpus.stories.preamble == "discard" and corpus.stories.split != "whole":
        for r in responses:
            preamble, r["text"] = strip_preamble(r["text"])
            if preamble:
                preambles.append({"id": r["id"], "emotion": r["emotion"], "text": preamble})
    rows, unparsed = stories_from_responses(responses, split=corpus.stories.split,
                                            on_unparsed=corpus.stories.on_unparsed)
    # The prompt asks for stories_per_call stories; a response that runs on (a small model looping
    # through more markers) keeps its first stories_per_call, and the count dropped is recorded.
    n_per_call = corpus.stories.stories_per_call
    beyond = [r["id"] for r in rows if int(r["id"].rsplit("-s", 1)[1]) > n_per_call]
    rows = [r for r in rows if int(r["id"].rsplit("-s", 1)[1]) <= n_per_call]
    hit_limit = sum(1 for r in responses if r["n_new_tokens"] >= d.max_new_tokens)
    info = {"generator": generator.name, "prompt_format": "chat" if chat else "plain", "n_calls": len(reqs),
            "n_unparsed": len(unparsed), "unparsed": unparsed, "n_calls_at_max_new_tokens": hit_limit,
            "n_stories_beyond_stories_per_call_dropped": len(beyond), "split": corpus.stories.split,
            "preamble_policy": corpus.stories.preamble, "n_preambles_discarded": len(preambles),
            "preambles_discarded": preambles,
            "decoding": {"do_sample": d.do_sample, "temperature": d.temperature, "top_p": d.top_p,
                         "max_new_tokens": d.max_new_tokens, "seed": d.seed}}
    return rows, info


def cards_digest(models_dir: str) -> str:
    """The model cards' content (so a resume file never outlives the weights it came from)."""
    d = Path(models_dir)
    return "".join(p.read_text() for p in sorted(d.glob("*.json"))) if d.is_dir() else ""


def run_story_corpus(config: str | Path, out: str | Path, summary_out: str | Path, models_dir: str = "build/models",
                     partial_root: str | Path = "build/partial/generate") -> str:
    """The story_corpus stage: write the corpus of the slice ``config`` (build/config/stories/
    <corpus>.yaml) to ``out`` (JSONL) and its summary to ``summary_out``; ``models_dir``'s model
    cards are part of the generation resume key (finished batches survive an interruption under
    ``partial_root``, outside DVC's outputs). Returns a one-line summary."""
    raw = OmegaConf.load(config)
    # pooling is not part of a corpus's content (the slice omits it); the schema wants a value.
    corpus: CorpusConfig = as_dataclass({**OmegaConf.to_container(raw.corpus), "pooling": "mean_from_offset"},
                                        CorpusConfig, str(config))
    for rel, sha in (raw.input_sha256 or {}).items():
        verify_upstream_file(REPO_ROOT / rel, sha)
    emotions = emotion_set(corpus.emotion_set)
    s = corpus.stories
    info: dict[str, Any] = {"generator": "project" if corpus.source == "project" else s.generator}
    resume_file = Path(partial_root) / f"{Path(out).stem}.jsonl"
    if corpus.source == "project":
        stories = toy_rows(corpus, emotions, "emotion")
    elif corpus.source == "upstream":
        reader = STORY_READERS.lookup(corpus.format, f"{config}: corpus.format")
        stories = [r for r in reader(_file(corpus.path or "")) if r["emotion"] in set(emotions)]
    else:
        generator: ModelConfig = as_dataclass(raw.generator_model, ModelConfig, str(config))
        # The key covers the weights; generate_ids adds the prompts and decoding settings. How
        # responses are split is not in it: a parsing choice re-splits the same generations.
        stories, gen_info = generated_rows(corpus, generator, emotions, resume_file,
                                           sha256_text(cards_digest(models_dir)))
        info.update(gen_info)
    if s.neutral_source == "project":
        neutral = toy_rows(corpus, emotions, "neutral")
    else:
        neutral = read_neutral_texts(_file(s.neutral_path or ""))
    rows = validate_rows(stories + neutral, emotions, f"story corpus {corpus.name}")
    per_emotion = {e: 0 for e in emotions}
    for r in rows:
        if r["role"] == "emotion":
            per_emotion[r["emotion"]] += 1
    info.update({"corpus": corpus.name, "source": corpus.source, "emotion_set": corpus.emotion_set,
                 "n_stories": sum(per_emotion.values()), "n_per_emotion": per_emotion,
                 "n_neutral": len(neutral)})
    write_jsonl_atomic(out, rows)
    write_json_atomic(summary_out, info)
    resume_file.unlink(missing_ok=True)
    return (f"story corpus {corpus.name}: {info['n_stories']} stories over {len(emotions)} emotions "
            f"(min {min(per_emotion.values())} per emotion) + {len(neutral)} neutral")
