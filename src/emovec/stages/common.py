"""What stages share beyond :func:`emovec.errors.stage_entry`: the not-selected note.

A stage of dvc.yaml's models x corpora matrix exists for every pair, but compose may leave a cell
out (a base model's generation cell, Jeong 2026 §7.2): its slice is then ``{selected: false,
reason}``, and the stage writes each of its outputs as a NOT_SELECTED note saying why, in well
under a second (nothing heavy is imported before the check)."""

from __future__ import annotations

import os
from pathlib import Path

NOT_SELECTED = "NOT_SELECTED"


def write_not_selected(out_dir: str | os.PathLike[str], reason: str) -> None:
    """Write a directory output holding only a NOT_SELECTED note (atomically): the stage's
    output exists for DVC, and anyone who opens it reads why nothing was built."""
    from emovec.io import atomic_path

    with atomic_path(Path(out_dir)) as tmp:
        tmp.mkdir()
        (tmp / NOT_SELECTED).write_text(reason + "\n", encoding="utf-8")
    print(f"{out_dir}: not built ({reason})")


def write_not_selected_file(path: str | os.PathLike[str], reason: str) -> None:
    """Write a file output as a one-line ``NOT_SELECTED: <reason>`` note (atomically)."""
    from emovec.io import write_text_atomic

    write_text_atomic(Path(path), f"{NOT_SELECTED}: {reason}\n")
    print(f"{path}: not built ({reason})")


def not_selected_reason(config: str | os.PathLike[str]) -> str | None:
    """The reason in a ``{selected: false, reason: ...}`` slice (a cell compose does not run), or
    None for any other slice (including a missing one: the stage's own reader reports that)."""
    import yaml

    path = Path(config)
    if not path.is_file():
        return None
    node = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(node, dict) and node.get("selected") is False and isinstance(node.get("reason"), str):
        return node["reason"]
    return None
