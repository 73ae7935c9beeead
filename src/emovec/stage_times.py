"""Run ``dvc repro`` so that it stops cleanly, and time each of its stages from its own output.

``make replicate`` runs ``dvc repro`` under this module: every byte DVC prints is passed on
unchanged and at once (progress bars included), and each stage's time is taken from those lines,
from "Running stage 'X':" to the "Updating lock file" that follows it, or to the next stage (DVC
does not always print the lock update), or to the end of the output for a last stage that failed
or was stopped (a run that exits 0 finished every stage). At the end it prints a table of this run's
stages, slowest first, and writes it to ``--out`` as CSV (atomically; a run in which no stage ran
leaves the last table). Skipped stages ("didn't change") are counted, not timed.

Stopping: DVC runs in a process group of its own. A SIGINT (Ctrl-C) or SIGTERM this process
receives is forwarded as SIGINT to that whole group, so the running stage stops at once (it keeps
its finished batches, :mod:`emovec.stopping`) while DVC stays alive to record the failure; a
stage still running ``GRACE_S`` seconds later gets SIGTERM, and then SIGKILL. A SIGTERM also
reaches this process when ``make`` is killed, or when the process that started it dies (Linux).
The exit status is DVC's; the table of what ran is printed either way.

Usage: ``python -m emovec.stage_times --out build/stage_times.csv -- dvc repro [ARGS]``
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType

from emovec.artefacts.declarations import csv_text
from emovec.io import write_text_atomic
from emovec.stopping import stop_with_parent

__all__ = ["StageTime", "main", "stage_times", "times_table"]

_RUNNING = re.compile(r"Running stage '([^']+)':")
_LOCKED = re.compile(r"Updating lock file")
_SKIPPED = re.compile(r"didn't change, skipping")
COLUMNS = ("stage", "seconds", "share", "finished")
GRACE_S = 15.0  # seconds a stopped stage has to exit before the next, harder signal


@dataclass
class StageTime:
    """One stage of the run: its wall time in seconds, and whether DVC recorded it as finished
    (False: it failed, or the run was stopped while it ran)."""

    stage: str
    seconds: float
    finished: bool


def stage_times(lines: Iterable[tuple[float, str]]) -> tuple[list[StageTime], int]:
    """(stages in the order they ran, number of stages skipped as unchanged) from (time in
    seconds, line) pairs of DVC's output. DVC runs stages one after another and stops at the
    first failure, so a stage followed by another finished (DVC does not always print the lock
    update in between); only the last stage can be unfinished, when no lock update follows it."""
    out: list[StageTime] = []
    skipped = 0
    current: tuple[str, float] | None = None
    last_t = 0.0
    for t, line in lines:
        last_t = t
        if _SKIPPED.search(line):
            skipped += 1
        elif m := _RUNNING.search(line):
            if current is not None:
                out.append(StageTime(current[0], t - current[1], True))
            current = (m.group(1), t)
        elif _LOCKED.search(line) and current is not None:
            out.append(StageTime(current[0], t - current[1], True))
            current = None
    if current is not None:
        out.append(StageTime(current[0], last_t - current[1], False))
    return out, skipped


def times_table(times: list[StageTime], skipped: int) -> str:
    """The table printed at the end of the run: slowest first, each stage's share of the total."""
    total = sum(s.seconds for s in times)
    names = {id(s): s.stage + ("" if s.finished else " (not finished)") for s in times}
    summary = f"{len(times)} stages run, {skipped} unchanged"
    width = max([len("stage"), len(summary), *map(len, names.values())])
    rows = [f"{'stage':<{width}} {'seconds':>9} {'share':>6}"]
    for s in sorted(times, key=lambda s: -s.seconds):
        share = s.seconds / total if total > 0 else 0.0
        rows.append(f"{names[id(s)]:<{width}} {s.seconds:>9.1f} {share:>6.1%}")
    rows.append(f"{summary:<{width}} {total:>9.1f}")
    return "\n".join(rows) + "\n"


def _timed_lines(read: Callable[[], bytes], write: Callable[[bytes], None],
                 clock: Callable[[], float]) -> Iterable[tuple[float, str]]:
    """Pass every chunk of ``read`` to ``write`` at once; yield each complete line with the time
    it arrived (a carriage return also ends a line: progress bars redraw with it)."""
    pending = b""
    while chunk := read():
        write(chunk)
        pending += chunk
        *complete, pending = re.split(rb"[\r\n]", pending)
        now = clock()
        for line in complete:
            yield now, line.decode("utf-8", errors="replace")
    if pending:
        yield clock(), pending.decode("utf-8", errors="replace")


class _Forwarder:
    """Forwards a stop request to the child's process group: SIGINT first, then SIGTERM and
    SIGKILL to whatever is still running ``grace_s`` seconds after each."""

    def __init__(self, proc: subprocess.Popen, grace_s: float) -> None:
        self.proc, self.grace_s, self.steps = proc, grace_s, [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
        self.lock = threading.Lock()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self._next()

    def _next(self) -> None:
        with self.lock:
            if not self.steps or self.proc.poll() is not None:
                return
            sig = self.steps.pop(0)
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return
        timer = threading.Timer(self.grace_s, self._next)
        timer.daemon = True
        timer.start()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="CSV of this run's stage times (written atomically)")
    ap.add_argument("--grace-s", type=float, default=GRACE_S, help="seconds before a harder stop signal")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- dvc repro [ARGS]")
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("give the command to run after --, e.g. -- dvc repro")
    start = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    forward = _Forwarder(proc, args.grace_s)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    stop_with_parent()  # make killed: SIGTERM here, forwarded like any other
    assert proc.stdout is not None
    fd_in, fd_out = proc.stdout.fileno(), 1

    def write(chunk: bytes) -> None:
        os.write(fd_out, chunk)

    times, skipped = stage_times(_timed_lines(lambda: os.read(fd_in, 65536), write,
                                              lambda: time.monotonic() - start))
    code = proc.wait()
    if code == 0:  # a last stage without a printed lock update still finished
        times = [StageTime(t.stage, t.seconds, True) for t in times]
    _report(times, skipped, args.out)
    return 128 - code if code < 0 else code  # killed by signal N: the shell's 128 + N


def _report(times: list[StageTime], skipped: int, out: str) -> None:
    if not times:  # nothing ran (all unchanged, or no repro at all): keep the last run's table
        print(f"\nNo stage ran ({skipped} unchanged); {out} is left as it was.", flush=True)
        return
    total = sum(s.seconds for s in times)
    rows = [{"stage": s.stage, "seconds": round(s.seconds, 1),
             "share": round(s.seconds / total, 4) if total > 0 else 0.0, "finished": s.finished} for s in times]
    write_text_atomic(out, csv_text(rows, COLUMNS, where=out))
    print(f"\nWall time per stage of this run ({out}):\n{times_table(times, skipped)}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
