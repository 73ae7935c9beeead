"""Story corpora: van der Ben's Gemma stories, the 40 neutral texts, and stories any model writes
from the Anthropic-style prompt.

Everything ends as stimulus rows ``{"id", "emotion", "role", "text"}`` (see
:mod:`emovec.corpora.stimuli`; ``validate_rows`` then checks them against the emotion set), plus
``"topic"`` where a story has one and ``"_row"`` (the 1-based source line, for error messages).

A model answers one prompt with several stories separated by ``[story N]`` markers
(:func:`split_story_markers`). Parsing is strict: a response without markers, with markers out of
order, with an empty story, or with prose before the first marker raises, naming where it came
from. For generated corpora, where a model may well ignore the format, the caller states a policy
instead (:func:`stories_from_responses`, ``on_unparsed="record"``): the response is left out and
listed, so the summary says how many were dropped and why.

Story file formats are registered by name (:data:`STORY_READERS`): a new one is one function plus
``@register_story_reader``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from emovec.corpora.stimuli import _require_file
from emovec.emotions import NEUTRAL
from emovec.errors import EmovecInputError
from emovec.registry import Registry

STORY_MARKER = re.compile(r"\[story\s*(\d+)\]", re.IGNORECASE)
PROMPT_PLACEHOLDERS = ("{n_stories}", "{topic}", "{emotion}")

# Anthropic's list has multi-word entries ("worn out", "on edge", "at ease") and hyphenated ones
# ("grief-stricken"), so an emotion is lowercase letter runs joined by single spaces or hyphens.
Row = dict[str, Any]

# ------------------------------------------------------------------------------ markers


def split_story_markers(text: str, where: str) -> list[str]:
    """Split one model response on ``[story N]`` markers into its stories (stripped).

    Strict, because a silently mis-split response puts one emotion's text under another story's
    id: the markers must number 1..k in order, no story may be empty, and text before the first
    marker is allowed only if it is whitespace (a chatty preamble is the caller's decision).
    ``where`` (e.g. ``"stories.jsonl: line 12"``) prefixes every error message.
    """
    parts = STORY_MARKER.split(text)
    if len(parts) == 1:
        start = text.strip()[:60]
        raise EmovecInputError(f"{where}: no [story N] markers in the response (it starts {start!r})")
    preamble = parts[0].strip()
    if preamble:
        raise EmovecInputError(f"{where}: text before the first [story N] marker ({preamble[:60]!r}); "
                               "a preamble must be handled by the caller's policy, it is never dropped silently")
    numbers = [int(n) for n in parts[1::2]]
    if numbers != list(range(1, len(numbers) + 1)):
        raise EmovecInputError(f"{where}: story markers numbered {numbers}; expected 1..{len(numbers)} in order")
    stories = [s.strip() for s in parts[2::2]]
    for n, story in zip(numbers, stories):
        if not story:
            raise EmovecInputError(f"{where}: [story {n}] is empty")
    return stories


def strip_preamble(text: str) -> tuple[str, str]:
    """``(preamble, rest)``: the stripped text before the first ``[story N]`` marker, and the text
    from that marker on. No marker: ``("", text)`` (the splitter then reports it as unparsed)."""
    m = STORY_MARKER.search(text)
    if m is None:
        return "", text
    return text[:m.start()].strip(), text[m.start():]


# ------------------------------------------------------------------------------ story files

StoryReader = Callable[[Path], list[Row]]
STORY_READERS: Registry[StoryReader] = Registry("story format")
register_story_reader = STORY_READERS.register  # decorator: @register_story_reader("name"), fn(path) -> rows


def read_stories(path: str | Path, fmt: str) -> list[Row]:
    """Read a story file of the registered format ``fmt``."""
    return STORY_READERS.lookup(fmt)(Path(path))


def _json_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """``(line, object)`` for every non-blank line of a JSON-lines file."""
    _require_file(path)
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue  # blank lines carry no record (e.g. a trailing newline)
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EmovecInputError(f"{path}: line {lineno}: invalid JSON "
                                       f"({exc.msg}, column {exc.colno})") from None
            if not isinstance(rec, dict):
                raise EmovecInputError(f"{path}: line {lineno}: expected a JSON object, got {type(rec).__name__}")
            out.append((lineno, rec))
    if not out:
        raise EmovecInputError(f"{path}: no records (the file is empty)")
    return out


def _str_key(rec: dict[str, Any], key: str, where: str) -> str:
    if key not in rec:
        raise EmovecInputError(f"{where}: missing key {key!r}")
    if not isinstance(rec[key], str):
        raise EmovecInputError(f"{where}: key {key!r} must be a string, got {type(rec[key]).__name__}")
    return rec[key]


def _check_shipped(rec: dict[str, Any], stories: list[str], where: str) -> None:
    """The upstream file also ships its own parse (``n_stories_parsed``, ``stories``): ours must agree,
    so a difference in splitting rules shows up as an error rather than as different stimuli."""
    if "n_stories_parsed" in rec:
        n = rec["n_stories_parsed"]
        if not isinstance(n, int) or isinstance(n, bool):
            raise EmovecInputError(f"{where}: key 'n_stories_parsed' must be an integer, got {n!r}")
        if n != len(stories):
            raise EmovecInputError(f"{where}: raw_response splits into {len(stories)} stories but "
                                   f"n_stories_parsed says {n}")
    if "stories" in rec:
        shipped = rec["stories"]
        if not isinstance(shipped, list) or not all(isinstance(s, str) for s in shipped):
            raise EmovecInputError(f"{where}: key 'stories' must be a list of strings")
        if len(shipped) != len(stories):
            raise EmovecInputError(f"{where}: raw_response splits into {len(stories)} stories but the "
                                   f"shipped 'stories' list has {len(shipped)}")
        for k, (ours, theirs) in enumerate(zip(stories, shipped), start=1):
            if ours != theirs.strip():
                raise EmovecInputError(f"{where}: story {k} split from raw_response differs from "
                                       f"the shipped 'stories'[{k - 1}]")


@register_story_reader("emotion_experiment_jsonl")
def read_emotion_experiment_jsonl(path: Path) -> list[Row]:
    """van der Ben's ``output_gemma_stories/stories.jsonl``: one JSON object per line with keys
    ``emotion, topic, prompt, raw_response, stories, n_stories_parsed, timestamp``.

    Stories come from splitting ``raw_response`` on its markers (checked against the shipped
    ``n_stories_parsed`` and ``stories`` when present). Ids are ``{emotion}-t{j:02d}-s{k}``: ``j``
    counts that emotion's rows in file order from 0 (its j-th topic), ``k`` is the marker number.
    """
    rows: list[Row] = []
    topic_count: dict[str, int] = {}
    for lineno, rec in _json_lines(path):
        where = f"{path}: line {lineno}"
        emotion = _str_key(rec, "emotion", where).strip()
        topic = _str_key(rec, "topic", where).strip()
        raw = _str_key(rec, "raw_response", where)
        if not emotion:
            raise EmovecInputError(f"{where}: key 'emotion' is empty")
        stories = split_story_markers(raw, where)
        _check_shipped(rec, stories, where)
        j = topic_count.get(emotion, 0)
        topic_count[emotion] = j + 1
        for k, text in enumerate(stories, start=1):
            rows.append({"id": f"{emotion}-t{j:02d}-s{k}", "emotion": emotion, "role": "emotion",
                         "topic": topic, "text": text, "_row": lineno})
    return rows


# ------------------------------------------------------------------------------ line files


def _nonempty_lines(path: Path) -> list[tuple[int, str]]:
    """``(line, stripped text)`` for every non-blank line (blank lines separate nothing here)."""
    _require_file(path)
    text = path.read_text(encoding="utf-8")
    return [(i, s.strip()) for i, s in enumerate(text.splitlines(), start=1) if s.strip()]


def read_neutral_texts(path: str | Path) -> list[Row]:
    """van der Ben's ``prompts/neutral_texts.txt``: one neutral paragraph per non-empty line
    (40 upstream) -> rows ``neutral-{i:03d}`` (``i`` from 0) with role "neutral"."""
    path = Path(path)
    lines = _nonempty_lines(path)
    if not lines:
        raise EmovecInputError(f"{path}: no neutral texts (every line is empty)")
    return [{"id": f"neutral-{i:03d}", "emotion": NEUTRAL, "role": "neutral", "text": text, "_row": lineno}
            for i, (lineno, text) in enumerate(lines)]


def load_topics(path: str | Path) -> list[str]:
    """Story topics, one per non-empty line (stripped); duplicates are an error, since topics are
    drawn without replacement and a repeated one would be drawn twice."""
    path = Path(path)
    seen: dict[str, int] = {}
    for lineno, topic in _nonempty_lines(path):
        if topic in seen:
            raise EmovecInputError(f"{path}: line {lineno}: duplicate topic {topic!r} "
                                   f"(first at line {seen[topic]})")
        seen[topic] = lineno
    if not seen:
        raise EmovecInputError(f"{path}: no topics (every line is empty)")
    return list(seen)


# ------------------------------------------------------------------------------ generation requests


def fill_prompt(template: str, *, n_stories: int, topic: str, emotion: str) -> str:
    """The template with its three placeholders replaced.

    Plain replacement rather than ``str.format``: a prompt may contain other braces (JSON
    examples) that ``format`` would choke on or silently eat.
    """
    return (template.replace("{n_stories}", str(n_stories)).replace("{topic}", topic)
            .replace("{emotion}", emotion))


def story_requests(prompt_template: str, topics: Sequence[str], emotions: Sequence[str], *,
                   topics_per_emotion: int, stories_per_call: int, seed: int) -> list[Row]:
    """One generation request per (emotion, drawn topic): ``{"id", "emotion", "topic", "prompt"}``.

    Each emotion draws ``topics_per_emotion`` distinct topics with its own
    ``random.Random(f"{seed}:{emotion}")``. Seeding with a str hashes it with SHA-512 (not with
    Python's salted ``hash``), so the draw is the same on every run, machine and Python 3 version,
    and adding or removing an emotion leaves every other emotion's topics unchanged.
    Ids are ``{emotion}-t{j:02d}`` with ``j`` the draw order from 0, matching the Gemma reader's ids.
    """
    missing = [p for p in PROMPT_PLACEHOLDERS if p not in prompt_template]
    if missing:
        raise EmovecInputError(f"story prompt template lacks placeholder(s) {missing}; it needs all of "
                               f"{list(PROMPT_PLACEHOLDERS)}")
    if topics_per_emotion < 1 or stories_per_call < 1:
        raise EmovecInputError(f"topics_per_emotion ({topics_per_emotion}) and stories_per_call "
                               f"({stories_per_call}) must be >= 1")
    if len(set(topics)) != len(topics):
        raise EmovecInputError("story topics contain duplicates; topics are drawn without replacement")
    if topics_per_emotion > len(topics):
        raise EmovecInputError(f"topics_per_emotion={topics_per_emotion} but only {len(topics)} topics exist")
    if len(set(emotions)) != len(emotions):
        raise EmovecInputError("story_requests: the emotion list contains duplicates")
    out: list[Row] = []
    for emotion in emotions:
        rng = random.Random(f"{seed}:{emotion}")
        for j, t in enumerate(rng.sample(range(len(topics)), topics_per_emotion)):
            topic = topics[t]
            out.append({"id": f"{emotion}-t{j:02d}", "emotion": emotion, "topic": topic,
                        "prompt": fill_prompt(prompt_template, n_stories=stories_per_call, topic=topic,
                                              emotion=emotion)})
    return out


# ------------------------------------------------------------------------------ responses -> rows

Splitter = Callable[[str, str], list[str]]
RESPONSE_SPLITTERS: Registry[Splitter] = Registry("response split mode")
register_response_splitter = RESPONSE_SPLITTERS.register  # decorator: fn(response, where) -> stories


@register_response_splitter("markers")
def _split_markers(text: str, where: str) -> list[str]:
    return split_story_markers(text, where)


@register_response_splitter("markers_lenient")
def _split_markers_lenient(text: str, where: str) -> list[str]:
    """Split on every ``[story N]`` marker whatever its number, dropping empty pieces.

    For small models that use the markers but not the numbering (restarting at 1, starting at
    4, an empty ``[story 1]`` before the first story): each non-empty piece between markers is
    one story. Text before the first marker is still an error (the preamble policy handles it),
    and a response with no marker or no non-empty piece is unparsed."""
    parts = STORY_MARKER.split(text)
    if len(parts) == 1:
        raise EmovecInputError(f"{where}: no [story N] markers in the response (it starts {text.strip()[:60]!r})")
    if parts[0].strip():
        raise EmovecInputError(f"{where}: text before the first [story N] marker ({parts[0].strip()[:60]!r}); "
                               "a preamble must be handled by the caller's policy, it is never dropped silently")
    stories = [p.strip() for p in parts[2::2] if p.strip()]
    if not stories:
        raise EmovecInputError(f"{where}: every [story N] in the response is empty")
    return stories


@register_response_splitter("whole")
def _split_whole(text: str, where: str) -> list[str]:
    """The whole response is one story (one story per call)."""
    return [text.strip()]


ON_UNPARSED = ("error", "record")


def stories_from_responses(requests_with_text: Sequence[dict[str, Any]], *, split: str,
                           on_unparsed: str) -> tuple[list[Row], list[Row]]:
    """Turn generation requests plus their responses (key ``"text"``) into story rows.

    ``split``: "markers" (ids ``{request id}-s{k}``, ``k`` the marker number) or "whole" (the
    response is one story, id ``{request id}-s1``). A response that cannot be split (no markers,
    a preamble, bad numbering, an empty story; or an empty response in either mode) either raises
    naming the request (``on_unparsed="error"``) or is left out and returned in the second list as
    ``{"id", "emotion", "reason"}`` (``"record"``), for the caller to write into its summary.
    Story rows carry role "emotion" and the request's ``topic`` when it has one.
    """
    try:
        splitter = RESPONSE_SPLITTERS[split]
    except KeyError:
        raise EmovecInputError(f"unknown story split {split!r}; known: {sorted(RESPONSE_SPLITTERS)}") from None
    if on_unparsed not in ON_UNPARSED:
        raise EmovecInputError(f"on_unparsed must be one of {list(ON_UNPARSED)}, got {on_unparsed!r}")
    rows: list[Row] = []
    unparsed: list[Row] = []
    seen: set[str] = set()
    for i, req in enumerate(requests_with_text):
        for key in ("id", "emotion", "text"):
            if key not in req:
                raise EmovecInputError(f"response {i} (id {req.get('id', '?')!r}): missing key {key!r}")
        rid = str(req["id"])
        if rid in seen:
            raise EmovecInputError(f"response {i}: duplicate request id {rid!r}")
        seen.add(rid)
        where = f"request {rid!r}"
        text = req["text"] or ""
        try:
            if not text.strip():
                raise EmovecInputError(f"{where}: empty response")
            stories = splitter(text, where)
        except EmovecInputError as exc:
            if on_unparsed == "error":
                raise
            unparsed.append({"id": rid, "emotion": req["emotion"], "reason": str(exc)})
            continue
        for k, story in enumerate(stories, start=1):
            row: Row = {"id": f"{rid}-s{k}", "emotion": req["emotion"], "role": "emotion", "text": story}
            if "topic" in req:
                row["topic"] = req["topic"]
            rows.append(row)
    return rows, unparsed
