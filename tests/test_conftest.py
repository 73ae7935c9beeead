"""The shared fixtures cost nothing to tests that do not use them: numpy-only tests never import
torch, and a test that does gets one thread."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_conftest_does_not_import_torch():
    code = ("import sys; sys.path.insert(0, %r); import conftest; "
            "print('torch' in sys.modules)" % str(TESTS))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_numpy_only_test_module_runs_without_torch(tmp_path):
    """tests/stats/test_multiple.py (statistics on arrays) under pytest, with torch made unimportable."""
    blocker = tmp_path / "torch.py"
    blocker.write_text("raise ImportError('torch is not needed by this test module')\n")
    module = TESTS / "stats" / "test_multiple.py"
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
                         capture_output=True, text=True, env={**__import__("os").environ,
                                                              "PYTHONPATH": f"{tmp_path}:{TESTS.parent / 'src'}"})
    assert res.returncode == 0, res.stdout[-2000:]
    assert " passed" in res.stdout


def test_torch_runs_on_one_thread_in_tests():
    import torch

    assert torch.get_num_threads() == 1
