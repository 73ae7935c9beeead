"""One exception type for every bad input, so a stage (or any command line) can print one clear
line and exit: :func:`stage_entry` does that for every ``main``."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable


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
    """Run a stage; a bad input becomes one clear line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(argv: list[str] | None = None) -> int:
        # Offline unless the user says otherwise (HF_HUB_OFFLINE=0 allows hub downloads).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            fn(argv)
        except EmovecInputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0

    return wrapper
