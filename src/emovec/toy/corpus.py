"""Deterministic synthetic story corpus for training the tiny "toy" GPT-2-style models.

No real model weights can be downloaded in this project, so the pipeline trains toy models on
short stories generated here. For the emotion-vector methods to have something to find, the
corpus has *planted* structure at three levels:

1. **Emotion identity** - every emotion has its own lexicon (scene details, body sensations,
   actions, thoughts); a story about an emotion draws several items from it.
2. **Valence** - shared positive/negative phrases are mixed in with a probability and polarity
   set by the emotion's valence in :data:`TOY_AFFECT`, so emotions of the same valence share
   vocabulary even though their own lexicons are disjoint.
3. **Arousal** - likewise shared high/low-arousal phrases, driven by the arousal coordinate.

Neutral stories use only a flat, matter-of-fact lexicon (chores, times, lists), no affective
phrases at all. Everything is pure standard library and driven by one ``random.Random(seed)``,
so a fixed seed gives byte-identical output on every machine.

Phrases are past-tense predicates (``"felt {their} chest grow heavy"``); a story sentence is a
subject (the character's name or pronoun) plus one predicate, optionally joined by ``and`` to a
second, shared predicate. The ``{they}``/``{them}``/``{their}`` slots are filled from the
character's pronouns. :func:`category_phrases` and :func:`surface_forms` expose the rendered
forms so tests (and analyses) can check which lexicon items a story contains.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from emovec.emotions import JEONG_20, NEUTRAL
from emovec.errors import EmovecInputError

# ---------------------------------------------------------------------------------------------
# Affect coordinates
# ---------------------------------------------------------------------------------------------

# (valence, arousal) on [-1, 1] for each of the 20 emotions. This is the project's OWN coarse
# circumplex placement, used only to shape the toy corpus (how often shared valence/arousal
# phrases appear in each emotion's stories). It is not taken from any paper and must not be
# used as ground truth for real models; it only makes sure a toy model has a valence and an
# arousal axis to discover. The single copy lives in stimuli/toy_norms.csv, which the valence
# study also reads as the toy's "norms" (norms: toy), so the planted axes and the ratings the
# analysis correlates against can never drift apart.
def _read_toy_affect() -> dict[str, tuple[float, float]]:
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "stimuli" / "toy_norms.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        return {r["emotion"]: (float(r["valence"]), float(r["arousal"])) for r in csv.DictReader(fh)}


TOY_AFFECT: dict[str, tuple[float, float]] = _read_toy_affect()

# ---------------------------------------------------------------------------------------------
# Lexicons
# ---------------------------------------------------------------------------------------------

# Slot order is also the order slots appear in a story (situation first, reflection last), which
# gives the stories a simple, learnable narrative shape.
EMOTION_SLOTS: tuple[str, ...] = ("scene", "body", "action", "thought")

# The phrase data lives in stimuli/toy_lexicon.json (data, not code); these are its read-only views.
# Emotion-specific lexicon: 8 predicates per slot per emotion. Items are unique across emotions
# and no item is a substring of another category's item (tests check this), so "contains an
# item of emotion X" is an unambiguous label signal.
# VALENCE_PHRASES: shared valence-coded phrases, mixed into stories of *any* emotion with a
# polarity driven by that emotion's valence, so same-valence emotions share these words (a valence
# axis). AROUSAL_PHRASES: likewise, by the arousal coordinate (an arousal axis).
# NEUTRAL_LEXICON: flat, matter-of-fact chores and facts. No affective words, no body states.
# CHARACTERS (name, pronoun key into _PRONOUNS), PLACES and TIMES: small lists on purpose; they
# add surface variety without inflating the vocabulary or carrying any emotion.
def _read_toy_lexicon() -> dict[str, Any]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "stimuli" / "toy_lexicon.json"
    return json.loads(path.read_text(encoding="utf-8"))


_LEXICON = _read_toy_lexicon()
EMOTION_LEXICON: dict[str, dict[str, tuple[str, ...]]] = {
    emotion: {slot: tuple(items) for slot, items in slots.items()}
    for emotion, slots in _LEXICON["emotion_lexicon"].items()
}
VALENCE_PHRASES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _LEXICON["valence_phrases"].items()}
AROUSAL_PHRASES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _LEXICON["arousal_phrases"].items()}
NEUTRAL_SLOTS: tuple[str, ...] = ("scene", "action", "note")
NEUTRAL_LEXICON: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _LEXICON["neutral_lexicon"].items()}
_PRONOUNS: dict[str, dict[str, str]] = _LEXICON["pronouns"]
CHARACTERS: tuple[tuple[str, str], ...] = tuple((name, pronoun) for name, pronoun in _LEXICON["characters"])
PLACES: tuple[str, ...] = tuple(_LEXICON["places"])
TIMES: tuple[str, ...] = tuple(_LEXICON["times"])

# Story shape limits; tests assert every generated story respects them.
MIN_WORDS, MAX_WORDS = 35, 70
MIN_SENTENCES, MAX_SENTENCES = 3, 5

# Probability that an emotion story names its emotion once ("She felt proud."). Real
# model-written emotion stories often do, and it ties the emotion *word* (which the generation
# templates use) to the emotion's lexicon for the base toy model; kept low so the label is
# carried mostly by situation, body and action, as in the papers' stimuli.
NAME_EMOTION_PROB = 0.2

# Each story makes this many independent draws for a shared valence phrase and as many for an
# arousal phrase. A draw fires with probability |coordinate| (so the *magnitude* sets how often
# shared phrases appear) and picks the positive/high pole with probability
# clamp(0.5 + coordinate, 0, 1): emotions near the middle of an axis mix both poles, while
# clearly placed ones (|coordinate| >= 0.5) only ever get their own pole, so a strongly negative
# story never contains a contradictory "felt good inside".
_SHARED_DRAWS = 2

# Retries to land a story inside [MIN_WORDS, MAX_WORDS]; the random choices make nearly every
# attempt fit, so this bound is never approached in practice.
_MAX_ATTEMPTS = 1000

CATEGORIES: tuple[str, ...] = (*JEONG_20, NEUTRAL)


@dataclass(frozen=True)
class ToyStory:
    """One synthetic story. ``emotion`` is one of :data:`JEONG_20` or ``"neutral"``."""

    id: str
    emotion: str
    text: str


# ---------------------------------------------------------------------------------------------
# Rendering helpers
# ---------------------------------------------------------------------------------------------


def _render(phrase: str, pronoun: str) -> str:
    """Fill ``{they}``/``{them}``/``{their}`` slots with one character's pronouns."""
    return phrase.format(**_PRONOUNS[pronoun])


