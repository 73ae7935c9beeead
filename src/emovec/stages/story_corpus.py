"""Stage: one story corpus (van der Ben et al.), independent of the model that will read it;
:func:`emovec.story_corpus.run_story_corpus`."""

from __future__ import annotations

import argparse

from emovec.errors import stage_entry
from emovec.story_corpus import run_story_corpus


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="build/config/stories/<corpus>.yaml")
    ap.add_argument("--out", required=True, help="build/stories/<corpus>.jsonl")
    ap.add_argument("--summary", required=True)
    ap.add_argument("--models-dir", default="build/models", help="model cards (part of the resume key)")
    ap.add_argument("--partial-root", default="build/partial/generate")
    args = ap.parse_args(argv)
    print(run_story_corpus(args.config, args.out, args.summary, args.models_dir, args.partial_root))


if __name__ == "__main__":
    raise SystemExit(main())
