"""Tests for the synthetic toy story corpus and the project-authored stimuli files."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import pytest

from emovec.emotions import JEONG_20, NEUTRAL
from emovec.errors import EmovecInputError
from emovec.toy import corpus
from emovec.toy.corpus import (
    AROUSAL_PHRASES,
    CATEGORIES,
    EMOTION_LEXICON,
    EMOTION_SLOTS,
    TOY_AFFECT,
    VALENCE_PHRASES,
    ToyStory,
    category_phrases,
    generate_stories,
    instruction_pairs,
    shared_phrases,
)

STIMULI = Path(corpus.__file__).resolve().parents[1] / "stimuli"
N = 30  # stories per category in the shared fixture: enough for frequency tests, still fast.
SEED = 1234


@pytest.fixture(scope="module")
def stories() -> list[ToyStory]:
    return generate_stories(N, SEED)


@pytest.fixture(scope="module")
def templates() -> dict:
    with open(STIMULI / "generation_templates.json", encoding="utf-8") as fh:
        return json.load(fh)


def _count(text: str, forms: frozenset[str]) -> int:
    return sum(text.count(f) for f in forms)


def _sentences(text: str) -> int:
    return len(re.findall(r"[.!?](?:\s|$)", text))


# ---------------------------------------------------------------------------------------------
# Story generator
# ---------------------------------------------------------------------------------------------


def test_deterministic_for_fixed_seed(stories: list[ToyStory]) -> None:
    assert generate_stories(N, SEED) == stories
    assert generate_stories(N, SEED + 1) != stories


def test_does_not_touch_global_random_state() -> None:
    random.seed(7)
    expected = random.random()
    random.seed(7)
    generate_stories(2, 0)
    assert random.random() == expected


def test_counts_order_and_ids(stories: list[ToyStory]) -> None:
    assert CATEGORIES == (*JEONG_20, NEUTRAL)
    assert len(stories) == 21 * N
    assert [s.emotion for s in stories] == [c for c in CATEGORIES for _ in range(N)]
    assert stories[0].id == "toy-happy-0000"
    assert stories[N - 1].id == f"toy-happy-{N - 1:04d}"
    assert stories[-1].id == f"toy-neutral-{N - 1:04d}"
    assert all(s.id == f"toy-{s.emotion}-{i % N:04d}" for i, s in enumerate(stories))
    assert len({s.id for s in stories}) == len(stories)


def test_smaller_n_is_consistent() -> None:
    small = generate_stories(1, 5)
    assert [s.id for s in small] == [f"toy-{c}-0000" for c in CATEGORIES]


@pytest.mark.parametrize("bad", [0, -3])
def test_rejects_non_positive_n(bad: int) -> None:
    with pytest.raises(EmovecInputError, match="n_per_category"):
        generate_stories(bad, 0)


def test_rejects_non_int_n() -> None:
    with pytest.raises(EmovecInputError, match="n_per_category"):
        generate_stories(2.0, 0)  # type: ignore[arg-type]


def test_story_shape(stories: list[ToyStory]) -> None:
    for s in stories:
        n_words = len(s.text.split())
        assert corpus.MIN_WORDS <= n_words <= corpus.MAX_WORDS, (s.id, n_words)
        assert corpus.MIN_SENTENCES <= _sentences(s.text) <= corpus.MAX_SENTENCES, s.id
        assert "{" not in s.text and "}" not in s.text, s.id
        assert s.text[0].isupper() and s.text.endswith(".")


def test_affect_table_covers_all_emotions() -> None:
    assert set(TOY_AFFECT) == set(JEONG_20) == set(EMOTION_LEXICON)
    for v, a in TOY_AFFECT.values():
        assert -1.0 <= v <= 1.0 and -1.0 <= a <= 1.0
    # Both signs on both axes, so every circumplex quadrant-half is represented.
    assert {v > 0 for v, _ in TOY_AFFECT.values()} == {True, False}
    assert {a > 0 for _, a in TOY_AFFECT.values()} == {True, False}


def test_lexicon_slot_sizes() -> None:
    for emotion, slots in EMOTION_LEXICON.items():
        assert tuple(slots) == EMOTION_SLOTS, emotion
        for slot, items in slots.items():
            assert 8 <= len(items) <= 15, (emotion, slot)
            assert len(set(items)) == len(items), (emotion, slot)


def test_lexicons_are_disjoint_and_not_nested() -> None:
    """No item of one category (or shared set) is a substring of another's item: unambiguous labels."""
    pools: dict[str, frozenset[str]] = {c: category_phrases(c) for c in CATEGORIES}
    for axis, poles in (("valence", VALENCE_PHRASES), ("arousal", AROUSAL_PHRASES)):
        for pole in poles:
            pools[f"{axis}:{pole}"] = shared_phrases(axis, pole)
    for name_a, forms_a in pools.items():
        for name_b, forms_b in pools.items():
            if name_a == name_b:
                continue
            for fa in forms_a:
                for fb in forms_b:
                    assert fa not in fb, (name_a, fa, name_b, fb)