def surface_forms(phrase: str) -> tuple[str, ...]:
    """All rendered forms of a lexicon phrase (one per pronoun set, duplicates removed)."""
    return tuple(dict.fromkeys(_render(phrase, p) for p in _PRONOUNS))


def category_phrases(category: str) -> frozenset[str]:
    """Every rendered surface form of a category's own lexicon (emotion or neutral).

    Shared valence/arousal phrases are *not* included: they are not specific to any category.
    """
    if category == NEUTRAL:
        pool = [p for slot in NEUTRAL_SLOTS for p in NEUTRAL_LEXICON[slot]]
    elif category in EMOTION_LEXICON:
        pool = [p for slot in EMOTION_SLOTS for p in EMOTION_LEXICON[category][slot]]
    else:
        raise EmovecInputError(
            f"category={category!r} is not a toy-corpus category; expected one of {list(CATEGORIES)}"
        )
    return frozenset(form for p in pool for form in surface_forms(p))


def shared_phrases(axis: str, pole: str) -> frozenset[str]:
    """Rendered forms of the shared phrases for ``axis`` ("valence"/"arousal") and its pole."""
    table = {"valence": VALENCE_PHRASES, "arousal": AROUSAL_PHRASES}.get(axis)
    if table is None or pole not in table:
        raise EmovecInputError(
            f"axis={axis!r}, pole={pole!r} is not a shared phrase set; expected "
            "valence/positive|negative or arousal/high|low"
        )
    return frozenset(form for p in table[pole] for form in surface_forms(p))


def _sentence(subject: str, predicate: str, clause: str | None) -> str:
    """Join subject + predicate (+ ``and`` clause) into one sentence."""
    body = f"{subject} {predicate}" if clause is None else f"{subject} {predicate} and {clause}"
    return body + "."


def _shared_clauses(rng: random.Random, emotion: str) -> list[str]:
    """Draw the shared valence/arousal phrases for one emotion story (unrendered)."""
    valence, arousal = TOY_AFFECT[emotion]
    out: list[str] = []
    for coord, table, poles in (
        (valence, VALENCE_PHRASES, ("positive", "negative")),
        (arousal, AROUSAL_PHRASES, ("high", "low")),
    ):
        for _ in range(_SHARED_DRAWS):
            if rng.random() < abs(coord):
                p_first = min(1.0, max(0.0, 0.5 + coord))
                pole = poles[0] if rng.random() < p_first else poles[1]
                out.append(rng.choice(table[pole]))
    rng.shuffle(out)
    return out


