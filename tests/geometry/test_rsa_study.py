"""emovec.geometry.rsa_study: the pairs, kinds and layers compared; emotions aligned by name;
a geometry shared across models of different width is recovered, an unrelated one is not."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from emovec.errors import EmovecInputError
from emovec.geometry.rsa_study import RSACell, RSASettings, align_emotions, layer_at_depth, read_vectors, rsa_rows
from emovec.stats.rsa import rsa_compare

EMOTIONS = tuple(f"e{i:02d}" for i in range(12))
FAST = RSASettings(depths=(0.0, 1.0), n_perm=199, n_boot=50, seed=0)


def _write(path: Path, vectors: np.ndarray, emotions: tuple[str, ...]) -> None:
    buf = io.BytesIO()
    np.savez(buf, vectors=vectors.astype(np.float32), emotions=np.array(emotions))
    path.write_bytes(buf.getvalue())


def _model_vectors(shared: np.ndarray, n_layers: int, d: int, seed: int, share_layers: set[int]) -> np.ndarray:
    """[n, n_layers, d]: the shared geometry (isometrically embedded in d dims, so its cosines are
    kept) at share_layers, plus a little noise; pure noise elsewhere."""
    rng = np.random.default_rng(seed)
    out = rng.normal(size=(shared.shape[0], n_layers, d))
    for layer in share_layers:
        q, _ = np.linalg.qr(rng.normal(size=(d, shared.shape[1])))  # d x k orthonormal columns
        out[:, layer] = shared @ q.T + 0.05 * rng.normal(size=(shared.shape[0], d))
    return out


def test_layer_at_depth():
    assert [layer_at_depth(30, f) for f in (0.0, 0.25, 0.5, 0.75, 1.0)] == [0, 7, 14, 22, 29]
    assert [layer_at_depth(18, f) for f in (0.0, 0.5, 1.0)] == [0, 8, 17]
    with pytest.raises(EmovecInputError, match="outside"):
        layer_at_depth(10, 1.5)


def test_align_emotions_keeps_the_first_order():
    ia, ib, common = align_emotions(("a", "b", "c", "d"), ("d", "x", "b", "a"))
    assert common == ("a", "b", "d") and ia == [0, 1, 3] and ib == [3, 2, 0]


def test_a_shared_geometry_is_found_where_planted_and_pairs_are_labelled(tmp_path: Path):
    shared = np.random.default_rng(0).normal(size=(len(EMOTIONS), 6))
    cells = [RSACell("m-base", "c", "fam", "base", 5, 2), RSACell("m-inst", "c", "fam", "instruct", 5, 2),
             RSACell("other", "c", "fam2", "base", 9, 4)]
    _write(tmp_path / "m-base__c.npz", _model_vectors(shared, 5, 16, 1, {2, 4}), EMOTIONS)
    # the instruct model lists its emotions in another order: alignment is by name
    order = np.random.default_rng(9).permutation(len(EMOTIONS))
    inst = _model_vectors(shared, 5, 24, 2, {2, 4})[order]
    _write(tmp_path / "m-inst__c.npz", inst, tuple(EMOTIONS[i] for i in order))
    _write(tmp_path / "other__c.npz", _model_vectors(shared, 9, 8, 3, {8}), EMOTIONS)
    rows = rsa_rows(cells, tmp_path, FAST)
    assert [(r["model_a"], r["model_b"], r["kind"], r["depth"], r["layer_a"], r["layer_b"]) for r in rows] == [
        ("m-base", "m-inst", "base_instruct", "reported", 2, 2), ("m-base", "m-inst", "base_instruct", "0", 0, 0),
        ("m-base", "m-inst", "base_instruct", "1", 4, 4),
        ("m-base", "other", "cross_model", "reported", 2, 4), ("m-base", "other", "cross_model", "0", 0, 0),
        ("m-base", "other", "cross_model", "1", 4, 8),
        ("m-inst", "other", "cross_model", "reported", 2, 4), ("m-inst", "other", "cross_model", "0", 0, 0),
        ("m-inst", "other", "cross_model", "1", 4, 8),
    ]
    by = {(r["model_a"], r["model_b"], r["depth"]): r for r in rows}
    planted = by[("m-base", "m-inst", "reported")]
    assert planted["rho"] > 0.9 and planted["p_mantel"] == 1 / 200 and planted["ci_low"] > 0.5
    assert planted["n_emotions"] == 12 and planted["n_pairs"] == 66
    assert by[("m-base", "other", "1")]["rho"] > 0.9  # shared at the last layer of both
    # Layer 0 is noise: the row is exactly rsa_compare of the name-aligned layer-0 vectors (whether a
    # Mantel p of noise is uniform is tested on mantel_test itself, over seeds, in test_rsa).
    (vb, eb), (vi, ei) = (read_vectors(tmp_path / f"{m}__c.npz", 5) for m in ("m-base", "m-inst"))
    ib, ii, _ = align_emotions(eb, ei)
    noise = rsa_compare(vb[ib, 0], vi[ii, 0], n_perm=FAST.n_perm, n_boot=FAST.n_boot, seed=FAST.seed, level=FAST.level)
    assert {k: by[("m-base", "m-inst", "0")][k] for k in vars(noise)} == vars(noise)
    assert rows == rsa_rows(cells, tmp_path, FAST)  # deterministic


def test_missing_vectors_and_too_few_shared_emotions_are_named(tmp_path: Path):
    cells = [RSACell("a", "c", "f", "base", 2, 1), RSACell("b", "c", "g", "base", 2, 1)]
    _write(tmp_path / "a__c.npz", np.random.default_rng(0).normal(size=(4, 2, 3)), ("w", "x", "y", "z"))
    with pytest.raises(EmovecInputError, match=r"b__c.npz is missing: run the vectors stage"):
        rsa_rows(cells, tmp_path, FAST)
    _write(tmp_path / "b__c.npz", np.random.default_rng(1).normal(size=(4, 2, 3)), ("w", "x", "p", "q"))
    with pytest.raises(EmovecInputError, match="a and b share 2 emotions; RSA needs at least 3"):
        rsa_rows(cells, tmp_path, FAST)
    _write(tmp_path / "b__c.npz", np.random.default_rng(1).normal(size=(4, 3, 3)), ("w", "x", "y", "z"))
    with pytest.raises(EmovecInputError, match=r"shape \(4, 3, 3\); expected \[4, 2, d\]"):
        rsa_rows(cells, tmp_path, FAST)
