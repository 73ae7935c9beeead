"""The emotions of a named set: a fixed list (:data:`emovec.emotions.EMOTION_SETS`) or an upstream
file (:data:`emovec.emotions.EMOTION_SET_FILES`) read from data/ and checked against the manifest's
pinned sha256, so a set is always exactly the upstream list."""

from __future__ import annotations

import re
from pathlib import Path

from emovec.corpora.upstream_files import load_manifest, sha256_file
from emovec.emotions import EMOTION_SET_FILES, EMOTION_SETS, check_emotion_set_name
from emovec.errors import EmovecInputError
from emovec.paths import CONF_DIR, REPO_ROOT

__all__ = ["emotion_set", "read_emotion_list"]

# One emotion as upstream lists write it: lowercase words joined by single spaces or hyphens.
_EMOTION_WORD = re.compile(r"[a-z]+(?:[ -][a-z]+)*")


def emotion_set(name: str, data_dir: Path | None = None) -> tuple[str, ...]:
    """Return the emotions of a named set; unknown names raise a clear error.

    File-backed sets are read from ``data_dir`` (default: the repository's data/) and checked
    against the manifest's pinned sha256, so a set is always exactly the upstream list."""
    check_emotion_set_name(name)
    if name in EMOTION_SETS:
        return EMOTION_SETS[name]
    rel = EMOTION_SET_FILES[name]
    path = (data_dir or REPO_ROOT / "data") / rel
    if not path.is_file():
        raise EmovecInputError(f"emotion set {name!r} reads {path}, which is missing: run `make data` "
                               "(UPSTREAM_ROOT, a DVC remote or network) to materialise data/")
    pinned = {e.path: e.sha256 for e in load_manifest(CONF_DIR / "data" / "upstream.yaml")}
    if sha256_file(path) != pinned.get(rel):
        raise EmovecInputError(f"{path}: sha256 does not match conf/data/upstream.yaml; re-run `make data`")
    return read_emotion_list(path)


def read_emotion_list(path: str | Path) -> tuple[str, ...]:
    """One emotion per line (Anthropic's 171 in ``prompts/emotions.txt``), in file order.

    Lines are stripped and blank ones skipped. Each emotion must be lowercase letters, with single
    spaces or hyphens between words ("worn out", "grief-stricken"); a duplicate is an error
    naming both lines.
    """
    path = Path(path)
    if not path.is_file():
        hint = (" (an upstream file: run `make data` with UPSTREAM_ROOT set, or see conf/data/upstream.yaml)"
                if "data" in path.parts else "")
        raise EmovecInputError(f"stimulus file {path} does not exist{hint}")
    lines = path.read_text(encoding="utf-8").splitlines()
    seen: dict[str, int] = {}
    for lineno, word in ((i, s.strip()) for i, s in enumerate(lines, start=1) if s.strip()):
        if not _EMOTION_WORD.fullmatch(word):
            why = "is not lowercase" if word != word.lower() else \
                "must be lowercase letters with single spaces or hyphens between words"
            raise EmovecInputError(f"{path}: line {lineno}: emotion {word!r} {why}")
        if word in seen:
            raise EmovecInputError(f"{path}: line {lineno}: duplicate emotion {word!r} "
                                   f"(first at line {seen[word]})")
        seen[word] = lineno
    if not seen:
        raise EmovecInputError(f"{path}: no emotions (every line is empty)")
    return tuple(seen)
