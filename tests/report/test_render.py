"""Parallel figure rendering (emovec.report.render): same bytes, same order, errors raised."""

from __future__ import annotations

import io
import os
from functools import partial

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from emovec.errors import EmovecInputError
from emovec.report.render import render_figures


def _line_png(slope: float) -> bytes:
    fig = Figure(figsize=(2, 2))
    FigureCanvasAgg(fig)
    fig.add_subplot().plot([0, 1, 2], [0, slope, 2 * slope])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _pid_bytes() -> bytes:
    return str(os.getpid()).encode()


def _fails(name: str) -> bytes:
    raise EmovecInputError(f"figure {name}: no data")


JOBS = {f"line_{k}.png": partial(_line_png, float(k)) for k in (3, 1, 2, 5)}


def test_parallel_bytes_and_order_equal_serial():
    serial = render_figures(JOBS, processes=1)
    parallel = render_figures(JOBS, processes=2)
    assert list(parallel) == list(JOBS) == list(serial)
    assert parallel == serial
    assert len(set(serial.values())) == len(JOBS)  # four different figures, not one repeated


def test_workers_are_other_processes_and_serial_is_this_one():
    jobs = {f"{k}": _pid_bytes for k in range(4)}
    assert set(render_figures(jobs, processes=1).values()) == {str(os.getpid()).encode()}
    assert str(os.getpid()).encode() not in set(render_figures(jobs, processes=2).values())


def test_a_failing_job_raises_its_error_and_returns_nothing():
    jobs = dict(JOBS) | {"bad.png": partial(_fails, "bad.png")}
    with pytest.raises(EmovecInputError, match="figure bad.png: no data"):
        render_figures(jobs, processes=2)


def test_no_jobs_and_bad_process_counts():
    assert render_figures({}, processes=2) == {}
    with pytest.raises(ValueError, match="processes must be >= 1; got 0"):
        render_figures(JOBS, processes=0)
