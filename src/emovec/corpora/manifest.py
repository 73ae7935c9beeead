"""The upstream data manifest: pinned URLs + sha256 for every file the project reads from upstream.

Upstream files (the replicated papers' stimuli, the norms) are never committed to the project.
``conf/data/upstream.yaml`` lists them, and :func:`materialise` places them under ``data/``
(a DVC-tracked directory) from, in order:

1. ``dvc pull data.dvc``, once, if a DVC remote is configured;
2. a local mirror ``<upstream_root>/<path>`` (the CLI reads ``UPSTREAM_ROOT``);
3. the pinned URL (unless offline, or the file was compiled by hand and has ``url: null``).

Every file is hashed before it is moved into place, so ``data/`` never holds a partial or
wrong file that this module put there. A file no source can supply is reported as missing
rather than raised: the toy default needs no upstream data, so a partial ``data/`` is a
normal state, and the report says which config choices it rules out.

CLI::

    python -m emovec.corpora.manifest materialise [--manifest M] [--data-dir D] [--offline]
    python -m emovec.corpora.manifest verify [--manifest M] [--data-dir D] [--allow-missing]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Literal

import yaml

from emovec.errors import EmovecInputError
from emovec.io import atomic_path

DEFAULT_MANIFEST = "conf/data/upstream.yaml"
DEFAULT_DATA_DIR = "data"
URL_TIMEOUT_S = 20.0
_CHUNK = 1 << 20
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_ALLOWED_KEYS = frozenset({"path", "url", "sha256", "licence", "redistribute", "description", "note"})

Redistribute = bool | Literal["unknown"]

# Which config choices need which upstream file, so a missing file can be reported in terms the
# user acts on ("corpus=jeong-comprehension is unavailable") rather than as a bare path.
NEEDED_BY: dict[str, tuple[str, ...]] = {
    "neural-mri/emotion_comprehension_texts.csv": ("corpus=jeong-comprehension",),
    "neural-mri/protocol_stimuli.json": ("corpus=jeong-generation", "steering scenarios (Jeong)"),
    "emotion_experiment/prompts/emotions.txt": ("emotions=anthropic171", "corpus=vanderben-generation"),
    "emotion_experiment/prompts/neutral_texts.txt": (
        "corpus=vanderben-stories (neutral baseline)",
        "corpus=vanderben-generation (neutral baseline)",
    ),
    "emotion_experiment/prompts/story_prompt.txt": ("corpus=vanderben-generation",),
    "emotion_experiment/prompts/topics.txt": ("corpus=vanderben-generation",),
    "emotion_experiment/sentences.json": ("corpus=vanderben-probes",),
    "emotion_experiment/emotion_valence_arousal_nrc.csv": ("norms=nrc-vad",),
    "emotion_experiment/output_gemma_stories/stories.jsonl": ("corpus=vanderben-stories",),
    "norms/warriner2013.csv": ("norms=warriner2013",),
    "norms/valence_arousal_171_all_sources.csv": ("norms=all-sources",),
}


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


def _iter_file(fh: BinaryIO) -> Iterator[bytes]:
    while chunk := fh.read(_CHUNK):
        yield chunk


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (the stories file is several MB)."""
    with open(path, "rb") as fh:
        return _hash_stream(_iter_file(fh))


# --------------------------------------------------------------------------------- report