def _compose_once(rng: random.Random, category: str) -> str:
    """One attempt at a story for ``category``; may fall outside the word limits."""
    name, pronoun = rng.choice(CHARACTERS)
    opening = f"{rng.choice(TIMES)}, {name} was {rng.choice(PLACES)}."
    subject_pronoun = _PRONOUNS[pronoun]["they"].capitalize()

    def subject() -> str:
        # Mostly the pronoun, sometimes the name again, as in ordinary short prose.
        return name if rng.random() < 0.25 else subject_pronoun

    # Each body sentence is [subject, predicate, clause-or-None]; clauses are added below.
    body: list[list[str | None]] = []
    if category == NEUTRAL:
        slots = ["action"] + (["scene"] if rng.random() < 0.6 else [])
        slots += ["action"] * rng.randint(0, 1) + ["note"]
        order = {"scene": 0, "action": 1, "note": 2}
        slots.sort(key=order.__getitem__)
        used: set[str] = set()
        for slot in slots:
            choice = rng.choice([p for p in NEUTRAL_LEXICON[slot] if p not in used])
            used.add(choice)
            body.append([subject(), choice, None])
        # Flat "and then" clauses for length: more chores, never affect.
        clauses = [
            "then " + p
            for p in rng.sample(NEUTRAL_LEXICON["action"], k=rng.randint(1, 3))
            if p not in used
        ]
    else:
        k = rng.choice((2, 3, 3, 4))
        slots = sorted(rng.sample(range(len(EMOTION_SLOTS)), k))
        for i in slots:
            body.append([subject(), rng.choice(EMOTION_LEXICON[category][EMOTION_SLOTS[i]]), None])
        clauses = _shared_clauses(rng, category)
        if rng.random() < NAME_EMOTION_PROB and 1 + len(body) < MAX_SENTENCES:
            body.insert(rng.randint(0, len(body)), [subject(), f"felt {category}", None])

    # Attach each clause to a free sentence, or make it its own sentence when there is room.
    for clause in clauses:
        free = [s for s in body if s[2] is None]
        room = 1 + len(body) < MAX_SENTENCES
        if free and (not room or rng.random() < 0.7):
            rng.choice(free)[2] = clause
        elif room:
            body.insert(rng.randint(0, len(body)), [subject(), clause, None])
        # else: no free sentence and no room - drop the clause.

    sentences = [opening] + [
        _sentence(str(s[0]), _render(str(s[1]), pronoun),
                  None if s[2] is None else _render(str(s[2]), pronoun))
        for s in body
    ]
    return " ".join(sentences)


def _compose(rng: random.Random, category: str) -> str:
    """A story for ``category`` within the word limits (retrying on the same rng stream)."""
    for _ in range(_MAX_ATTEMPTS):
        text = _compose_once(rng, category)
        if MIN_WORDS <= len(text.split()) <= MAX_WORDS:
            return text
    raise RuntimeError(f"could not compose a {category!r} story within word limits")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def generate_stories(n_per_category: int, seed: int) -> list[ToyStory]:
    """Generate ``n_per_category`` stories for each of the 20 emotions and for neutral.

    Order: categories in :data:`JEONG_20` order, then ``"neutral"``; within a category, ids run
    ``toy-<category>-0000`` upward. Deterministic for a fixed ``seed`` (one private
    ``random.Random(seed)``; global random state is neither read nor changed).
    """
    if isinstance(n_per_category, bool) or not isinstance(n_per_category, int):
        raise EmovecInputError(
            f"n_per_category must be an int >= 1, got {type(n_per_category).__name__} "
            f"{n_per_category!r}"
        )
    if n_per_category < 1:
        raise EmovecInputError(f"n_per_category must be >= 1, got {n_per_category}")
    rng = random.Random(seed)
    stories: list[ToyStory] = []
    for category in CATEGORIES:
        for i in range(n_per_category):
            stories.append(
                ToyStory(id=f"toy-{category}-{i:04d}", emotion=category, text=_compose(rng, category))
            )
    return stories


def instruction_pairs(
    stories: list[ToyStory],
    templates: list[str],
    neutral_template: str,
    neutral_topics: list[str],
    seed: int,
) -> list[tuple[str, str]]:
    """Pair each story with an instruction that could have produced it.

    Emotion stories get a template (chosen with a seeded rng) with ``{emotion}`` filled in;
    neutral stories get ``neutral_template`` with a seeded choice of ``{topic}``. The pairs
    instruction-tune the toy "instruct" model so it can answer the generation templates.
    Placeholders are filled by plain replacement, so other braces in a template are harmless.
    """
    if not templates:
        raise EmovecInputError("templates must be a non-empty list of strings containing '{emotion}'")
    for t in templates:
        if not isinstance(t, str) or "{emotion}" not in t:
            raise EmovecInputError(f"templates: every template must contain '{{emotion}}', got {t!r}")
    if not isinstance(neutral_template, str) or "{topic}" not in neutral_template:
        raise EmovecInputError(
            f"neutral_template must contain '{{topic}}', got {neutral_template!r}"
        )
    if not neutral_topics or not all(isinstance(t, str) and t.strip() for t in neutral_topics):
        raise EmovecInputError("neutral_topics must be a non-empty list of non-empty strings")

    rng = random.Random(seed)
    pairs: list[tuple[str, str]] = []
    for story in stories:
        if story.emotion == NEUTRAL:
            instruction = neutral_template.replace("{topic}", rng.choice(neutral_topics))
        elif story.emotion in EMOTION_LEXICON:
            instruction = rng.choice(templates).replace("{emotion}", story.emotion)
        else:
            raise EmovecInputError(
                f"stories: story {story.id!r} has emotion={story.emotion!r}, expected one of "
                f"{list(CATEGORIES)}"
            )
        pairs.append((instruction, story.text))
    return pairs
