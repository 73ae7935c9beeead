"""debiased linear CKA per model, layer x layer within a corpus and corpus x corpus per layer.

Unit of analysis: emotions (the rows are the emotions' contrast vectors). Biased linear CKA is
~0.96 on unrelated data at n = 20 rows (METHODS trap 4), so the debiased estimator is used.
Linear CKA needs only the centred Gram matrices, which the valence stage writes per cell
(``grams.npz``); this stage never touches activations. Between two corpora only the emotions
both kept are compared (the Gram matrices are restricted and re-centred).

Output: ``<out>/<model>.npz`` with ``corpora`` [k], ``layer_by_layer`` [k, L, L], ``pairs`` [m, 2],
``between_corpora`` [m, L], ``n_emotions`` (rows of the within-corpus comparisons, minimum over corpora).
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import yaml

from emovec.errors import EmovecInputError
from emovec.io import atomic_path
from emovec.stats.cka import gram_cka


def read_grams(path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    if not path.is_file():
        raise EmovecInputError(f"{path} is missing: run the valence stage of that cell first")
    with np.load(path) as z:
        return z["grams"].astype(np.float64), tuple(str(e) for e in z["emotions"])


def restrict(grams: np.ndarray, emotions: tuple[str, ...], keep: list[str]) -> np.ndarray:
    """Gram rows/cols of ``keep``, re-centred (centring is translation-invariant, so H K_sub H is
    exactly the centred Gram of the kept rows)."""
    idx = [emotions.index(e) for e in keep]
    sub = grams[:, idx][:, :, idx]
    n = len(idx)
    h = np.eye(n) - 1.0 / n
    return h @ sub @ h


def model_cka(grams_by_corpus: dict[str, tuple[np.ndarray, tuple[str, ...]]]) -> dict[str, np.ndarray]:
    corpora = sorted(grams_by_corpus)
    n_layers = {g.shape[0] for g, _ in grams_by_corpus.values()}
    if len(n_layers) != 1:
        raise EmovecInputError(f"corpora {corpora} disagree on the number of layers: {sorted(n_layers)}")
    (L,) = n_layers
    within = np.empty((len(corpora), L, L))
    for k, c in enumerate(corpora):
        g, _ = grams_by_corpus[c]
        for i in range(L):
            for j in range(i, L):
                within[k, i, j] = within[k, j, i] = 1.0 if i == j else gram_cka(g[i], g[j], debiased=True)
    pairs, between = [], []
    for a, b in itertools.combinations(corpora, 2):
        (ga, ea), (gb, eb) = grams_by_corpus[a], grams_by_corpus[b]
        common = [e for e in ea if e in set(eb)]
        if len(common) < 4:
            raise EmovecInputError(f"corpora {a!r} and {b!r} share {len(common)} emotions; debiased CKA needs >= 4")
        ra, rb = restrict(ga, ea, common), restrict(gb, eb, common)
        pairs.append((a, b))
        between.append([gram_cka(ra[l], rb[l], debiased=True) for l in range(L)])
    return {"corpora": np.array(corpora), "layer_by_layer": within,
            "pairs": np.array(pairs, dtype=str).reshape(-1, 2),
            "between_corpora": np.array(between, dtype=np.float64).reshape(-1, L),
            "n_emotions": np.array(min(len(e) for _, e in grams_by_corpus.values()))}


def run_cka(config: str | Path, valence_dir: str | Path, out: str | Path) -> None:
    """The cka stage (see the module docstring): inputs and output as the stage's flags name them."""
    cells = (yaml.safe_load(Path(config).read_text()) or {}).get("valence_cells") or []
    by_model: dict[str, dict[str, tuple[np.ndarray, tuple[str, ...]]]] = {}
    for c in cells:
        by_model.setdefault(c["model"], {})[c["corpus"]] = read_grams(Path(valence_dir) / c["cell"] / "grams.npz")
    results = {m: model_cka(g) for m, g in sorted(by_model.items())}
    with atomic_path(out) as tmp:
        tmp.mkdir()
        for m, arrays in results.items():
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            (tmp / f"{m}.npz").write_bytes(buf.getvalue())
    print(f"cka: {len(results)} models -> {out}")