@dataclass
class MaterialiseReport:
    """What :func:`materialise` did: per file, whether it was already there, where from, or missing."""

    data_dir: Path
    already_present: list[str] = field(default_factory=list)
    obtained: dict[str, str] = field(default_factory=dict)
    """path -> source label (``dvc``, ``mirror <root>``, ``url <url>``)."""
    missing: list[str] = field(default_factory=list)
    stale: dict[str, str] = field(default_factory=dict)
    """path -> sha256 of a pre-existing wrong file left untouched because no source could replace it."""
    attempts: dict[str, list[str]] = field(default_factory=dict)
    """path -> why each source that was tried did not supply it (for the summary of missing files)."""
    notes: list[str] = field(default_factory=list)
    """Run-level remarks (DVC skipped or failed, mirror root absent, offline)."""

    @property
    def complete(self) -> bool:
        """True when every manifest file is now in data/ with the right sha256."""
        return not self.missing

    def summary(self) -> str:
        """Human-readable account, ending with the config choices the missing files rule out."""
        n = len(self.already_present) + len(self.obtained) + len(self.missing)
        by_source: dict[str, int] = {}
        for src in self.obtained.values():
            kind = src.split(" ", 1)[0]
            by_source[kind] = by_source.get(kind, 0) + 1
        got = ", ".join(f"{k}: {v}" for k, v in sorted(by_source.items()))
        lines = [
            f"upstream data in {self.data_dir}: {n} file(s): {len(self.already_present)} already present, "
            f"{len(self.obtained)} obtained{f' ({got})' if got else ''}, {len(self.missing)} missing."
        ]
        lines += [f"note: {note}" for note in self.notes]
        if self.missing:
            lines.append("Unavailable until the missing files are materialised:")
            for p in self.missing:
                shown = (self.data_dir / p).as_posix()
                for choice in NEEDED_BY.get(p, ("(no config choice registered)",)):
                    lines.append(f"  {choice} needs {shown}")
                if p in self.stale:
                    lines.append(f"    (a file with the wrong sha256 {self.stale[p]} is there; not replaced)")
                for why in self.attempts.get(p, []):
                    lines.append(f"    - {why}")
            lines.append(
                "Fix: set UPSTREAM_ROOT to a mirror (e.g. ../shared/reference), configure a DVC "
                "remote, or run without --offline. The toy default needs none of these files."
            )
        return "\n".join(lines)


# --------------------------------------------------------------------------------- sources


def _dvc_executable() -> str | None:
    # Prefer the dvc installed next to this interpreter (the project venv) over whatever is on
    # PATH, so the same DVC version that wrote data.dvc reads it.
    sibling = Path(sys.executable).with_name("dvc")
    if sibling.is_file() and os.access(sibling, os.X_OK):
        return str(sibling)
    return shutil.which("dvc")


