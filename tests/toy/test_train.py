"""Toy training (emovec.toy.train.run_toy_training, run by the stage emovec.stages.toy_train): the
thread count comes from the config; a toy the selection does not need is not trained, and deciding
so imports no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from emovec.stages.common import NOT_SELECTED
from emovec.stages.toy_train import main
from emovec.toy.corpus import generate_stories


def _inputs(root: Path, train_threads: int) -> list[str]:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    stories = generate_stories(2, seed=0)
    (corpus / "stories.jsonl").write_text(
        "".join(json.dumps({"id": s.id, "emotion": s.emotion, "text": s.text}) + "\n" for s in stories))
    (corpus / "instruct.jsonl").write_text(
        "".join(json.dumps({"id": s.id, "instruction": f"Write about {s.emotion}.", "story": s.text}) + "\n"
                for s in stories))
    toy = {"n_per_category": 2, "seed": 0, "vocab_size": 300, "n_layer": 2, "n_embd": 16, "n_head": 2,
           "n_positions": 128, "train_threads": train_threads}
    model = {"name": "toy-tiny", "hf_id": None, "local_dir": str(root / "models" / "toy-tiny"), "family": "toy",
             "variant": "base", "n_layers": 2, "d_model": 16, "chat_template": False,
             "toy": {"data": "stories", "init_from": None, "steps": 6, "batch_size": 8, "lr": 0.003, "seed": 0}}
    (root / "toy.yaml").write_text(yaml.safe_dump(toy))
    (root / "model.yaml").write_text(yaml.safe_dump(model))
    return ["--model-config", str(root / "model.yaml"), "--toy-config", str(root / "toy.yaml"),
            "--corpus", str(corpus), "--models-dir", str(root / "models")]


def test_training_runs_on_the_configured_threads_whatever_the_machine_gives(tmp_path):
    weights = []
    try:
        for ambient in (1, 3):
            torch.set_num_threads(ambient)
            root = tmp_path / f"ambient{ambient}"
            assert main(_inputs(root, train_threads=2)) == 0
            assert torch.get_num_threads() == 2  # the config's value, not the ambient one
            weights.append((root / "models" / "toy-tiny" / "model.safetensors").read_bytes())
    finally:
        torch.set_num_threads(1)  # what conftest set for every test
    assert weights[0] == weights[1]


@pytest.mark.parametrize("bad", [0, -1])
def test_non_positive_train_threads_is_refused_naming_the_file(tmp_path, capsys, bad):
    argv = _inputs(tmp_path, train_threads=bad)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "toy.yaml") in err and f"train_threads={bad}" in err
    assert not (tmp_path / "models").exists()


def test_a_toy_not_needed_gets_a_note_and_the_decision_imports_no_torch(tmp_path):
    """The NOT_SELECTED path runs on every real-model repro: it must stay well under a second."""
    argv = _inputs(tmp_path, train_threads=2)
    flag = tmp_path / "selected.yaml"
    flag.write_text(yaml.safe_dump({"selected": False}))
    script = ("import sys\n"
              "from emovec.stages.toy_train import main\n"
              f"assert main({[*argv, '--selected', str(flag)]!r}) == 0\n"
              "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'imported before deciding'\n")
    src = Path(__file__).resolve().parents[2] / "src"
    subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ, "PYTHONPATH": str(src)})
    assert [p.name for p in (tmp_path / "models" / "toy-tiny").iterdir()] == [NOT_SELECTED]
