"""Emotion sets and the fixed facts about them (opposite pairs, the neutral label)."""

from __future__ import annotations

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


def emotion_set(name: str) -> tuple[str, ...]:
    """Return the emotions of a named set; unknown names raise a clear error."""
    from emovec.errors import EmovecInputError

    try:
        return EMOTION_SETS[name]
    except KeyError:
        raise EmovecInputError(
            f"unknown emotion set {name!r}; known sets: {sorted(EMOTION_SETS)}"
        ) from None
