"""emovec.stopping with emovec.errors.stage_entry: a real SIGINT or SIGTERM sent to a real stage
process mid-generation stops it within seconds, leaves no output, keeps the finished batches, and
the next run resumes from them to byte-identical outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emovec.compose.cells import compose_cell
from emovec.compose.selection import slices
from emovec.config.schema import to_yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def generation_config(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """The stimuli slice of a generation cell on the tiny model: 110 distinct prompts in batches of 2."""
    cell = compose_cell("toy-instruct", "toy-generation", "separation",
                        [f"model.local_dir={tiny_model_dir}", "model.n_layers=3", "model.d_model=32",
                         "corpus.decoding.batch_size=2", "corpus.decoding.max_new_tokens=32"])
    path = tmp_path / "stimuli.yaml"
    path.write_text(to_yaml(slices(cell)["stimuli"]), encoding="utf-8")
    return path


def _stage(config: Path, root: Path) -> list[str]:
    return [sys.executable, "-m", "emovec.stages.stimuli", "--config", str(config), "--out", str(root / "out.jsonl"),
            "--summary", str(root / "summary.json"), "--partial-root", str(root / "partial")]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "EMOVEC_PROGRESS": "0", "OMP_NUM_THREADS": "1"}


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) if path.is_file() else 0


def _stop_after(config: Path, root: Path, batches: int, sig: signal.Signals) -> tuple[int, str, int]:
    """Run the stage, send ``sig`` once ``batches`` more batches are in the resume file; return
    (exit code, stderr, seconds from the signal to the exit)."""
    partial = root / "partial" / "out.jsonl"
    before = _lines(partial)
    proc = subprocess.Popen(_stage(config, root), stderr=subprocess.PIPE, text=True, env=_env())
    deadline = time.monotonic() + 120
    while _lines(partial) < before + batches:
        assert proc.poll() is None, f"the stage ended before it could be stopped: {proc.stderr.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    t0 = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err, time.monotonic() - t0


def test_a_stage_stopped_mid_generation_resumes_to_identical_bytes(tmp_path: Path, generation_config: Path):
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    subprocess.run(_stage(generation_config, whole), check=True, env=_env(), capture_output=True)
    assert not (whole / "partial" / "out.jsonl").exists()  # removed once the output is written

    code, err, seconds = _stop_after(generation_config, stopped, 2, signal.SIGINT)
    assert (code, seconds < 5) == (130, True)
    assert "stopped (SIGINT)" in err and not (stopped / "out.jsonl").exists()
    kept = _lines(stopped / "partial" / "out.jsonl")
    assert kept >= 2

    code, err, seconds = _stop_after(generation_config, stopped, 2, signal.SIGTERM)
    assert (code, seconds < 5) == (143, True)
    assert "stopped (SIGTERM)" in err and not (stopped / "out.jsonl").exists()
    assert _lines(stopped / "partial" / "out.jsonl") >= kept + 2  # resumed: only new batches were added

    subprocess.run(_stage(generation_config, stopped), check=True, env=_env(), capture_output=True)
    assert (stopped / "out.jsonl").read_bytes() == (whole / "out.jsonl").read_bytes()
    assert (stopped / "summary.json").read_bytes() == (whole / "summary.json").read_bytes()
    assert not (stopped / "partial" / "out.jsonl").exists()