def _dvc_pull(data_dir: Path) -> str | None:
    """Run ``dvc pull <data>.dvc`` from the repo root if a remote is configured.

    Returns a note for the report when DVC was tried and did not work, ``None`` when it worked
    or was skipped silently (no dvc, no .dvc file, no remote: all normal for a fresh clone).
    """
    repo_root = data_dir.resolve().parent
    dvc_file = repo_root / f"{data_dir.name}.dvc"
    exe = _dvc_executable()
    if exe is None or not dvc_file.is_file():
        return None
    try:
        remotes = subprocess.run(
            [exe, "remote", "list"], cwd=repo_root, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if remotes.returncode != 0 or not remotes.stdout.strip():
        return None
    try:
        pulled = subprocess.run([exe, "pull", dvc_file.name], cwd=repo_root, capture_output=True, text=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"dvc pull {dvc_file.name} could not run ({exc}); fell back to mirror/URL"
    if pulled.returncode != 0:
        tail = (pulled.stderr or pulled.stdout).strip().splitlines()[-1:] or ["no output"]
        # Not fatal: a partial pull still leaves good files, and the other sources may fill in.
        return f"dvc pull {dvc_file.name} failed (rc={pulled.returncode}: {tail[0]}); fell back to mirror/URL"
    return None


def _mismatch(entry: ManifestEntry, source: str, actual: str) -> EmovecInputError:
    return EmovecInputError(
        f"sha256 mismatch for {entry.path} from {source}: expected {entry.sha256}, got {actual}; "
        f"nothing was written to data/ for this file"
    )


def _install(entry: ManifestEntry, final: Path, chunks: Iterable[bytes], source: str) -> None:
    """Stream ``chunks`` into a temp sibling of ``final``, verify, then rename into place.

    atomic_path removes the temp file on any exception (mismatch, network drop mid-download),
    so the final path only ever receives verified bytes.
    """
    with atomic_path(final) as tmp:
        h = hashlib.sha256()
        with open(tmp, "wb") as out:
            for chunk in chunks:
                h.update(chunk)
                out.write(chunk)
        actual = h.hexdigest()
        if actual != entry.sha256:
            raise _mismatch(entry, source, actual)


def _url_chunks(url: str) -> Iterator[bytes]:
    req = urllib.request.Request(url, headers={"User-Agent": "emovec-manifest"})
    with urllib.request.urlopen(req, timeout=URL_TIMEOUT_S) as resp:
        while chunk := resp.read(_CHUNK):
            yield chunk


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        yield from _iter_file(fh)


# --------------------------------------------------------------------------------- progress


class _Progress:
    """One line per file, through tqdm when it is installed (a bar for slow downloads)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.i = 0
        self.total = total
        # A bar only makes sense on a terminal; in CI logs tqdm's carriage returns are noise,
        # so there the plain per-file lines are printed instead.
        if enabled and sys.stderr.isatty():
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="file", file=sys.stderr, leave=False)
            except ImportError:
                self.bar = None

    def done(self, path: str, what: str) -> None:
        self.i += 1
        if not self.enabled:
            return
        line = f"[{self.i}/{self.total}] {path}: {what}"
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
            self.bar.update(1)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------------- materialise


def _present_ok(final: Path, entry: ManifestEntry) -> tuple[bool, str | None]:
    """(is the right file there?, sha256 of whatever is there or None)."""
    if not final.is_file():
        return False, None
    actual = sha256_file(final)
    return actual == entry.sha256, actual


def materialise(
    entries: list[ManifestEntry],
    data_dir: str | os.PathLike[str],
    *,
    upstream_root: str | os.PathLike[str] | None,
    dvc_remote: bool = True,
    allow_network: bool = True,
    progress: bool = True,
) -> MaterialiseReport:
    """Make every manifest file present in ``data_dir`` with its pinned sha256, where possible.

    Files already present with the right hash are left alone (a second call is a no-op). For
    the others the sources are tried in order: ``dvc pull`` (once, if ``dvc_remote`` and a
    remote is configured), ``upstream_root/<path>``, then the entry's URL (if
    ``allow_network``). A source supplying the wrong bytes raises :class:`EmovecInputError`
    naming the file, the source and both hashes; nothing is written at that file's final path.
    A file no source supplies is listed in ``report.missing``; that is not an error.
    """
    ddir = Path(data_dir)
    report = MaterialiseReport(data_dir=ddir)
    prog = _Progress(len(entries), progress)
    try:
        todo: list[ManifestEntry] = []
        before: dict[str, str | None] = {}
        for e in entries:
            ok, actual = _present_ok(ddir / e.path, e)
            if ok:
                report.already_present.append(e.path)
                prog.done(e.path, "already present")
            else:
                todo.append(e)
                before[e.path] = actual

        # (a) DVC: one pull for the whole directory, and only if something is actually needed,
        # because contacting a remote is slow and may need credentials.
        if todo and dvc_remote:
            note = _dvc_pull(ddir)
            if note:
                report.notes.append(note)
            still: list[ManifestEntry] = []
            for e in todo:
                final = ddir / e.path
                ok, actual = _present_ok(final, e)
                if ok:
                    report.obtained[e.path] = "dvc"
                    prog.done(e.path, "from dvc")
                elif actual is not None and actual != before[e.path]:
                    # DVC wrote these bytes in place (it does not stage through us), so the
                    # only way to honour "no bad file at the final path" is to remove them.
                    final.unlink()
                    raise _mismatch(e, f"dvc pull {ddir.name}.dvc", actual)
                else:
                    still.append(e)
            todo = still

        root = Path(upstream_root) if upstream_root is not None else None
        if todo and root is None:
            report.notes.append("no mirror given (upstream_root / UPSTREAM_ROOT unset); mirror skipped")
        if todo and root is not None and not root.is_dir():
            report.notes.append(f"upstream_root {root} is not a directory; mirror skipped")
            root = None
        if todo and not allow_network:
            report.notes.append("offline: pinned URLs were not tried")

        for e in todo:
            final = ddir / e.path
            tried = report.attempts.setdefault(e.path, [])
            source: str | None = None
            # (b) local mirror
            if root is not None:
                candidate = root / e.path
                if candidate.is_file():
                    try:
                        _install(e, final, _file_chunks(candidate), f"mirror {candidate}")
                        source = f"mirror {root}"
                    except OSError as exc:  # unreadable mirror file: try the URL instead
                        tried.append(f"mirror {candidate} unreadable: {exc.strerror or exc}")
                else:
                    tried.append(f"not in mirror {root}")
            # (c) pinned URL
            if source is None and e.url is None:
                tried.append("no URL (compiled file; needs a DVC remote or a mirror)")
            elif source is None and allow_network:
                assert e.url is not None
                try:
                    _install(e, final, _url_chunks(e.url), f"url {e.url}")
                    source = f"url {e.url}"
                except (urllib.error.URLError, OSError, TimeoutError) as exc:
                    # Network trouble means "missing", not "wrong": the run can go on with
                    # the choices that do not need this file.
                    reason = getattr(exc, "reason", None) or exc
                    tried.append(f"download failed: {reason}")
            if source is not None:
                report.obtained[e.path] = source
                report.attempts.pop(e.path, None)
                prog.done(e.path, f"from {source}")
            else:
                report.missing.append(e.path)
                if before.get(e.path) is not None:
                    report.stale[e.path] = str(before[e.path])
                prog.done(e.path, "MISSING")
    finally:
        prog.close()
    return report


def verify(
    entries: list[ManifestEntry], data_dir: str | os.PathLike[str], *, include_missing: bool = True
) -> list[str]:
    """Problems with ``data_dir`` against the manifest: files missing, or present with the wrong hash.

    Returns one human-readable line per problem (empty list: all good). ``include_missing=False``
    checks only the files that are there (the toy default runs with an empty data/).
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


# --------------------------------------------------------------------------------- CLI


def verify_upstream_file(path: Path, expected_sha256: str) -> None:
    """An upstream input must be exactly the pinned file (conf/data/upstream.yaml)."""
    if not path.is_file():
        raise EmovecInputError(f"upstream stimulus file {path} is missing: run `make data` "
                               "(with UPSTREAM_ROOT set, a DVC remote, or network) to materialise data/")
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise EmovecInputError(f"{path}: sha256 {actual} does not match the manifest's {expected_sha256}")



def main(argv: list[str] | None = None, *, env: Mapping[str, str] | None = None) -> int:
    """CLI entry point; returns the exit status (0 ok, 1 verify found problems, 2 bad input).

    ``env`` replaces ``os.environ`` (only ``UPSTREAM_ROOT`` is read) so tests need not mutate it.
    """
    parser = argparse.ArgumentParser(
        prog="python -m emovec.corpora.manifest",
        description="Materialise or verify the upstream data files listed in the manifest.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--manifest", default=DEFAULT_MANIFEST, help="manifest YAML (default %(default)s)")
    common.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="data directory (default %(default)s)")
    m = sub.add_parser("materialise", parents=[common], help="fetch and verify upstream files into data/")
    m.add_argument("--offline", action="store_true", help="never try the pinned URLs")
    m.add_argument("--no-dvc", action="store_true", help="do not try `dvc pull`")
    m.add_argument("--quiet", action="store_true", help="no per-file progress lines")
    v = sub.add_parser("verify", parents=[common], help="check data/ against the manifest")
    v.add_argument("--allow-missing", action="store_true", help="only check files that are present")
    args = parser.parse_args(argv)
    environ: Mapping[str, str] = os.environ if env is None else env

    try:
        entries = load_manifest(args.manifest)
        if args.command == "materialise":
            report = materialise(
                entries,
                args.data_dir,
                upstream_root=environ.get("UPSTREAM_ROOT") or None,
                dvc_remote=not args.no_dvc,
                allow_network=not args.offline,
                progress=not args.quiet,
            )
            print(report.summary())
            # Missing files are not a failure: the toy default needs none of them, and the
            # summary already says which choices are unavailable.
            return 0
        problems = verify(entries, args.data_dir, include_missing=not args.allow_missing)
        for line in problems:
            print(line)
        if not problems:
            scope = "every present manifest file" if args.allow_missing else f"all {len(entries)} manifest files"
            print(f"{args.data_dir}: {scope} verified")
        return 1 if problems else 0
    except EmovecInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
