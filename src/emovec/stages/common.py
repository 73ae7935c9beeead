"""What every stage shares: one-line errors for bad input, and the not-selected note."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

from emovec.errors import EmovecInputError


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


NOT_SELECTED = "NOT_SELECTED"


def write_not_selected(out_dir: str | os.PathLike[str], reason: str) -> None:
    """Write a directory output holding only a NOT_SELECTED note (atomically): the stage's
    output exists for DVC, and anyone who opens it reads why nothing was built."""
    from pathlib import Path

    from emovec.io import atomic_path

    with atomic_path(Path(out_dir)) as tmp:
        tmp.mkdir()
        (tmp / NOT_SELECTED).write_text(reason + "\n", encoding="utf-8")
    print(f"{out_dir}: not built ({reason})")
