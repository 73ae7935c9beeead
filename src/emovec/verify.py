"""``make verify``: what a reviewer runs after ``make replicate`` to check every reported number.

Three checks, in order:

1. **Tracked outputs match dvc.lock.** Every output and dependency DVC recorded is hashed again
   (DVC's own md5 scheme: raw bytes for files; for directories the md5 of the sorted JSON
   listing of per-file md5s). A mismatch is named down to the file, using the directory
   listing in the DVC cache when it is there. An output that differs was changed after DVC
   wrote it (tampered, or hand-edited); a dependency that differs means the outputs are stale
   (code or config changed without ``dvc repro``). ``dvc status`` is asked as a second opinion.
2. **Tables regenerate byte-identically.** The paper and claims stages are re-run (their
   commands read from dvc.yaml) into a temporary directory from the tracked inputs, each under
   the git revision that stage recorded (provenance.json beside its outputs), and every file is
   compared byte for byte.
3. **Claims.** The claims table (``paper/claims/claims.csv``, from ``paper/claims.yaml``) is
   summarised: how many reported numbers replicate, differ, or were not run and why.

Exit status 1 when check 1 or 2 fails (every failure listed, by file); the claims' statuses
inform and never fail the run (a "differs" is a finding, not an error).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Finding", "check_lock", "dir_md5", "file_md5", "main", "regenerate_and_compare"]

_CHUNK = 1 << 20
# Stages whose outputs ``make verify`` regenerates, and the flags naming their output dirs.
REGENERATED = {"paper": ("--tables-dir", "--figures-dir"), "claims": ("--out",)}


@dataclass(frozen=True)
class Finding:
    """One failed check: ``kind`` is tampered | missing | extra | stale | differs | error."""

    kind: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind:9s} {self.path}: {self.detail}"


def file_md5(path: Path) -> str:
    """md5 of a file's bytes, as DVC 3 records it."""
    h = hashlib.md5()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _listing(root: Path) -> list[dict[str, str]]:
    return sorted(({"md5": file_md5(p), "relpath": p.relative_to(root).as_posix()}
                   for p in root.rglob("*") if p.is_file()), key=lambda e: e["relpath"])


def dir_md5(root: Path) -> tuple[str, list[dict[str, str]]]:
    """DVC's directory hash (``<md5>.dir``) and the per-file listing it is computed from."""
    entries = _listing(root)
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode()).hexdigest() + ".dir", entries


def _cached_listing(repo: Path, md5: str) -> list[dict[str, str]] | None:
    path = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _check_entry(repo: Path, entry: dict[str, Any], role: str, stage: str) -> Iterator[Finding]:
    """Findings for one recorded out/dep; ``role`` is "out" or "dep"."""
    rel = str(entry["path"])
    path = repo / rel
    recorded = str(entry.get("md5", ""))
    changed = "tampered" if role == "out" else "stale"
    why = (f"differs from dvc.lock (stage {stage}); changed after DVC recorded it" if role == "out"
           else f"dependency of stage {stage} changed since the run; its outputs are stale (run dvc repro)")
    if not path.exists():
        yield Finding("missing", rel, f"recorded in dvc.lock ({role} of stage {stage}) but absent")
        return
    if not recorded.endswith(".dir"):
        if path.is_dir() or file_md5(path) != recorded:
            yield Finding(changed, rel, why)
        return
    current, entries = dir_md5(path)
    if current == recorded:
        return
    cached = _cached_listing(repo, recorded)
    if cached is None:  # no listing to compare against: name the directory
        yield Finding(changed, rel + "/", why + " (file-level listing not in the DVC cache)")
        return
    now = {e["relpath"]: e["md5"] for e in entries}
    then = {e["relpath"]: e["md5"] for e in cached}
    for name in sorted(then):
        if name not in now:
            yield Finding("missing", f"{rel}/{name}", f"listed in dvc.lock ({role} of stage {stage}) but absent")
        elif now[name] != then[name]:
            yield Finding(changed, f"{rel}/{name}", why)
    for name in sorted(set(now) - set(then)):
        yield Finding("extra" if role == "out" else "stale", f"{rel}/{name}",
                      f"not in dvc.lock's record of stage {stage}'s {role}")


def check_lock(repo: Path) -> list[Finding]:
    """Check 1: every out and dep in dvc.lock against the working tree."""
    lock_path = repo / "dvc.lock"
    if not lock_path.is_file():
        return [Finding("missing", "dvc.lock", "no pipeline run recorded; run `make replicate` first")]
    lock = yaml.safe_load(lock_path.read_text()) or {}
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for stage, rec in sorted((lock.get("stages") or {}).items()):
        for role, key in (("out", "outs"), ("dep", "deps")):
            for entry in rec.get(key) or []:
                # A dep shared by many stages is checked (and reported) once.
                if role == "dep" and (entry["path"], entry.get("md5", "")) in seen:
                    continue
                seen.add((entry["path"], entry.get("md5", "")))
                findings.extend(_check_entry(repo, entry, role, stage))
    return findings


