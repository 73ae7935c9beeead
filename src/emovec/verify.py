"""``make verify``: what a reviewer runs after ``make replicate`` to check every reported number.

Three checks, in order:

1. **Tracked outputs match dvc.lock.** DVC itself is asked, through its Python API: its data
   status (granular: down to the file inside a directory output) names every output that
   differs from dvc.lock (tampered, or hand-edited), is missing, or holds a file DVC did not
   write; its pipeline status names every dependency that changed since the run (code or config
   edited without ``dvc repro``: the outputs are stale). Only the stages of the current dvc.yaml
   count: a dvc.lock entry of a stage the selection no longer has is not checked.
2. **Statistics and tables regenerate byte-identically.** The analyses, paper and claims stages are re-run (their
   commands read from dvc.yaml) into a temporary directory from the tracked inputs, each under
   the git revision that stage recorded (provenance.json beside its outputs), and every file is
   compared byte for byte. The paper and claims commands read the tracked ``build/analyses``
   (``--analyses-dir``), whose regenerated copy is compared like every other output.
3. **Claims.** The claims table (``paper/claims/claims.csv``, from ``paper/claims.yaml``) is
   summarised: how many reported numbers replicate, differ, or were not run and why.

Exit status 1 when check 1 or 2 fails (every failure listed, by file); the claims' statuses
inform and never fail the run (a "differs" is a finding, not an error).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["Finding", "check_lock", "main", "regenerate_and_compare"]

# Stages whose outputs ``make verify`` regenerates, and the flags naming their output dirs.
REGENERATED = {"analyses": ("--out",), "paper": ("--tables-dir", "--figures-dir"), "claims": ("--out",),
               "findings": ("--out",)}
# Regenerated when dvc.yaml has them (pipelines from before the analyses stage do not).
OPTIONAL_REGENERATED = frozenset({"analyses", "findings"})


@dataclass(frozen=True)
class Finding:
    """One failed check: ``kind`` is tampered | missing | extra | stale | differs | error."""

    kind: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind:9s} {self.path}: {self.detail}"


def _stage_of_output(stages: dict[str, list[str]], path: str) -> str:
    for stage, outs in stages.items():
        if any(path == o or path.startswith(o.rstrip("/") + "/") for o in outs):
            return stage
    return "?"


def _already_named(path: str, reported: set[str]) -> bool:
    root = path.rstrip("/")
    return root in reported or any(r.startswith(root + "/") for r in reported)


def check_lock(repo: Path) -> list[Finding]:
    """Check 1: every output and dependency of the current pipeline against dvc.lock (asked of DVC)."""
    if not (repo / "dvc.lock").is_file():
        return [Finding("missing", "dvc.lock", "no pipeline run recorded; run `make replicate` first")]
    try:
        from dvc.repo import Repo
    except ImportError:
        return [Finding("error", "dvc", "DVC is not installed in this environment (make install provides it)")]
    with Repo(str(repo)) as dvc_repo:
        outs_by_stage = {getattr(s, "name", None) or s.relpath: [str(o.def_path) for o in s.outs]
                         for s in dvc_repo.index.stages}
        data = dvc_repo.data_status(granular=True)
        pipeline = dvc_repo.status()
    findings: list[Finding] = []
    uncommitted = data.get("uncommitted", {})
    kinds = (("modified", "tampered", "differs from dvc.lock (stage {s}); changed after DVC recorded it"),
             ("deleted", "missing", "recorded in dvc.lock (output of stage {s}) but absent"),
             ("added", "extra", "not in dvc.lock's record of stage {s}'s output"))
    reported: set[str] = set()
    listed = {p.rstrip("/") for key, _, _ in kinds for p in uncommitted.get(key, [])}
    for key, kind, detail in kinds:
        for path in sorted(uncommitted.get(key, [])):
            path = path.rstrip("/")
            if any(other.startswith(path + "/") for other in listed):
                continue  # a directory output: its files are named one by one
            findings.append(Finding(kind, path, detail.format(s=_stage_of_output(outs_by_stage, path))))
            reported.add(path)
    for address, changes in sorted(pipeline.items()):
        stage = address.rsplit("dvc.yaml:", 1)[-1]  # "<path>/dvc.yaml:<name>" when run from elsewhere
        for change in changes:
            if isinstance(change, dict) and "changed deps" in change:
                for path, state in sorted(change["changed deps"].items()):
                    if _already_named(path, reported):
                        continue  # an output of another stage, already named file by file above
                    reported.add(path.rstrip("/"))
                    findings.append(Finding("stale", path, f"dependency of stage {stage} is {state} since the run; "
                                                           "its outputs are stale (run dvc repro)"))
            elif isinstance(change, dict) and "changed outs" in change:
                for path, state in sorted(change["changed outs"].items()):
                    if not _already_named(path, reported):
                        reported.add(path.rstrip("/"))
                        findings.append(Finding("missing" if state in ("deleted", "not in cache") else "tampered",
                                                path, f"output of stage {stage}: {state}"))
            elif isinstance(change, str):
                findings.append(Finding("stale", stage, f"dvc status: {change}"))
    return findings


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
                if stage in OPTIONAL_REGENERATED:
                    continue
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
