"""Per-stage wall times of one ``dvc repro`` run, read from its own output.

``make replicate`` pipes ``dvc repro`` through this module: every byte is passed on unchanged and
at once (progress bars included), and each stage's time is taken from the lines DVC prints, from
"Running stage 'X':" to the "Updating lock file" that follows it, or to the next stage (DVC does
not always print the lock update), or to the end of the output for a last stage that failed or
was stopped. At the end it prints a table of this run's
stages, slowest first, and writes it to ``--out`` as CSV (atomically; a run in which no stage ran
leaves the last table). Skipped stages ("didn't change") are counted, not timed. A SIGINT reaching the whole process group is ignored here, so
the table of what ran is still printed when the user stops the run.

Usage: ``dvc repro 2>&1 | python -m emovec.stage_times --out build/stage_times.csv``
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from emovec.artefacts.declarations import csv_text
from emovec.io import write_text_atomic

__all__ = ["StageTime", "main", "stage_times", "times_table"]

_RUNNING = re.compile(r"Running stage '([^']+)':")
_LOCKED = re.compile(r"Updating lock file")
_SKIPPED = re.compile(r"didn't change, skipping")
COLUMNS = ("stage", "seconds", "share", "finished")


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="CSV of this run's stage times (written atomically)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # dvc gets the Ctrl-C; this process reports what ran
    start = time.monotonic()
    fd_in, fd_out = sys.stdin.fileno(), sys.stdout.fileno()

    def write(chunk: bytes) -> None:
        os.write(fd_out, chunk)

    times, skipped = stage_times(_timed_lines(lambda: os.read(fd_in, 65536), write,
                                              lambda: time.monotonic() - start))
    if not times:  # nothing ran (all unchanged, or no repro at all): keep the last run's table
        print(f"\nNo stage ran ({skipped} unchanged); {args.out} is left as it was.", flush=True)
        return 0
    total = sum(s.seconds for s in times)
    rows = [{"stage": s.stage, "seconds": round(s.seconds, 1),
             "share": round(s.seconds / total, 4) if total > 0 else 0.0, "finished": s.finished} for s in times]
    write_text_atomic(args.out, csv_text(rows, COLUMNS, where=args.out))
    print(f"\nWall time per stage of this run ({args.out}):\n{times_table(times, skipped)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