def dvc_status_stages(repo: Path) -> dict[str, Any] | None:
    """``dvc status --json`` (None when DVC is unavailable or fails)."""
    dvc = shutil.which("dvc")
    if dvc is None:
        return None
    res = subprocess.run([dvc, "status", "--json"], cwd=repo, capture_output=True, text=True)
    if res.returncode != 0:
        return None
    try:
        return json.loads(res.stdout or "{}")
    except ValueError:
        return None


def _stage_command(repo: Path, stage: str) -> list[str]:
    stages = (yaml.safe_load((repo / "dvc.yaml").read_text()) or {}).get("stages") or {}
    if stage not in stages:
        raise KeyError(stage)
    return shlex.split(str(stages[stage]["cmd"]))


def _replace_flag(argv: list[str], flag: str, value: str) -> tuple[list[str], str]:
    if flag not in argv:
        raise ValueError(f"the command has no {flag}")
    i = argv.index(flag)
    old = argv[i + 1]
    return argv[:i + 1] + [value] + argv[i + 2:], old


def _compare_dirs(tracked: Path, fresh: Path, rel: str) -> list[Finding]:
    out = []
    a = {p.relative_to(tracked).as_posix() for p in tracked.rglob("*") if p.is_file()} if tracked.is_dir() else set()
    b = {p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file()}
    for name in sorted(a | b):
        if name not in b:
            out.append(Finding("extra", f"{rel}/{name}", "present but not produced when regenerated from tracked inputs"))
        elif name not in a:
            out.append(Finding("missing", f"{rel}/{name}", "produced when regenerated but absent from the tracked outputs"))
        elif (tracked / name).read_bytes() != (fresh / name).read_bytes():
            out.append(Finding("differs", f"{rel}/{name}", "regenerated from tracked inputs it is not byte-identical"))
    return out


def _recorded_revision(output_dir: Path) -> str | None:
    """The git revision a stage recorded beside its outputs (``provenance.json`` in its first
    output directory), or None. Each stage records its own: DVC re-runs them independently."""
    try:
        return json.loads((output_dir / "provenance.json").read_text())["git_revision"]
    except (OSError, ValueError, KeyError):
        return None


def regenerate_and_compare(repo: Path, stages: tuple[str, ...] = tuple(REGENERATED)) -> list[Finding]:
    """Check 2: re-run each stage into a temp dir and compare its outputs byte for byte."""
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="emovec-verify-") as tmp:
        for stage in stages:
            try:
                argv = _stage_command(repo, stage)
            except KeyError:
                findings.append(Finding("error", "dvc.yaml", f"no stage {stage!r} to regenerate"))
                continue
            targets = []
            for flag in REGENERATED[stage]:
                fresh = Path(tmp) / stage / flag.lstrip("-")
                argv, old = _replace_flag(argv, flag, str(fresh))
                targets.append((repo / old, fresh, old))
            if argv and argv[0] == "python":
                argv[0] = sys.executable
            env = dict(os.environ)
            rev = _recorded_revision(targets[0][0])
            if rev:
                env["EMOVEC_GIT_REVISION"] = rev
            res = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True)
            if res.returncode != 0:
                tail = (res.stderr or res.stdout).strip().splitlines()[-5:]
                findings.append(Finding("error", stage, "regenerating failed: " + " | ".join(tail)))
                continue
            for tracked, fresh, rel in targets:
                findings.extend(_compare_dirs(tracked, fresh, rel))
    return findings


def claims_summary(repo: Path, claims_csv: str = "paper/claims/claims.csv") -> tuple[Counter, list[dict[str, str]]]:
    """(count per status, the rows whose status is 'differs') from the claims table."""
    path = repo / claims_csv
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return Counter(r["status"] for r in rows), [r for r in rows if r["status"] == "differs"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", default=".", help="repository root (default: .)")
    args = ap.parse_args(argv)
    repo = Path(args.repo).resolve()

    print("1/3 tracked outputs vs dvc.lock")
    lock_findings = check_lock(repo)
    # Second opinion: anything `dvc status` flags that the hash check above did not.
    status = dvc_status_stages(repo) if not lock_findings else None
    for stage in sorted(status or {}):
        lock_findings.append(Finding("stale", stage, f"dvc status: {json.dumps(status[stage])[:200]}"))
    for f in lock_findings:
        print("  FAIL " + str(f))
    if not lock_findings:
        print("  ok: every output and dependency matches dvc.lock")

    print("2/3 tables and figures regenerated from tracked outputs")
    regen = regenerate_and_compare(repo) if (repo / "dvc.lock").is_file() else [
        Finding("error", "dvc.lock", "nothing to regenerate before `make replicate`")]
    for f in regen:
        print("  FAIL " + str(f))
    if not regen:
        print("  ok: byte-identical (" + ", ".join(f"{s}" for s in REGENERATED) + " stages)")

    print("3/3 claims (paper/claims.yaml -> paper/claims/claims.csv, paper/claims/claims.tex)")
    try:
        counts, differs = claims_summary(repo)
        total = sum(counts.values())
        print(f"  {total} claims: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        for r in differs:
            print(f"  differs: {r['id']}: reported {r['reported']}, replicated {r['replicated']}")
    except OSError as e:
        print(f"  FAIL claims table unreadable: {e}")
        regen.append(Finding("missing", "paper/claims/claims.csv", str(e)))

    failed = bool(lock_findings or regen)
    print("verify: FAILED" if failed else "verify: passed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
