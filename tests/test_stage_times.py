"""emovec.stage_times: every byte of DVC's output passes through unchanged, each stage's time runs
from its "Running stage" line to the lock-file update that follows it, and a SIGINT or SIGTERM
to the runner reaches the running command as SIGINT (then harder signals after the grace)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from emovec.stage_times import StageTime, stage_times, times_table

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}


def _runner(out: Path, child: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "emovec.stage_times", "--out", str(out), *extra, "--", sys.executable, "-c", child]


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


def test_every_byte_passes_through_the_exit_status_is_kept_and_the_csv_written(tmp_path: Path):
    out = (b"Running stage 'compose':\n> cmd\nbar 10%\rbar 100%\r\nUpdating lock file 'dvc.lock'\n"
           b"Running stage 'x':\nno newline at the end")
    child = f"import sys; sys.stdout.buffer.write({out!r}); sys.stdout.flush(); sys.exit(3)"
    csv_path = tmp_path / "times.csv"
    res = subprocess.run(_runner(csv_path, child), capture_output=True, env=ENV)
    assert res.returncode == 3
    assert res.stdout.startswith(out)
    assert b"Wall time per stage of this run" in res.stdout[len(out):]
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert [(r["stage"], r["finished"]) for r in rows] == [("compose", "True"), ("x", "False")]
    assert all(float(r["seconds"]) >= 0 for r in rows)


def test_a_run_in_which_nothing_ran_keeps_the_last_table(tmp_path: Path):
    csv_path = tmp_path / "times.csv"
    csv_path.write_text("the last run's table\n", encoding="utf-8")
    res = subprocess.run(_runner(csv_path, "print(\"Stage 'a' didn't change, skipping\")"), capture_output=True,
                         check=True, env=ENV)
    assert b"No stage ran (1 unchanged)" in res.stdout
    assert csv_path.read_text(encoding="utf-8") == "the last run's table\n"


# A child standing in for dvc + a stage: it reports each signal it gets, and stops on SIGINT
# unless told to ignore it (as DVC itself does while a stage runs).
CHILD = """
import os, signal, sys, time
ignore = {ignore}
def got(signum, frame):
    print("child got", signal.Signals(signum).name, flush=True)
    if not (ignore and signum == signal.SIGINT):
        sys.exit(128 + signum)
signal.signal(signal.SIGINT, got)
signal.signal(signal.SIGTERM, got)
print("Running stage 'slow':", flush=True)
while True:
    time.sleep(0.05)
"""


def _start(tmp_path: Path, ignore_sigint: bool) -> subprocess.Popen:
    proc = subprocess.Popen(_runner(tmp_path / "times.csv", CHILD.format(ignore=ignore_sigint), "--grace-s", "0.5"),
                            stdout=subprocess.PIPE, env=ENV)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"Running stage 'slow':\n"  # the child is running
    return proc


def test_sigint_or_sigterm_to_the_runner_reaches_the_running_command_as_sigint(tmp_path: Path):
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = _start(tmp_path, ignore_sigint=False)
        t0 = time.monotonic()
        proc.send_signal(sig)
        rest, _ = proc.communicate(timeout=10)
        assert time.monotonic() - t0 < 5
        assert rest.startswith(b"child got SIGINT\n")
        assert proc.returncode == 130
        rows = list(csv.DictReader((tmp_path / "times.csv").open(encoding="utf-8")))
        assert [(r["stage"], r["finished"]) for r in rows] == [("slow", "False")]


def test_a_command_that_ignores_sigint_gets_sigterm_after_the_grace(tmp_path: Path):
    proc = _start(tmp_path, ignore_sigint=True)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=10)
    assert rest.startswith(b"child got SIGINT\nchild got SIGTERM\n")
    assert proc.returncode == 143


def test_a_run_that_exits_0_finished_its_last_stage_without_a_lock_update(tmp_path: Path):
    child = "print(\"Running stage 'a':\"); print(\"Running stage 'b':\")"
    subprocess.run(_runner(tmp_path / "times.csv", child), capture_output=True, check=True, env=ENV)
    rows = list(csv.DictReader((tmp_path / "times.csv").open(encoding="utf-8")))
    assert [(r["stage"], r["finished"]) for r in rows] == [("a", "True"), ("b", "True")]
