"""Stage: resolve conf/ for every selected cell and write one small config file per consumer;
:func:`emovec.compose.selection.compose_all` (what is written, and why, is in :mod:`emovec.compose.selection`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emovec.compose.selection import compose_all, read_selection
from emovec.errors import stage_entry
from emovec.paths import CONF_DIR


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--selection", default=str(CONF_DIR / "selection.yaml"))
    ap.add_argument("--out", default="build/config")
    args = ap.parse_args(argv)
    compose_all(read_selection(Path(args.selection)), Path(args.out), require_steering=args.selection)


if __name__ == "__main__":
    raise SystemExit(main())
