"""The real default run end to end on one CUDA GPU, timed per stage, then ``make bench`` there.

``python -m emovec.gpu_run [--work DIR] [--bench-args ...]`` (``make gpu-run``) clones the
committed pipeline into ``DIR`` (a temporary directory by default), copies ``data/`` and the
converted weights it finds, adds ``model.device=cuda`` to the selection's overrides, runs
``dvc repro`` there while timing every stage from its "Running stage" line to the next, and then
runs :mod:`emovec.bench` with ``--device cuda`` in the clone. It prints the wall time per stage
and in total, and the benchmark's ratios. Nothing is written to this checkout: GPU kernels do
not give CPU-identical floats, so the clone's outputs are never committed.

It needs a machine with a CUDA GPU and the package's environment (torch, the packaged model
weights); tests never need one (``stage_durations`` is tested on a recorded log).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_RUNNING = re.compile(r"^Running stage '([^']+)'")

__all__ = ["main", "stage_durations"]


def stage_durations(lines: Iterable[tuple[float, str]], end: float) -> list[tuple[str, float]]:
    """[(stage, seconds)] from ``(time, line)`` pairs of ``dvc repro`` output: each stage runs from
    its "Running stage" line to the next one (the last until ``end``); skipped stages take no time."""
    starts = [(t, m.group(1)) for t, line in lines if (m := _RUNNING.match(line))]
    return [(name, (starts[i + 1][0] if i + 1 < len(starts) else end) - t) for i, (t, name) in enumerate(starts)]


def _run_timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[list[tuple[float, str]], float, int]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append((time.perf_counter() - t0, line.rstrip("\n")))
        print(line, end="", flush=True)
    rc = proc.wait()
    return lines, time.perf_counter() - t0, rc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", help="directory for the clone (default: a temporary one, removed after)")
    ap.add_argument("--bench-args", nargs=argparse.REMAINDER, default=["--skip-dvc"],
                    help="arguments for python -m emovec.bench (default: --skip-dvc)")
    args = ap.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("gpu_run: no CUDA device here; this script is for a GPU machine (make replicate runs on CPU)")
        return 2
    print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    tmp = None if args.work else tempfile.TemporaryDirectory(prefix="emovec-gpu-")
    work = Path(args.work or tmp.name)  # type: ignore[union-attr]
    clone = work / "clone"
    try:
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        for rel in ("data", "build/weights"):
            if (REPO / rel).is_dir():
                shutil.copytree(REPO / rel, clone / rel, symlinks=True)
        sel = clone / "conf" / "selection.yaml"
        text = sel.read_text()
        new = re.sub(r"^overrides: \[", 'overrides: ["model.device=cuda", ', text, count=1, flags=re.MULTILINE)
        if new == text:
            raise SystemExit(f"{sel}: no 'overrides: [' line to add model.device=cuda to")
        sel.write_text(new)
        env = {**os.environ, "PYTHONPATH": str(clone / "src"), "EMOVEC_PROGRESS": "0",
               "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        lines, total, rc = _run_timed(["dvc", "repro"], clone, env)
        print("\nwall time per stage (s):")
        for name, seconds in stage_durations(lines, total):
            print(f"  {name:55s} {seconds:8.1f}")
        print(f"  {'total dvc repro':55s} {total:8.1f}")
        if rc != 0:
            print(f"gpu_run: dvc repro failed (exit {rc})")
            return rc
        _, bench_s, rc = _run_timed([sys.executable, "-m", "emovec.bench", "--device", "cuda", *args.bench_args],
                                    clone, env)
        print(f"bench: {bench_s:.1f} s (exit {rc})")
        return rc
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
