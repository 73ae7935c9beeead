"""Model loading (emovec.models.loading) and the model-card stage, on the tiny fixture model.

The bridge's residual stream must be the HF model's own hidden states (raw weights, no folding),
and a model whose weights are absent or do not match its config fails at once, naming it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from emovec.compose.cells import compose_cell
from emovec.config.schema import ModelConfig, to_yaml
from emovec.errors import EmovecInputError
from emovec.models.loading import check_local_dir, load_config_and_tokenizer, load_model, sha256_of_dir
from emovec.paths import CONF_DIR
from emovec.stages import model_card


@pytest.fixture(scope="module")
def loaded(tiny_model_dir: Path):
    spec = ModelConfig(name="tiny", hf_id=None, local_dir=str(tiny_model_dir), family="toy", variant="instruct",
                       n_layers=3, d_model=32, chat_template=True)
    return load_model(spec)


def test_load_model_facts(loaded):
    assert loaded.n_layers == 3 and loaded.d_model == 32
    assert loaded.spec.name == "tiny"
    assert not loaded.hf_model.training and not loaded.bridge.training
    assert loaded.tokenizer.pad_token_id is not None
    assert next(loaded.hf_model.parameters()).dtype == torch.float32


def test_bridge_resid_post_equals_hf_hidden_states(loaded):
    tok = loaded.tokenizer
    ids = torch.tensor([tok("She felt happy today and sang a song.")["input_ids"]])
    with torch.no_grad():
        _, cache = loaded.bridge.run_with_cache(ids)
        hf = loaded.hf_model(ids, output_hidden_states=True)
    assert len(hf.hidden_states) == loaded.n_layers + 1
    for i in range(loaded.n_layers - 1):  # HF's last hidden state has the final LayerNorm applied
        resid = cache[f"blocks.{i}.hook_resid_post"]
        assert resid.shape == hf.hidden_states[i + 1].shape == (1, ids.shape[1], 32)
        assert torch.equal(resid, hf.hidden_states[i + 1]), f"layer {i}"
    # the last block's residual is the pre-LayerNorm stream: final LN of it is HF's last state
    last = cache[f"blocks.{loaded.n_layers - 1}.hook_resid_post"]
    ln_f = loaded.hf_model.transformer.ln_f
    with torch.no_grad():
        assert torch.allclose(ln_f(last), hf.hidden_states[-1], atol=1e-5)


def test_bridge_logits_equal_hf_logits(loaded):
    ids = torch.tensor([loaded.tokenizer("A calm day by the lake.")["input_ids"]])
    with torch.no_grad():
        assert torch.allclose(loaded.bridge(ids), loaded.hf_model(ids).logits, atol=1e-5)


@pytest.mark.parametrize("key,value", [("n_layers", 4), ("d_model", 64)])
def test_wrong_shape_in_spec_is_named(tiny_spec, key: str, value: int):
    with pytest.raises(EmovecInputError) as exc:
        load_model(replace(tiny_spec, **{key: value}))
    msg = str(exc.value)
    assert f"{key}={value}" in msg and f"{key}={3 if key == 'n_layers' else 32}" in msg
    assert "'tiny'" in msg and "conf/model/tiny.yaml" in msg


def test_chat_template_claim_is_checked(tiny_model_dir: Path, tiny_spec, tmp_path: Path):
    plain = tmp_path / "plain"
    shutil.copytree(tiny_model_dir, plain)
    cfg = json.loads((plain / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (plain / "tokenizer_config.json").write_text(json.dumps(cfg))
    for extra in plain.glob("chat_template.*"):
        extra.unlink()
    with pytest.raises(EmovecInputError, match="chat_template=true"):
        load_config_and_tokenizer(replace(tiny_spec, local_dir=str(plain)))
    _, tok = load_config_and_tokenizer(replace(tiny_spec, local_dir=str(plain), chat_template=False))
    assert tok.chat_template is None


def test_missing_local_dir_names_the_model(tiny_spec, tmp_path: Path):
    missing = tmp_path / "nowhere"
    with pytest.raises(EmovecInputError) as exc:
        load_model(replace(tiny_spec, name="my-model", local_dir=str(missing)))
    msg = str(exc.value)
    assert msg.startswith(f"model 'my-model': local_dir {missing} does not exist")
    assert "model.local_dir" in msg  # how to provide the weights


def test_missing_toy_dir_points_at_the_pipeline(tmp_path: Path):
    spec = compose_cell("toy-base", "toy-comprehension", "separation",
                        [f"model.local_dir='{tmp_path / 'toy-base'}'"]).model
    with pytest.raises(EmovecInputError, match=r"model 'toy-base'.*built by the pipeline \(dvc repro\)"):
        load_model(spec)


def test_dir_without_safetensors_is_refused(tiny_model_dir: Path, tiny_spec, tmp_path: Path):
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, pickled)
    (pickled / "model.safetensors").unlink()
    (pickled / "pytorch_model.bin").write_bytes(b"not really a pickle")
    spec = replace(tiny_spec, local_dir=str(pickled))
    with pytest.raises(EmovecInputError) as exc:
        load_model(spec)
    assert str(exc.value) == (f"model 'tiny': no *.safetensors weights in {pickled} "
                              "(pickled .bin weights are not loaded)")
    with pytest.raises(EmovecInputError, match="no \\*.safetensors"):
        check_local_dir(spec)


def test_dir_without_config_is_refused(tiny_model_dir: Path, tiny_spec, tmp_path: Path):
    noconf = tmp_path / "noconf"
    shutil.copytree(tiny_model_dir, noconf)
    (noconf / "config.json").unlink()
    with pytest.raises(EmovecInputError, match=r"model 'tiny': .*config\.json is missing"):
        load_model(replace(tiny_spec, local_dir=str(noconf)))


@pytest.fixture()
def offline_empty_hf(monkeypatch, tmp_path: Path) -> Path:
    """No network and an empty Hugging Face cache."""
    home = tmp_path / "hf-home"
    home.mkdir()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    # huggingface_hub resolves its cache directory at import: point that at the empty one too
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    return home


def test_hub_model_offline_fails_fast_naming_it(offline_empty_hf: Path):
    spec = compose_cell("gemma-2-2b", "toy-comprehension", "separation").model
    assert spec.local_dir is None and spec.hf_id == "google/gemma-2-2b"
    with pytest.raises(EmovecInputError) as exc:
        load_model(spec)
    msg = str(exc.value)
    assert msg.startswith("model 'gemma-2-2b' (google/gemma-2-2b) is not in the local Hugging Face cache")
    assert "gemma-2-2b" in msg and "local_dir" in msg and "HF_HUB_OFFLINE=1" in msg


def test_model_card_stage_on_unavailable_hub_model(offline_empty_hf: Path, tmp_path: Path, capsys):
    cfg = tmp_path / "models" / "gemma-2-2b.yaml"
    cfg.parent.mkdir()
    cfg.write_text(to_yaml(compose_cell("gemma-2-2b", "toy-comprehension", "separation").model))
    out = tmp_path / "build" / "models" / "gemma-2-2b.json"
    weights = tmp_path / "build" / "weights" / "gemma-2-2b"
    assert model_card.main(["--model-config", str(cfg), "--out", str(out), "--weights-out", str(weights)]) == 2
    assert not out.exists() and not out.parent.exists() and not weights.exists()
    err = capsys.readouterr().err
    assert err.startswith("error: model 'gemma-2-2b'") and "local_dir" in err


def test_model_card_stage_on_tiny_model(tiny_spec, tiny_model_dir: Path, tmp_path: Path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(to_yaml(tiny_spec))
    out = tmp_path / "tiny.json"
    weights = tmp_path / "weights" / "tiny"
    assert model_card.main(["--model-config", str(cfg), "--out", str(out), "--weights-out", str(weights)]) == 0
    card = json.loads(out.read_text())
    # a local_dir model: the weights directory holds only a note saying where the weights are
    assert [p.name for p in weights.iterdir()] == ["weights_source.json"]
    assert card["weights"] == {"source": "local_dir", "location": str(tiny_spec.local_dir), "revision": None}
    assert card["name"] == "tiny" and card["n_layers"] == 3 and card["d_model"] == 32
    assert card["chat_template"] is True and card["variant"] == "instruct"
    assert card["files_sha256"] == sha256_of_dir(tiny_model_dir)
    assert "model.safetensors" in card["files_sha256"]


def test_model_card_stage_refuses_misspelled_model_key(tmp_path: Path, tiny_spec, capsys):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(to_yaml(tiny_spec) + "n_layer: 3\n")
    out = tmp_path / "tiny.json"
    assert model_card.main(["--model-config", str(cfg), "--out", str(out), "--weights-out", str(tmp_path / "w")]) == 2
    assert not out.exists() and not (tmp_path / "w").exists()
    assert "n_layer" in capsys.readouterr().err


def test_trust_remote_code_is_false_in_every_model_config():
    files = sorted((CONF_DIR / "model").glob("*.yaml"))
    assert {"toy-base.yaml", "gpt2.yaml"} <= {f.name for f in files}
    for f in files:
        raw = OmegaConf.load(f)
        assert raw.get("trust_remote_code", False) is False, f.name
    # the schema default is False too (the composed value of every model: tests/config/test_checks.py)
    assert ModelConfig.trust_remote_code is False


def test_load_without_bridge_generates_the_same_tokens(loaded, tiny_model_dir: Path):
    """Stimulus generation loads the plain HF model (no bridge): same weights, same greedy tokens."""
    from emovec.generate import generate_ids

    plain = load_model(loaded.spec, with_bridge=False)
    assert plain.bridge is None and (plain.n_layers, plain.d_model) == (loaded.n_layers, loaded.d_model)
    tok = loaded.tokenizer
    prompts = [tok("She opened the door")["input_ids"], tok("A storm")["input_ids"]]
    kw = dict(max_new_tokens=8, do_sample=False, temperature=1.0, top_p=1.0, seed=0, batch_size=2, progress=False)
    assert generate_ids(plain.hf_model, plain.tokenizer, prompts, **kw) == generate_ids(loaded.hf_model, tok, prompts, **kw)
