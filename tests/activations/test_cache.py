"""The pooled activation cache on disk (emovec.activations.cache): round trips per dtype, atomic
writes that leave the previous cache on failure, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emovec.activations.cache import CACHE_FILE, META_FILE, read_cache, write_cache
from emovec.errors import EmovecInputError

N_LAYERS = 3
D_MODEL = 32


def _fake_pooled(seed: int = 0, n: int = 6) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {p: rng.normal(size=(n, N_LAYERS, D_MODEL)).astype(np.float32)
           for p in ("last_token", "mean_from_offset", "mid_generation")}
    out["mid_generation"][-2:] = np.nan
    return out


def test_cache_round_trip_float32_exact(tmp_path):
    pooled = _fake_pooled()
    meta = {"ids": [f"s{i}" for i in range(6)], "axes": {"model": "tiny"}}
    write_cache(tmp_path / "cell", pooled, meta, "float32")
    assert sorted(p.name for p in (tmp_path / "cell").iterdir()) == sorted([CACHE_FILE, META_FILE])
    back, meta_back = read_cache(tmp_path / "cell")
    assert meta_back == meta
    assert set(back) == set(pooled)
    for p, a in pooled.items():
        assert back[p].dtype == np.float32
        assert np.array_equal(back[p], a, equal_nan=True), p


def test_cache_round_trip_float16_within_tolerance(tmp_path):
    pooled = _fake_pooled(1)
    write_cache(tmp_path / "cell", pooled, {"ids": []}, "float16")
    back, _ = read_cache(tmp_path / "cell")
    for p, a in pooled.items():
        assert back[p].dtype == np.float32
        np.testing.assert_allclose(back[p], a, rtol=1e-3, atol=1e-4, equal_nan=True)
        assert np.array_equal(np.isnan(back[p]), np.isnan(a))


def test_cache_overwrites_existing_dir(tmp_path):
    write_cache(tmp_path / "cell", _fake_pooled(0), {"v": 0}, "float32")
    (tmp_path / "cell" / "stale.txt").write_text("old")
    write_cache(tmp_path / "cell", _fake_pooled(1), {"v": 1}, "float32")
    assert not (tmp_path / "cell" / "stale.txt").exists()
    back, meta = read_cache(tmp_path / "cell")
    assert meta == {"v": 1}
    assert np.array_equal(back["last_token"], _fake_pooled(1)["last_token"])


def test_cache_write_is_atomic(tmp_path, monkeypatch):
    import safetensors.torch

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(safetensors.torch, "save_file", boom)
    parent = tmp_path / "activations"
    parent.mkdir()
    with pytest.raises(OSError, match="simulated"):
        write_cache(parent / "cell", _fake_pooled(), {"ids": []}, "float32")
    assert list(parent.iterdir()) == []  # neither the out dir nor a temp dir


def test_cache_failure_keeps_previous_cache(tmp_path, monkeypatch):
    import safetensors.torch

    write_cache(tmp_path / "cell", _fake_pooled(0), {"v": 0}, "float32")

    def boom(*args, **kwargs):
        raise OSError("simulated")

    monkeypatch.setattr(safetensors.torch, "save_file", boom)
    with pytest.raises(OSError):
        write_cache(tmp_path / "cell", _fake_pooled(1), {"v": 1}, "float32")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cell"]
    _, meta = read_cache(tmp_path / "cell")
    assert meta == {"v": 0}


def test_read_cache_missing_file_raises(tmp_path):
    (tmp_path / "cell").mkdir()
    with pytest.raises(EmovecInputError, match=CACHE_FILE):
        read_cache(tmp_path / "cell")


def test_cache_dtype_halves_the_bytes_and_reads_back_as_float32(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    pooled = {"last_token": rng.normal(size=(40, 4, 64)).astype(np.float32)}
    write_cache(tmp_path / "f32", pooled, {"ids": []}, "float32")
    write_cache(tmp_path / "f16", pooled, {"ids": []}, "float16")
    write_cache(tmp_path / "bf16", pooled, {"ids": []}, "bfloat16")
    size = {k: (tmp_path / k / "pooled.safetensors").stat().st_size for k in ("f32", "f16", "bf16")}
    data = 40 * 4 * 64
    assert size["f32"] - size["f16"] == 2 * data and size["f16"] == size["bf16"]
    back, _ = read_cache(tmp_path / "f16")
    assert back["last_token"].dtype == np.float32
    np.testing.assert_allclose(back["last_token"], pooled["last_token"], rtol=1e-3, atol=1e-3)