def test_each_emotion_story_contains_own_lexicon_only(stories: list[ToyStory]) -> None:
    own = {c: category_phrases(c) for c in CATEGORIES}
    for s in stories:
        assert _count(s.text, own[s.emotion]) >= 1, s.id
        for other in CATEGORIES:
            if other != s.emotion:
                assert _count(s.text, own[other]) == 0, (s.id, other)


def test_neutral_stories_have_no_affect(stories: list[ToyStory]) -> None:
    emotion_forms = frozenset().union(*(category_phrases(e) for e in JEONG_20))
    shared = frozenset().union(
        *(shared_phrases("valence", p) for p in VALENCE_PHRASES),
        *(shared_phrases("arousal", p) for p in AROUSAL_PHRASES),
    )
    neutral = [s for s in stories if s.emotion == NEUTRAL]
    assert len(neutral) == N
    for s in neutral:
        assert _count(s.text, emotion_forms) == 0, s.id
        assert _count(s.text, shared) == 0, s.id
        assert not any(re.search(rf"\b{e}\b", s.text) for e in JEONG_20), s.id


def test_planted_valence_structure(stories: list[ToyStory]) -> None:
    pos = shared_phrases("valence", "positive")
    neg = shared_phrases("valence", "negative")

    def mean_rate(forms: frozenset[str], positive_valence: bool) -> float:
        chosen = [s for s in stories if s.emotion in TOY_AFFECT
                  and (TOY_AFFECT[s.emotion][0] > 0) == positive_valence]
        return sum(_count(s.text, forms) for s in chosen) / len(chosen)

    assert mean_rate(pos, True) > mean_rate(pos, False) + 0.5
    assert mean_rate(neg, False) > mean_rate(neg, True) + 0.5


def test_planted_arousal_structure(stories: list[ToyStory]) -> None:
    high = shared_phrases("arousal", "high")

    def mean_rate(high_arousal: bool) -> float:
        chosen = [s for s in stories if s.emotion in TOY_AFFECT
                  and (TOY_AFFECT[s.emotion][1] > 0) == high_arousal]
        return sum(_count(s.text, high) for s in chosen) / len(chosen)

    assert mean_rate(True) > mean_rate(False) + 0.5


def test_unknown_category_and_axis_rejected() -> None:
    with pytest.raises(EmovecInputError, match="category"):
        category_phrases("bored")
    with pytest.raises(EmovecInputError, match="axis"):
        shared_phrases("dominance", "high")


# ---------------------------------------------------------------------------------------------
# Instruction pairs
# ---------------------------------------------------------------------------------------------


