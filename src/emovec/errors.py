"""One exception type for every bad input, so a stage (or any command line) can print one clear
line and exit: :func:`stage_entry` does that for every ``main``, and stops a stage cleanly on
SIGINT or SIGTERM (see :func:`stage_entry`)."""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable

from emovec.stopping import EXIT_STOPPED, StageStopped, raise_stage_stopped, stop_with_parent


class EmovecInputError(ValueError):
    """A bad input (file, row, key, name or value) found before any expensive work.

    The message always names the offending file/row/key so the user can fix it directly.
    """


def is_out_of_memory(exc: BaseException) -> bool:
    """True for an allocation failure: CUDA's ``torch.cuda.OutOfMemoryError`` (a RuntimeError
    saying "out of memory"), or the CPU allocator's "can't allocate memory"."""
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in msg or "can't allocate memory" in msg)


def stage_entry(fn: Callable[[list[str] | None], None]) -> Callable[[list[str] | None], int]:
    """Run a stage; a bad input becomes one clear line on stderr and exit code 2.

    SIGINT (Ctrl-C, or forwarded by ``make replicate``) and SIGTERM (also sent when the parent
    dies) stop the stage at the next Python instruction: every output is written atomically, so
    nothing half-written is left; finished generation batches and extraction chunks stay in
    ``build/partial/`` and the next run resumes from them. Exit code 130 (SIGINT) or 143.
    """

    @functools.wraps(fn)
    def wrapper(argv: list[str] | None = None) -> int:
        # Offline unless the user says otherwise (HF_HUB_OFFLINE=0 allows hub downloads).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        previous = signal.signal(signal.SIGTERM, raise_stage_stopped)
        try:
            if argv is None:  # run as a command (dvc's stage), not called from Python
                stop_with_parent()
            fn(argv)
        except EmovecInputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except (KeyboardInterrupt, StageStopped) as exc:
            how = "SIGINT" if isinstance(exc, KeyboardInterrupt) else str(exc)
            print(f"stopped ({how}): no output was written; finished batches are kept under build/partial/ "
                  "and the next run resumes from them", file=sys.stderr)
            return EXIT_STOPPED[signal.SIGINT if isinstance(exc, KeyboardInterrupt) else signal.SIGTERM]
        finally:
            signal.signal(signal.SIGTERM, previous)
        return 0

    return wrapper
