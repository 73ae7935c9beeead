"""Materialise and verify the upstream data: the CLI behind `make data`.

Upstream files (the replicated papers' stimuli, the norms) are never committed to the project.
``conf/data/upstream.yaml`` lists them with pinned URLs and sha256 (the table:
:mod:`emovec.corpora.upstream_files`), and :func:`materialise` places them under ``data/`` (a
DVC-tracked directory) from, in order:

1. ``dvc pull data.dvc``, once, if a DVC remote is configured;
2. a local mirror ``<upstream_root>/<path>`` (the CLI reads ``UPSTREAM_ROOT``);
3. the pinned URL (unless offline, or the file was compiled by hand and has ``url: null``).

Every file is hashed before it is moved into place, so ``data/`` never holds a partial or
wrong file that this module put there. A file no source can supply is reported as missing
rather than raised: a partial ``data/`` is a normal state (the toy selection,
conf/selections/toy.yaml, reads no upstream file), and the report says which config choices
and which run selections the missing files rule out (:mod:`emovec.corpora.upstream_choices`,
derived from conf/; the default selection, conf/selection.yaml, runs real models on upstream data;
the report itself: :mod:`emovec.corpora.manifest_report`).

CLI::

    python -m emovec.corpora.manifest materialise [--manifest M] [--data-dir D] [--offline]
    python -m emovec.corpora.manifest verify [--manifest M] [--data-dir D] [--allow-missing]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from emovec.corpora.manifest_report import MaterialiseReport
from emovec.corpora.upstream_files import (
    DEFAULT_DATA_DIR,
    DEFAULT_MANIFEST,
    READ_BYTES,
    ManifestEntry,
    Redistribute,
    iter_chunks,
    load_manifest,
    sha256_file,
    verify,
    verify_upstream_file,
)
from emovec.errors import EmovecInputError
from emovec.io import atomic_path

__all__ = [
    "DEFAULT_DATA_DIR", "DEFAULT_MANIFEST", "NEEDED_BY", "URL_TIMEOUT_S", "ManifestEntry", "MaterialiseReport",
    "Redistribute", "load_manifest", "main", "materialise", "sha256_file", "verify", "verify_upstream_file",
]

URL_TIMEOUT_S = 20.0


def __getattr__(name: str) -> Any:
    """``NEEDED_BY`` (upstream file -> the config choices that need it) is derived from conf/ when
    asked for (:func:`emovec.corpora.upstream_choices.needed_by`), so importing this module reads
    no file and the map always says what conf/ says now."""
    if name == "NEEDED_BY":
        from emovec.corpora.upstream_choices import needed_by

        return needed_by()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        while chunk := resp.read(READ_BYTES):
            yield chunk


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        yield from iter_chunks(fh)


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



# --------------------------------------------------------------------------------- CLI


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
            # Missing files are not a failure: a selection may need none of them (the toy one
            # reads no upstream file), and the summary says which choices and selections need them.
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
