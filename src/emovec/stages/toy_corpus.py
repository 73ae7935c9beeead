"""Stage: write the synthetic toy training corpus (stories + instruction pairs) as JSON lines
(only when the selection trains a toy; otherwise a NOT_SELECTED note);
:func:`emovec.toy.corpus_files.write_toy_corpus`."""

from __future__ import annotations

import argparse

from emovec.config.schema import read_selected_flag
from emovec.errors import stage_entry
from emovec.stages.common import write_not_selected
from emovec.toy.corpus_files import write_toy_corpus


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default="build/config/toy.yaml")
    ap.add_argument("--out", default="build/toy/corpus")
    ap.add_argument("--selected", default=None, help="build/config/toys/corpus.yaml ({selected: bool})")
    args = ap.parse_args(argv)
    if args.selected is not None and not read_selected_flag(args.selected):
        write_not_selected(args.out, "no selected model is a toy model")
        return
    print(write_toy_corpus(args.config, args.out))


if __name__ == "__main__":
    raise SystemExit(main())
