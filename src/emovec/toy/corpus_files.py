"""The toy training corpus on disk: ``stories.jsonl`` (the synthetic stories of
:mod:`emovec.toy.corpus`) and ``instruct.jsonl`` (each story as the answer to an instruction built
from the project's generation templates), the files the toy_train stage reads."""

from __future__ import annotations

import json
from pathlib import Path

from emovec.config.schema import ToyConfig, load_yaml_dataclass
from emovec.corpora.stimuli import read_templates
from emovec.io import atomic_path
from emovec.paths import PACKAGE_DIR
from emovec.toy.corpus import generate_stories, instruction_pairs

# The instruction templates and neutral topics the instruction pairs are written from.
GENERATION_TEMPLATES = PACKAGE_DIR / "stimuli" / "generation_templates.json"


def write_toy_corpus(config: str | Path, out_dir: str | Path) -> str:
    """The toy_corpus stage: generate the stories and instruction pairs of the toy config
    ``config`` (build/config/toy.yaml: stories per category and seed) and write both JSON-lines
    files into ``out_dir`` atomically. Returns a one-line summary."""
    cfg: ToyConfig = load_yaml_dataclass(config, ToyConfig)
    stories = generate_stories(cfg.n_per_category, cfg.seed)
    tpl = read_templates(GENERATION_TEMPLATES, "templates_json")
    pairs = instruction_pairs(stories, tpl["templates"], tpl["neutral_template"], tpl["neutral_topics"], cfg.seed)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        with open(tmp / "stories.jsonl", "w", encoding="utf-8") as fh:
            for s in stories:
                fh.write(json.dumps({"id": s.id, "emotion": s.emotion, "text": s.text}, sort_keys=True) + "\n")
        with open(tmp / "instruct.jsonl", "w", encoding="utf-8") as fh:
            for s, (instruction, story) in zip(stories, pairs):
                fh.write(json.dumps({"id": s.id, "instruction": instruction, "story": story}, sort_keys=True) + "\n")
    return f"toy corpus: {len(stories)} stories, {len(pairs)} instruction pairs -> {out_dir}"
