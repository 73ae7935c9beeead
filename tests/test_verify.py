"""make verify: the dvc.lock check names a tampered output, regeneration compares bytes, and the
exit status reflects both (on a small DVC repository built here, with real `dvc repro`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emovec.verify import Finding, check_lock, main, regenerate_and_compare

pytestmark = pytest.mark.skipif(shutil.which("dvc") is None, reason="dvc not on PATH (make install provides it)")

# A stand-in for the paper and claims stages: deterministic outputs from one input file.
GEN = '''
import argparse, pathlib, sys
ap = argparse.ArgumentParser()
ap.add_argument("--tables-dir"); ap.add_argument("--figures-dir"); ap.add_argument("--out")
a = ap.parse_args()
n = pathlib.Path("inputs/n.txt").read_text().strip()
if a.out:
    d = pathlib.Path(a.out); d.mkdir(parents=True, exist_ok=True)
    (d / "claims.csv").write_text("id,status,reported,replicated\\nc1,replicated,1,1\\nc2,differs,2,3\\n")
else:
    t = pathlib.Path(a.tables_dir); t.mkdir(parents=True, exist_ok=True)
    f = pathlib.Path(a.figures_dir); f.mkdir(parents=True, exist_ok=True)
    (t / "a.tex").write_text(f"value {n}\\n"); (t / "b.tex").write_text("fixed\\n")
    (f / "fig.png").write_bytes(bytes([137, 80, 78, 71]) + n.encode())
'''

DVC_YAML = """stages:
  paper:
    cmd: python gen.py --tables-dir paper/tables --figures-dir paper/figures
    deps: [gen.py, inputs/n.txt]
    outs: [paper/tables, paper/figures]
  claims:
    cmd: python gen.py --out paper/claims
    deps: [gen.py, inputs/n.txt]
    outs: [paper/claims]
"""


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    (r / "inputs").mkdir(parents=True)
    (r / "inputs" / "n.txt").write_text("41\n")
    (r / "gen.py").write_text(GEN)
    (r / "dvc.yaml").write_text(DVC_YAML)
    _run(["git", "init", "-q"], r)
    _run(["dvc", "init", "-q"], r)
    _run(["dvc", "config", "core.analytics", "false"], r)
    # dvc's python is this interpreter's sibling; make "python" in the stage commands resolve.
    env_path = str(Path(sys.executable).parent)
    subprocess.run(["dvc", "repro", "-q"], cwd=r, check=True, capture_output=True, text=True,
                   env={**__import__("os").environ, "PATH": env_path + ":" + __import__("os").environ["PATH"]})
    return r


def test_lock_entries_of_stages_no_longer_in_dvc_yaml_are_not_checked(repo: Path) -> None:
    """After a selection change dvc.lock may still hold a removed stage's record: not a failure."""
    import yaml

    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    lock["stages"]["removed@cell"] = {"cmd": "python gone.py", "outs": [
        {"path": "build/gone", "md5": "0" * 32 + ".dir", "size": 1, "nfiles": 1, "hash": "md5"}]}
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    assert check_lock(repo) == []


def test_an_edited_stage_command_is_stale(repo: Path) -> None:
    (repo / "dvc.yaml").write_text(DVC_YAML.replace("python gen.py --out paper/claims",
                                                    "python gen.py --out  paper/claims"))
    assert [(f.kind, f.path) for f in check_lock(repo)] == [("stale", "claims")]


def test_untouched_repo_passes_every_check(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_lock(repo) == []
    assert regenerate_and_compare(repo) == []
    assert main(["--repo", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "verify: passed" in out
    assert "2 claims: 1 differs, 1 replicated" in out
    assert "differs: c2: reported 2, replicated 3" in out


def test_one_changed_number_in_a_tracked_output_fails_and_is_named(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = repo / "paper" / "tables" / "a.tex"
    table.write_text(table.read_text().replace("41", "42"))
    findings = check_lock(repo)
    assert findings == [Finding("tampered", "paper/tables/a.tex", findings[0].detail)]
    assert "stage paper" in findings[0].detail
    # Regenerated from the tracked inputs, the table no longer matches the tampered copy.
    assert [(f.kind, f.path) for f in regenerate_and_compare(repo)] == [("differs", "paper/tables/a.tex")]
    assert main(["--repo", str(repo)]) == 1
    out = capsys.readouterr().out
    assert "FAIL tampered  paper/tables/a.tex" in out
    assert "verify: FAILED" in out


def test_deleted_extra_and_stale_files_are_named(repo: Path) -> None:
    (repo / "paper" / "figures" / "fig.png").unlink()
    (repo / "paper" / "tables" / "new.tex").write_text("hand-made\n")
    (repo / "inputs" / "n.txt").write_text("7\n")  # a dependency changed without dvc repro
    got = {(f.kind, f.path) for f in check_lock(repo)}
    assert got == {("missing", "paper/figures/fig.png"), ("extra", "paper/tables/new.tex"),
                   ("stale", "inputs/n.txt")}


def test_missing_dvc_lock_is_a_clear_failure(tmp_path: Path) -> None:
    assert check_lock(tmp_path) == [Finding("missing", "dvc.lock", check_lock(tmp_path)[0].detail)]
    assert "make replicate" in check_lock(tmp_path)[0].detail


def test_regeneration_uses_the_recorded_git_revision(repo: Path) -> None:
    # The tables record the revision they were made at; regenerating passes it on so a later
    # commit alone does not break byte-identity.
    (repo / "paper" / "tables").chmod(0o755)
    gen = (repo / "gen.py").read_text().replace(
        '(t / "b.tex").write_text("fixed\\n")',
        '(t / "b.tex").write_text(__import__("os").environ.get("EMOVEC_GIT_REVISION", "none") + "\\n")')
    (repo / "gen.py").write_text(gen)
    (repo / "paper" / "tables" / "provenance.json").write_text(json.dumps({"git_revision": "abc123"}))
    (repo / "paper" / "tables" / "b.tex").write_text("abc123\n")
    findings = regenerate_and_compare(repo, ("paper",))
    # b.tex regenerates identically under the recorded revision; provenance.json is not produced
    # by this stand-in stage, so it is reported as extra.
    assert [(f.kind, f.path) for f in findings] == [("extra", "paper/tables/provenance.json")]


def test_each_stage_is_regenerated_under_its_own_recorded_revision(repo: Path) -> None:
    # DVC re-runs paper and claims independently, so each records the revision it ran at.
    gen = (repo / "gen.py").read_text().replace(
        '(d / "claims.csv").write_text(',
        '(d / "rev.txt").write_text(__import__("os").environ.get("EMOVEC_GIT_REVISION", "none")); '
        '(d / "claims.csv").write_text(')
    (repo / "gen.py").write_text(gen)
    claims = repo / "paper" / "claims"
    (claims / "provenance.json").write_text(json.dumps({"git_revision": "claims-rev"}))
    (claims / "rev.txt").write_text("claims-rev")
    (repo / "paper" / "tables" / "provenance.json").write_text(json.dumps({"git_revision": "paper-rev"}))
    findings = {(f.kind, f.path) for f in regenerate_and_compare(repo)}
    # rev.txt regenerates identically under claims-rev (not paper-rev); the provenance files
    # themselves are not produced by this stand-in, hence "extra".
    assert findings == {("extra", "paper/claims/provenance.json"), ("extra", "paper/tables/provenance.json")}