def test_instruction_pairs(stories: list[ToyStory], templates: dict) -> None:
    args = (templates["templates"], templates["neutral_template"], templates["neutral_topics"])
    pairs = instruction_pairs(stories, *args, seed=3)
    assert len(pairs) == len(stories)
    assert pairs == instruction_pairs(stories, *args, seed=3)
    for (instruction, text), s in zip(pairs, stories):
        assert text == s.text
        assert "{" not in instruction
        if s.emotion == NEUTRAL:
            assert any(t in instruction for t in templates["neutral_topics"])
        else:
            assert re.search(rf"\b{s.emotion}\b", instruction), (s.id, instruction)
    # The seeded choice actually varies the phrasing.
    assert len({p[0] for p, s in zip(pairs, stories) if s.emotion == "happy"}) > 1


def test_instruction_pairs_rejects_bad_templates(stories: list[ToyStory]) -> None:
    with pytest.raises(EmovecInputError, match="templates"):
        instruction_pairs(stories, ["no placeholder"], "about {topic}", ["x"], seed=0)
    with pytest.raises(EmovecInputError, match="templates"):
        instruction_pairs(stories, [], "about {topic}", ["x"], seed=0)
    with pytest.raises(EmovecInputError, match="neutral_template"):
        instruction_pairs(stories, ["{emotion}"], "no topic", ["x"], seed=0)
    with pytest.raises(EmovecInputError, match="neutral_topics"):
        instruction_pairs(stories, ["{emotion}"], "about {topic}", [], seed=0)
    bad = [ToyStory(id="x", emotion="bored", text="t")]
    with pytest.raises(EmovecInputError, match="stories"):
        instruction_pairs(bad, ["{emotion}"], "about {topic}", ["x"], seed=0)


# ---------------------------------------------------------------------------------------------
# Stimuli files
# ---------------------------------------------------------------------------------------------


def _read_csv(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(STIMULI / name, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def test_comprehension_passages() -> None:
    fields, rows = _read_csv("comprehension_passages.csv")
    assert fields == ["id", "emotion", "text"]
    assert len(rows) == 63
    ids = [r["id"] for r in rows]
    texts = [r["text"] for r in rows]
    assert len(set(ids)) == 63 and len(set(texts)) == 63
    for category in CATEGORIES:
        mine = [r for r in rows if r["emotion"] == category]
        assert [r["id"] for r in mine] == [f"{category}-{i}" for i in (1, 2, 3)]
    assert {r["emotion"] for r in rows} == set(CATEGORIES)
    for r in rows:
        text = r["text"]
        assert text.strip() == text and text
        assert 25 <= len(text.split()) <= 45, r["id"]
        assert 2 <= _sentences(text) <= 3, r["id"]
        # Conveyed through situation, body and action: the passage never names its own emotion.
        if r["emotion"] != NEUTRAL:
            assert not re.search(rf"\b{r['emotion']}\b", text, re.IGNORECASE), r["id"]


def test_generation_templates(templates: dict) -> None:
    assert set(templates) == {"templates", "neutral_template", "neutral_topics"}
    assert len(templates["templates"]) == 5
    assert len(set(templates["templates"])) == 5
    assert all(t.count("{emotion}") == 1 for t in templates["templates"])
    assert templates["neutral_template"].count("{topic}") == 1
    topics = templates["neutral_topics"]
    assert len(topics) == 10 and len(set(topics)) == 10
    assert all(isinstance(t, str) and t.strip() for t in topics)


def test_anisotropy_sentences() -> None:
    fields, rows = _read_csv("anisotropy_sentences.csv")
    assert fields == ["id", "text"]
    assert [r["id"] for r in rows] == [f"aniso-{i:02d}" for i in range(1, 21)]
    texts = [r["text"] for r in rows]
    assert len(set(texts)) == 20 and all(t.strip() for t in texts)
    for t in texts:
        assert not any(re.search(rf"\b{e}\b", t, re.IGNORECASE) for e in JEONG_20), t
