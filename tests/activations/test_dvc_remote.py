"""Activation caches travel through a DVC remote instead of being recomputed: push a cache to a
local-path remote, delete it (workspace and local DVC cache), pull it back, same bytes."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emovec.activations.cache import read_cache

pytestmark = pytest.mark.skipif(shutil.which("dvc") is None, reason="dvc not on PATH (make install provides it)")

# A stand-in extract stage: writes a pooled activation cache with the package's own writer.
STAGE = '''
import sys
import numpy as np
from emovec.activations.cache import write_cache
rng = np.random.default_rng(0)
pooled = {"last_token": rng.normal(size=(12, 3, 8)).astype(np.float32),
          "mean_from_offset": rng.normal(size=(12, 3, 8)).astype(np.float32)}
write_cache(sys.argv[1], pooled, {"ids": [f"s{i}" for i in range(12)], "cache_dtype": "float16"}, "float16")
'''


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _dvc(repo: Path, *args: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    res = subprocess.run(["dvc", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert res.returncode == 0, f"dvc {' '.join(args)}: {res.stdout[-1500:]}{res.stderr[-1500:]}"
    return res.stdout


def test_cache_pushed_deleted_pulled_is_byte_identical(tmp_path: Path) -> None:
    repo, remote = tmp_path / "repo", tmp_path / "remote"
    repo.mkdir()
    (repo / "stage.py").write_text(STAGE)
    (repo / "dvc.yaml").write_text("stages:\n  extract:\n    cmd: python stage.py build/activations/cell\n"
                                   "    deps: [stage.py]\n    outs: [build/activations/cell]\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    _dvc(repo, "init", "-q")
    _dvc(repo, "remote", "add", "-d", "local", str(remote))
    _dvc(repo, "repro", "-q")
    cache = repo / "build" / "activations" / "cell"
    before = _digests(cache)
    assert sorted(before) == ["meta.json", "pooled.safetensors"]
    pooled, _ = read_cache(cache)
    assert pooled["last_token"].shape == (12, 3, 8)

    _dvc(repo, "push")
    assert any(p.is_file() for p in remote.rglob("*")), "nothing reached the remote"
    shutil.rmtree(cache)
    shutil.rmtree(repo / ".dvc" / "cache")
    _dvc(repo, "pull")
    assert _digests(cache) == before
    assert "up to date" in _dvc(repo, "status")
