"""What stages share beyond :func:`emovec.errors.stage_entry`: the not-selected note."""

from __future__ import annotations

import os

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
