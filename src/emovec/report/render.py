"""Render a paper's figures in parallel worker processes.

Figures are independent, CPU-bound matplotlib work (0.1-0.5 s each), and a paper has many of
them, so the paper stage spends most of its time here. Workers are forked after the inputs are
loaded: each inherits them, and only the PNG bytes travel back. The bytes do not depend on the
number of workers, because every figure is drawn by the same function from the same inputs
(``tests/report/test_render.py`` checks it); where ``fork`` is unavailable, rendering is serial.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Mapping

__all__ = ["FigureJob", "available_cpus", "render_figures"]

# A figure's whole recipe, bound to its inputs: called with no arguments, returns PNG bytes.
FigureJob = Callable[[], bytes]

# The jobs of the render in progress; forked workers inherit this list, so only an index is sent.
_PENDING: list[FigureJob] = []


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _render_pending(index: int) -> bytes:
    return _PENDING[index]()


def render_figures(jobs: Mapping[str, FigureJob], processes: int | None = None) -> dict[str, bytes]:
    """Run every job: {file name: PNG bytes}, in the order of ``jobs``.

    Args:
        jobs: {file name: job}.
        processes: worker processes; ``None`` uses every available CPU, and 1 renders in this
            process. Never more workers than jobs.

    An exception raised by a job is raised here (after the pool is shut down), so a failed
    render returns nothing.
    """
    if processes is not None and processes < 1:
        raise ValueError(f"processes must be >= 1; got {processes}")
    n = min(processes or available_cpus(), len(jobs))
    if n <= 1 or "fork" not in mp.get_all_start_methods():
        return {name: job() for name, job in jobs.items()}
    global _PENDING
    _PENDING = list(jobs.values())
    try:
        with mp.get_context("fork").Pool(n) as pool:
            data = pool.map(_render_pending, range(len(_PENDING)), chunksize=1)
    finally:
        _PENDING = []
    return dict(zip(jobs, data))
