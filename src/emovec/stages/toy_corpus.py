"""Stage: write the synthetic toy training corpus (stories + instruction pairs) as JSON lines
(only when the selection trains a toy; otherwise a NOT_SELECTED note)."""

from __future__ import annotations

import argparse
import json

from emovec.config import ToyConfig, load_yaml_dataclass, read_selected_flag
from emovec.paths import PACKAGE_DIR
from emovec.corpora.stimuli import read_templates
from emovec.io import atomic_path
from emovec.stages.common import stage_entry, write_not_selected
from emovec.toy.corpus import generate_stories, instruction_pairs


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
    cfg: ToyConfig = load_yaml_dataclass(args.config, ToyConfig)
    stories = generate_stories(cfg.n_per_category, cfg.seed)
    tpl = read_templates(PACKAGE_DIR / "stimuli" / "generation_templates.json", "templates_json")
    pairs = instruction_pairs(stories, tpl["templates"], tpl["neutral_template"], tpl["neutral_topics"], cfg.seed)
    with atomic_path(args.out) as tmp:
        tmp.mkdir()
        with open(tmp / "stories.jsonl", "w", encoding="utf-8") as fh:
            for s in stories:
                fh.write(json.dumps({"id": s.id, "emotion": s.emotion, "text": s.text}, sort_keys=True) + "\n")
        with open(tmp / "instruct.jsonl", "w", encoding="utf-8") as fh:
            for s, (instruction, story) in zip(stories, pairs):
                fh.write(json.dumps({"id": s.id, "instruction": instruction, "story": story}, sort_keys=True) + "\n")
    print(f"toy corpus: {len(stories)} stories, {len(pairs)} instruction pairs -> {args.out}")


if __name__ == "__main__":
    raise SystemExit(main())
