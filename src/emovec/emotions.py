"""Emotion sets and the fixed facts about them (opposite pairs, the neutral label). A set that is an
upstream file is read by :func:`emovec.corpora.emotion_sets.emotion_set`."""

from __future__ import annotations

from emovec.errors import EmovecInputError

NEUTRAL = "neutral"

# Jeong (2026) §3.2: 20 of Anthropic's 171 emotions, covering the four circumplex quadrants.
JEONG_20: tuple[str, ...] = (
    "happy", "sad", "calm", "desperate", "afraid", "angry", "proud", "guilty", "nervous",
    "hopeful", "brooding", "gloomy", "reflective", "enthusiastic", "hostile", "loving",
    "exasperated", "blissful", "anxious", "grateful",
)

# Semantically opposite pairs whose cosines Jeong reports (§4.5).
OPPOSITE_PAIRS: tuple[tuple[str, str], ...] = (
    ("happy", "sad"), ("calm", "desperate"), ("loving", "hostile"), ("proud", "guilty"),
)

EMOTION_SETS: dict[str, tuple[str, ...]] = {"jeong20": JEONG_20}

# Sets that are upstream files (never committed): path under data/, fetched by the manifest.
# Anthropic's 171 emotions, as shipped by van der Ben et al.'s emotion_experiment repository.
EMOTION_SET_FILES: dict[str, str] = {"anthropic171": "emotion_experiment/prompts/emotions.txt"}


def check_emotion_set_name(name: str) -> None:
    """Raise unless ``name`` is a registered set (without reading a file-backed set's file, so
    configs compose before data/ is materialised)."""
    if name not in EMOTION_SETS and name not in EMOTION_SET_FILES:
        raise EmovecInputError(
            f"unknown emotion set {name!r}; known sets: {sorted(EMOTION_SETS) + sorted(EMOTION_SET_FILES)}"
        )
