"""emovec.gpu_run: stage wall times from a recorded `dvc repro` log (no GPU needed)."""

from __future__ import annotations

from emovec.gpu_run import stage_durations


def test_each_stage_runs_from_its_line_to_the_next_and_skipped_ones_take_no_time():
    log = [(0.0, "Stage 'compose' didn't change, skipping"), (1.5, "Running stage 'extract@m-c':"),
           (2.0, "> python -m emovec.stages.extract ..."), (11.5, "Running stage 'separation@m-c':"),
           (14.0, "Updating lock file 'dvc.lock'"), (20.0, "Running stage 'paper':")]
    assert stage_durations(log, end=26.25) == [("extract@m-c", 10.0), ("separation@m-c", 8.5), ("paper", 6.25)]
    assert stage_durations([(0.0, "Data and pipelines are up to date.")], end=1.0) == []
