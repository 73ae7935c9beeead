"""The steering additions: ``unit vector x strength x norm reference`` per chosen layer (Jeong
2026 §5), checked and packed into a :class:`~emovec.steering.hooks.Steering`.

Unit vectors are [n_layers, d_model] (one direction for every row) or, for a mixed batch,
[rows, n_layers, d_model] (one direction per row; an all-zero row is left unsteered). The
reference (:mod:`emovec.steering.norm_reference`) is in the units of the residual stream, so an
addition is too; ``strength`` is dimensionless.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from emovec.errors import EmovecInputError
from emovec.steering.hooks import Steering, check_steering
from emovec.steering.norm_reference import NORM_REFERENCES, PER_PROMPT_REFERENCES

UNIT_TOL = 1e-4


def _check_strength(strength: Any) -> float:
    if isinstance(strength, (bool, np.bool_)) or not isinstance(strength, numbers.Real):
        raise EmovecInputError(f"strength must be a number, got {type(strength).__name__} {strength!r}")
    value = float(strength)
    if not math.isfinite(value):
        raise EmovecInputError(f"strength must be a finite number, got {strength!r}")
    return value


def _check_layers(layers: Sequence[int] | str, n_layers: int, model_name: str) -> list[int]:
    if isinstance(layers, str):
        if layers != "all":
            raise EmovecInputError(f"layers must be 'all' or a list of layer indices, got {layers!r}")
        return list(range(n_layers))
    out = []
    for layer in layers:
        if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, numbers.Integral):
            raise EmovecInputError(f"layers must hold integer indices, got {layer!r}")
        if not 0 <= int(layer) < n_layers:
            raise EmovecInputError(f"layer {layer} is out of range for model {model_name!r} with "
                                   f"{n_layers} layers (valid: 0..{n_layers - 1})")
        out.append(int(layer))
    if not out:
        raise EmovecInputError("layers is empty; give at least one layer or 'all'")
    if len(set(out)) != len(out):
        raise EmovecInputError(f"layers has duplicates: {list(layers)}")
    return out


def build_steering(loaded: Any, unit_vectors: np.ndarray | torch.Tensor, layers: Sequence[int] | str,
                   strength: float, norm_reference: str, *, prompt_ids: Sequence[Sequence[int]] | None = None,
                   dataset_norms: Any = None) -> Steering:
    """Additions ``unit[l] * strength * ref[b, l]`` for each chosen layer ``l`` (and row ``b`` when
    the reference is per prompt). ``unit_vectors`` is [n_layers, d_model], unit norm at every
    chosen layer (within 1e-4); other layers are not read."""
    name = loaded.spec.name
    value = _check_strength(strength)
    chosen = _check_layers(layers, loaded.n_layers, name)
    if norm_reference not in NORM_REFERENCES:
        raise EmovecInputError(f"unknown norm_reference {norm_reference!r}; known: {sorted(NORM_REFERENCES)}")
    units = torch.as_tensor(np.asarray(unit_vectors.detach().cpu() if isinstance(unit_vectors, torch.Tensor)
                                       else unit_vectors, dtype=np.float64))
    if units.ndim != 2 or units.shape[0] != loaded.n_layers:
        raise EmovecInputError(f"unit_vectors must have shape [n_layers={loaded.n_layers}, d_model="
                               f"{loaded.d_model}] for model {name!r}, got {list(units.shape)}")
    if units.shape[1] != loaded.d_model:
        raise EmovecInputError(f"unit_vectors: vector has width {units.shape[1]} but model {name!r} has "
                               f"d_model {loaded.d_model}")
    sel = units[chosen]
    if not bool(torch.isfinite(sel).all()):
        raise EmovecInputError("unit_vectors has non-finite values at the steered layers")
    norms = sel.norm(dim=-1)
    bad = [(chosen[i], float(n)) for i, n in enumerate(norms) if abs(float(n) - 1.0) > UNIT_TOL]
    if bad:
        raise EmovecInputError(f"unit_vectors are not unit norm (tolerance {UNIT_TOL}) at (layer, norm): {bad[:5]}")
    ref = NORM_REFERENCES[norm_reference](loaded, chosen, prompt_ids=prompt_ids, dataset_norms=dataset_norms)
    ref = ref.to(torch.float64)
    additions: dict[int, torch.Tensor] = {}
    for j, layer in enumerate(chosen):
        vec = sel[j][None, :] * value * ref[:, j][:, None]  # [rows, d]
        if vec.shape[0] == 1 and norm_reference not in PER_PROMPT_REFERENCES:
            vec = vec[0]
        additions[layer] = vec.float()
    steering = Steering(additions=additions)
    check_steering(steering, loaded.n_layers, loaded.d_model, model_name=name)
    return steering


def build_row_steering(loaded: Any, directions: np.ndarray, strengths: Sequence[float], layers: Sequence[int] | str,
                       norm_reference: str, *, prompt_ids: Sequence[Sequence[int]] | None = None,
                       dataset_norms: Any = None) -> Steering:
    """One steering per row of a mixed batch: ``directions[b, l] * strengths[b] * ref[b, l]``.

    ``directions`` is [rows, n_layers, d_model]; each row is unit norm at every chosen layer or all
    zero (an unsteered row, e.g. the unsteered and prompt-induction controls generated in the same
    batch as the steered rows: adding exact zeros leaves them untouched). ``strengths`` is [rows]."""
    name = loaded.spec.name
    chosen = _check_layers(layers, loaded.n_layers, name)
    values = [_check_strength(s) for s in strengths]
    if norm_reference not in NORM_REFERENCES:
        raise EmovecInputError(f"unknown norm_reference {norm_reference!r}; known: {sorted(NORM_REFERENCES)}")
    dirs = torch.as_tensor(np.asarray(directions, dtype=np.float64))
    if dirs.ndim != 3 or dirs.shape[1] != loaded.n_layers or dirs.shape[2] != loaded.d_model:
        raise EmovecInputError(f"directions must have shape [rows, n_layers={loaded.n_layers}, d_model="
                               f"{loaded.d_model}] for model {name!r}, got {list(dirs.shape)}")
    if dirs.shape[0] != len(values):
        raise EmovecInputError(f"directions has {dirs.shape[0]} rows but strengths has {len(values)}")
    sel = dirs[:, chosen, :]  # [rows, k, d]
    if not bool(torch.isfinite(sel).all()):
        raise EmovecInputError("directions has non-finite values at the steered layers")
    norms = sel.norm(dim=-1)  # [rows, k]
    ok = ((norms - 1.0).abs() <= UNIT_TOL) | (norms == 0)
    if not bool(ok.all()):
        b, j = [int(x) for x in torch.nonzero(~ok)[0]]
        raise EmovecInputError(f"directions row {b} has norm {float(norms[b, j]):.6g} at layer {chosen[j]}; "
                               "each row must be unit norm (tolerance 1e-4) or zero")
    ref = NORM_REFERENCES[norm_reference](loaded, chosen, prompt_ids=prompt_ids, dataset_norms=dataset_norms)
    ref = ref.to(torch.float64).expand(len(values), len(chosen))
    scale = torch.tensor(values, dtype=torch.float64)[:, None] * ref  # [rows, k]
    additions = {layer: (sel[:, j, :] * scale[:, j:j + 1]).float() for j, layer in enumerate(chosen)}
    steering = Steering(additions=additions)
    check_steering(steering, loaded.n_layers, loaded.d_model, len(values), model_name=name)
    return steering


def steering_rows(steering: Steering, rows: Sequence[int]) -> Steering:
    """The steering of the prompts at indices ``rows`` (per-row additions [len(rows), d]; a shared
    [d] addition is kept as it is)."""
    index = torch.as_tensor(list(rows), dtype=torch.long)
    return Steering(additions={l: (v[index] if v.ndim == 2 else v) for l, v in steering.additions.items()})
