"""Emotion sets and the fixed facts about them (opposite pairs, the neutral label)."""

from __future__ import annotations

from pathlib import Path

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
    from emovec.errors import EmovecInputError

    if name not in EMOTION_SETS and name not in EMOTION_SET_FILES:
        raise EmovecInputError(
            f"unknown emotion set {name!r}; known sets: {sorted(EMOTION_SETS) + sorted(EMOTION_SET_FILES)}"
        )


def emotion_set(name: str, data_dir: Path | None = None) -> tuple[str, ...]:
    """Return the emotions of a named set; unknown names raise a clear error.

    File-backed sets are read from ``data_dir`` (default: the repository's data/) and checked
    against the manifest's pinned sha256, so a set is always exactly the upstream list."""
    from emovec.errors import EmovecInputError

    check_emotion_set_name(name)
    if name in EMOTION_SETS:
        return EMOTION_SETS[name]
    from emovec.config import CONF_DIR, REPO_ROOT
    from emovec.corpora.manifest import load_manifest, sha256_file
    from emovec.corpora.stories import read_emotion_list

    rel = EMOTION_SET_FILES[name]
    path = (data_dir or REPO_ROOT / "data") / rel
    if not path.is_file():
        raise EmovecInputError(f"emotion set {name!r} reads {path}, which is missing: run `make data` "
                               "(UPSTREAM_ROOT, a DVC remote or network) to materialise data/")
    pinned = {e.path: e.sha256 for e in load_manifest(CONF_DIR / "data" / "upstream.yaml")}
    if sha256_file(path) != pinned.get(rel):
        raise EmovecInputError(f"{path}: sha256 does not match conf/data/upstream.yaml; re-run `make data`")
    return read_emotion_list(path)
