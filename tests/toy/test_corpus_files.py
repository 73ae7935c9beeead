"""The toy training corpus on disk (emovec.toy.corpus_files, run by the stage emovec.stages.toy_corpus):
both JSON-lines files, one row per story in the same order, byte-identical for a seed; a selection
without a toy gets only a NOT_SELECTED note."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from emovec.stages import toy_corpus as toy_corpus_stage
from emovec.stages.common import NOT_SELECTED
from emovec.toy.corpus import generate_stories
from emovec.toy.corpus_files import write_toy_corpus


def _toy_config(root: Path, seed: int = 0) -> Path:
    path = root / "toy.yaml"
    path.write_text(yaml.safe_dump({"n_per_category": 2, "seed": seed}))
    return path


def test_stories_and_instruction_pairs_are_written_one_per_story(tmp_path: Path):
    summary = write_toy_corpus(_toy_config(tmp_path), tmp_path / "corpus")
    stories = [json.loads(line) for line in (tmp_path / "corpus" / "stories.jsonl").read_text().splitlines()]
    pairs = [json.loads(line) for line in (tmp_path / "corpus" / "instruct.jsonl").read_text().splitlines()]
    expected = generate_stories(2, seed=0)
    assert [(s["id"], s["emotion"], s["text"]) for s in stories] == [(s.id, s.emotion, s.text) for s in expected]
    assert [p["id"] for p in pairs] == [s.id for s in expected]
    assert all(p["instruction"] and p["story"] for p in pairs)
    assert summary == f"toy corpus: {len(expected)} stories, {len(expected)} instruction pairs -> {tmp_path / 'corpus'}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "toy.yaml"]  # no leftovers of the atomic write


def test_the_corpus_is_byte_identical_for_a_seed(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_toy_corpus(_toy_config(tmp_path / "a"), tmp_path / "a" / "corpus")
    write_toy_corpus(_toy_config(tmp_path / "b"), tmp_path / "b" / "corpus")
    for name in ("stories.jsonl", "instruct.jsonl"):
        assert (tmp_path / "a" / "corpus" / name).read_bytes() == (tmp_path / "b" / "corpus" / name).read_bytes()


def test_the_stage_writes_a_not_selected_note_when_no_toy_is_selected(tmp_path: Path):
    flag = tmp_path / "corpus_flag.yaml"
    flag.write_text(yaml.safe_dump({"selected": False}))
    out = tmp_path / "corpus"
    assert toy_corpus_stage.main(["--config", str(_toy_config(tmp_path)), "--out", str(out),
                                  "--selected", str(flag)]) == 0
    assert [p.name for p in out.iterdir()] == [NOT_SELECTED]
    flag.write_text(yaml.safe_dump({"selected": True}))
    assert toy_corpus_stage.main(["--config", str(_toy_config(tmp_path)), "--out", str(out),
                                  "--selected", str(flag)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["instruct.jsonl", "stories.jsonl"]
