"""Shared fixtures: a tiny random-weight GPT-2 model saved with save_pretrained, built offline.

It goes through the exact loading path of every model (local_dir -> HF -> TransformerBridge), so
tests exercise the real code without any network or downloaded weights.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("EMOVEC_PROGRESS", "0")
# Tests run tiny models: one thread avoids oversubscription on small CI machines and keeps CPU
# results bit-reproducible regardless of core count. Set through the environment, read by torch
# when a test first imports it, so tests that need only numpy never import torch (conftest
# itself imports nothing heavy; tests/test_conftest.py checks).
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"


@pytest.fixture(autouse=True)
def _one_torch_thread() -> None:
    """Belt and braces: if torch was imported before conftest set the variables, still one thread."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-layer, 32-wide GPT-2 with the toy tokenizer and chat template (random weights)."""
    from emovec.toy import train
    from emovec.toy.corpus import generate_stories

    out = tmp_path_factory.mktemp("models") / "tiny"
    stories = generate_stories(4, seed=0)
    tok = train.train_tokenizer([s.text for s in stories] + ["Write a story about someone who feels happy."], 300)
    model = train.build_model(tok, n_layer=3, n_embd=32, n_head=4, n_positions=256, seed=0)
    train.save_model_dir(model, tok, out, train.CHAT_TEMPLATE)
    return out


@pytest.fixture()
def tiny_spec(tiny_model_dir: Path):
    """A ModelConfig pointing at the tiny model."""
    from emovec.config.schema import ModelConfig

    return ModelConfig(name="tiny", hf_id=None, local_dir=str(tiny_model_dir), family="toy", variant="instruct",
                       n_layers=3, d_model=32, chat_template=True)


@pytest.fixture()
def upstream_root() -> Path:
    """The read-only mirror of upstream files (../shared/reference), or skip with the reason."""
    root = Path(os.environ.get("UPSTREAM_ROOT", SHARED_REFERENCE))
    if not (root / "SOURCES.md").is_file():
        pytest.skip(f"upstream mirror not found at {root} (set UPSTREAM_ROOT)")
    return root


def materialised(upstream_root: Path, tmp_path: Path, *paths: str) -> Path:
    """Place the named manifest files into tmp_path/data from the mirror (sha256-checked), exactly
    as `make data` does; return that data/ directory."""
    from emovec.corpora.manifest import load_manifest, materialise

    entries = [e for e in load_manifest(REPO / "conf" / "data" / "upstream.yaml") if e.path in paths]
    assert sorted(e.path for e in entries) == sorted(paths)
    data = tmp_path / "data"
    report = materialise(entries, data, upstream_root=upstream_root, dvc_remote=False, allow_network=False,
                         progress=False)
    assert report.complete, report.summary()
    return data
