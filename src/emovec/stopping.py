"""Stopping a run cleanly: what a stage does on SIGINT/SIGTERM, and how a run's signals reach it.

A stage (:func:`emovec.errors.stage_entry`) turns SIGTERM into :class:`StageStopped` and SIGINT
into KeyboardInterrupt, both BaseExceptions, so every ``finally`` runs and every atomic write
(:mod:`emovec.io`) is either complete or absent. DVC ignores SIGINT while a stage runs (it leaves
the stage to decide), so ``make replicate`` runs ``dvc repro`` under :mod:`emovec.stage_times`,
which forwards a SIGINT or SIGTERM it receives to DVC's whole process group.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from types import FrameType

__all__ = ["EXIT_STOPPED", "StageStopped", "raise_stage_stopped", "stop_with_parent"]

EXIT_STOPPED = {signal.SIGINT: 130, signal.SIGTERM: 143}  # the shell's 128 + signal number
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class StageStopped(BaseException):
    """A stage was asked to stop (SIGTERM, or its parent's death); like KeyboardInterrupt, a
    BaseException, so no ``except Exception`` swallows it and every ``finally`` runs."""


def raise_stage_stopped(signum: int, frame: FrameType | None) -> None:
    raise StageStopped(signal.Signals(signum).name)


def stop_with_parent() -> None:
    """Linux: ask the kernel for SIGTERM when the process that started this one dies, so a
    stage never runs on after ``dvc repro`` was killed (elsewhere: a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        raise StageStopped("parent exited")
