"""The upstream file table: which files the project reads from upstream, and their pinned sha256.

``conf/data/upstream.yaml`` lists every file the authors of the replicated papers (and the norm
authors) wrote; none is committed, and :mod:`emovec.corpora.manifest` places them under ``data/``.
This module is the table itself and the checks against it: :func:`load_manifest` reads and
validates the YAML into :class:`ManifestEntry` rows, :func:`sha256_file` hashes a file, :func:`verify`
checks a data directory against the table and :func:`verify_upstream_file` checks one input a stage
is about to read. It reads nothing when imported and imports nothing heavy, so every stage that
reads an upstream file depends on this table only, not on the fetching code.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Literal

import yaml

from emovec.errors import EmovecInputError

DEFAULT_MANIFEST = "conf/data/upstream.yaml"
DEFAULT_DATA_DIR = "data"
READ_BYTES = 1 << 20  # 1 MiB per read when hashing: flat memory for any file size
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_ALLOWED_KEYS = frozenset({"path", "url", "sha256", "licence", "redistribute", "description", "note"})

Redistribute = bool | Literal["unknown"]


@dataclass(frozen=True)
class ManifestEntry:
    """One upstream file: where it lives under ``data/``, where it comes from, and its hash."""

    path: str
    """Relative POSIX path under the data directory (and under a mirror root)."""
    url: str | None
    """Raw-file URL pinned to a commit; ``None`` for files compiled by hand (no single source)."""
    sha256: str
    """Lower-case hex sha256 of the exact bytes expected."""
    licence: str | None = None
    redistribute: Redistribute = "unknown"
    """``False`` forbids pushing the file anywhere public (e.g. Warriner's CC BY-NC-ND)."""
    description: str = ""
    note: str | None = None

    def __post_init__(self) -> None:
        # Entries may be built in code (tests, notebooks), not only by load_manifest, so the
        # invariants that keep materialise safe (no path escaping data/, a usable hash) are
        # checked here too.
        problem = _path_problem(self.path) or _sha_problem(self.sha256)
        if problem:
            raise EmovecInputError(f"manifest entry {self.path!r}: {problem}")


# --------------------------------------------------------------------------------- loading


def _path_problem(path: Any) -> str | None:
    """Why ``path`` is not a safe relative path under data/, or None if it is."""
    if not isinstance(path, str) or not path.strip():
        return "'path' must be a non-empty string"
    p = PurePosixPath(path)
    if "\\" in path or p.is_absolute() or ".." in p.parts or path != p.as_posix():
        return f"'path' must be a normalised relative POSIX path without '..', got {path!r}"
    return None


def _sha_problem(sha: Any) -> str | None:
    """Why ``sha`` is not a 64-hex-digit lower-case sha256, or None if it is."""
    if not isinstance(sha, str):
        # YAML turns an unquoted all-digit value into an int, so say how to fix that.
        return f"'sha256' must be a string of 64 lower-case hex digits (quote it in YAML), got {sha!r}"
    if not _SHA256_RE.match(sha):
        return f"'sha256' must be 64 lower-case hex digits, got {sha!r}"
    return None


def load_manifest(path: str | os.PathLike[str]) -> list[ManifestEntry]:
    """Read and validate a manifest YAML (a mapping with a ``files:`` list).

    Raises :class:`EmovecInputError` naming the manifest file and the entry (``files[i]``, and
    its path when known) for: unreadable YAML, a missing/invalid path or sha256, an unknown key
    (a typo such as ``sha265`` would otherwise silently disable verification), a bad url or
    redistribute value, or a duplicate path.
    """
    mpath = Path(path)
    try:
        raw = yaml.safe_load(mpath.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EmovecInputError(f"{mpath}: cannot read manifest ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise EmovecInputError(f"{mpath}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("files"), list):
        raise EmovecInputError(f"{mpath}: expected a mapping with a 'files:' list")

    entries: list[ManifestEntry] = []
    first_seen: dict[str, int] = {}
    for i, item in enumerate(raw["files"]):
        where = f"{mpath}: files[{i}]"
        if not isinstance(item, dict):
            raise EmovecInputError(f"{where}: expected a mapping, got {type(item).__name__}")
        if isinstance(item.get("path"), str):
            where += f" ({item['path']})"
        unknown = sorted(set(map(str, item)) - _ALLOWED_KEYS)
        if unknown:
            raise EmovecInputError(
                f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_ALLOWED_KEYS))}"
            )
        if "path" not in item:
            raise EmovecInputError(f"{where}: missing key 'path'")
        if "sha256" not in item:
            raise EmovecInputError(f"{where}: missing key 'sha256'")
        problem = _path_problem(item["path"]) or _sha_problem(item["sha256"])
        if problem:
            raise EmovecInputError(f"{where}: {problem}")
        url = item.get("url")
        if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
            raise EmovecInputError(f"{where}: 'url' must be an http(s) URL or null, got {url!r}")
        redistribute = item.get("redistribute", "unknown")
        if not (isinstance(redistribute, bool) or redistribute == "unknown"):
            raise EmovecInputError(
                f"{where}: 'redistribute' must be true, false or unknown, got {redistribute!r}"
            )
        for key in ("licence", "description", "note"):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise EmovecInputError(f"{where}: '{key}' must be a string")
        p = item["path"]
        if p in first_seen:
            raise EmovecInputError(f"{where}: duplicate path {p!r} (first listed at files[{first_seen[p]}])")
        first_seen[p] = i
        entries.append(
            ManifestEntry(
                path=p,
                url=url,
                sha256=item["sha256"],
                licence=item.get("licence"),
                redistribute=redistribute,
                description=(item.get("description") or "").strip(),
                note=(item.get("note") or None),
            )
        )
    return entries


# --------------------------------------------------------------------------------- hashing


def _hash_stream(chunks: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def iter_chunks(fh: BinaryIO) -> Iterator[bytes]:
    """The bytes of an open binary file, ``READ_BYTES`` (1 MiB) at a time."""
    while chunk := fh.read(READ_BYTES):
        yield chunk


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (the stories file is several MB)."""
    with open(path, "rb") as fh:
        return _hash_stream(iter_chunks(fh))


# --------------------------------------------------------------------------------- checking


def verify(
    entries: list[ManifestEntry], data_dir: str | os.PathLike[str], *, include_missing: bool = True
) -> list[str]:
    """Problems with ``data_dir`` against the manifest: files missing, or present with the wrong hash.

    Returns one human-readable line per problem (empty list: all good). ``include_missing=False``
    checks only the files that are there (a selection that reads no upstream file, such as
    conf/selections/toy.yaml, runs with a partial or empty data/).
    """
    ddir = Path(data_dir)
    problems: list[str] = []
    for e in entries:
        final = ddir / e.path
        if not final.is_file():
            if include_missing:
                problems.append(f"missing: {final.as_posix()}")
            continue
        actual = sha256_file(final)
        if actual != e.sha256:
            problems.append(f"sha256 mismatch: {final.as_posix()}: expected {e.sha256}, got {actual}")
    return problems


def verify_upstream_file(path: Path, expected_sha256: str) -> None:
    """An upstream input must be exactly the pinned file (conf/data/upstream.yaml)."""
    if not path.is_file():
        raise EmovecInputError(f"upstream stimulus file {path} is missing: run `make data` "
                               "(with UPSTREAM_ROOT set, a DVC remote, or network) to materialise data/")
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise EmovecInputError(f"{path}: sha256 {actual} does not match the manifest's {expected_sha256}")


