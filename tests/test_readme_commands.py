"""The README's commands for re-running after a config edit work as written.

`dvc repro` runs each stage's `python -m emovec...`: that must be the project's interpreter, not
whichever `python` a plain shell finds. The README gives two ways, both checked here with an
environment stripped of what `make test` exports (PATH to the venv, PYTHONPATH=src):
``source .venv/bin/activate`` and then ``dvc repro``, and ``make repro ARGS=...``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"

pytestmark = pytest.mark.skipif(not (VENV / "bin" / "dvc").exists(), reason="no .venv (make install creates it)")


def _plain_shell_env() -> dict[str, str]:
    """The environment of a new terminal: no PYTHONPATH, the venv not on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS",
                                                            "MAKELEVEL")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and Path(p).resolve() != (VENV / "bin").resolve())
    env["EMOVEC_PROGRESS"] = "0"
    return env


def test_readme_documents_both_ways():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "source .venv/bin/activate" in readme
    assert "make repro" in readme


def test_activated_shell_runs_dvc_repro_with_the_package(tmp_path):
    """`source .venv/bin/activate && dvc repro` in a DVC project whose stage runs a package module."""
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  cycles:\n    cmd: python -m emovec.code_deps --cycles > cycles.txt\n    outs: [cycles.txt]\n")
    env = _plain_shell_env()
    for cmd in (["git", "init", "-q"], ["bash", "-c", f"source {VENV}/bin/activate && dvc init -q"]):
        subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True)
    res = subprocess.run(["bash", "-c", f"source {VENV}/bin/activate && dvc repro && python -c "
                          "'import emovec; print(emovec.__file__)'"],
                         cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "cycles.txt").read_text() == ""  # ran, and found no import cycle
    assert Path(res.stdout.strip().splitlines()[-1]).resolve() == (REPO / "src" / "emovec" / "__init__.py").resolve()


def test_make_repro_forwards_args_and_finds_dvc():
    res = subprocess.run(["make", "-s", "repro", "ARGS=--help"], cwd=REPO, env=_plain_shell_env(),
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "usage: dvc repro" in res.stdout
