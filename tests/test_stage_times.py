"""emovec.stage_times: every byte of DVC's output passes through unchanged, and each stage's time
runs from its "Running stage" line to the lock-file update that follows it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from emovec.stage_times import StageTime, stage_times, times_table

REPO = Path(__file__).resolve().parents[1]


def test_a_stage_runs_from_its_running_line_to_the_lock_update():
    lines = [(0.0, "'data.dvc' didn't change, skipping"), (1.0, "Running stage 'compose':"),
             (3.5, "> python -m emovec.stages.compose"), (4.0, "Updating lock file 'dvc.lock'"),
             (4.2, "Stage 'toy_corpus' didn't change, skipping"), (5.0, "Running stage 'extract@a':"),
             (9.0, "Updating lock file 'dvc.lock'"), (9.5, "Running stage 'steer@b':"), (20.0, "ERROR: failed")]
    times, skipped = stage_times(lines)
    assert times == [StageTime("compose", 3.0, True), StageTime("extract@a", 4.0, True),
                     StageTime("steer@b", 10.5, False)]
    assert skipped == 2
    table = times_table(times, skipped).splitlines()
    assert table[1].startswith("steer@b (not finished)") and table[1].endswith("10.5  60.0%")
    assert table[-1].startswith("3 stages run, 2 unchanged") and table[-1].endswith("17.5")


def test_a_stage_followed_by_another_finished_even_without_a_lock_update():
    """DVC stops at the first failure, and does not print every lock update (seen for `cka`)."""
    times, _ = stage_times([(0.0, "Running stage 'a':"), (2.0, "Running stage 'b':"), (3.0, "Updating lock file")])
    assert times == [StageTime("a", 2.0, True), StageTime("b", 1.0, True)]


def test_the_pipe_passes_every_byte_and_writes_the_csv(tmp_path: Path):
    out = (b"Running stage 'compose':\n> cmd\nbar 10%\rbar 100%\r\nUpdating lock file 'dvc.lock'\n"
           b"Running stage 'x':\nno newline at the end")
    csv_path = tmp_path / "times.csv"
    res = subprocess.run([sys.executable, "-m", "emovec.stage_times", "--out", str(csv_path)], input=out,
                         capture_output=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert res.stdout.startswith(out)
    assert b"Wall time per stage of this run" in res.stdout[len(out):]
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert [(r["stage"], r["finished"]) for r in rows] == [("compose", "True"), ("x", "False")]
    assert all(float(r["seconds"]) >= 0 for r in rows)


def test_a_run_in_which_nothing_ran_keeps_the_last_table(tmp_path: Path):
    csv_path = tmp_path / "times.csv"
    csv_path.write_text("the last run's table\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "emovec.stage_times", "--out", str(csv_path)],
                         input=b"Stage 'a' didn't change, skipping\n", capture_output=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert b"No stage ran (1 unchanged)" in res.stdout
    assert csv_path.read_text(encoding="utf-8") == "the last run's table\n"
