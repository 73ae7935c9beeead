"""The steering experiment: which generations to run, with which direction, and how each is
read back through the model (target projection, perplexity of the generated tokens).

The grid, per scenario (prompt, target emotion, signed protocol strength) and sample:
- ``unsteered``: the prompt alone, the reference every delta is taken against;
- ``induction``: the prompt-level control ("respond as someone who feels X"), no steering;
- ``emotion``: the unit emotion vector at signed strength ``direction * magnitude`` for each
  magnitude of the sweep and the scenario's own protocol strength;
- ``random``: ``n_random`` random unit directions (Gaussian, normalised per layer; one direction
  per index, the same at every strength) at the same strengths and norm reference, so the
  addition has exactly the emotion vector's norm: the null for "the emotion vector did it".
All rows of a model go through one seeded, batched generation (steering per row, zero for the
controls), so controls and steered rows share every decoding choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from emovec.corpora.scenarios import Scenario, induction_prompt
from emovec.errors import EmovecInputError
from emovec.generate import left_pad
from emovec.models.blocks import steering_modules
from emovec.steering.additions import steering_rows
from emovec.steering.hooks import Steering, steer

CONDITIONS = ("unsteered", "induction", "emotion", "random")


@dataclass(frozen=True)
class PlannedRow:
    """One generation of the grid. ``strength`` is signed (0 for unsteered and induction)."""

    id: str
    scenario: Scenario
    condition: str
    strength: float
    is_protocol: bool
    random_index: int | None
    sample: int
    prompt: str

    @property
    def magnitude(self) -> float:
        return abs(self.strength)


def plan_rows(scenarios: Sequence[Scenario], strengths: Sequence[float], n_random: int, n_samples: int,
              induction_template: str, induction_template_negative: str) -> list[PlannedRow]:
    """Every generation of the experiment, grouped by scenario (so a batch shares a prompt length)."""
    rows: list[PlannedRow] = []
    for sc in scenarios:
        magnitudes = sorted(set(float(s) for s in strengths) | {abs(sc.strength)})
        induced = induction_prompt(sc, induction_template, induction_template_negative)
        for sample in range(n_samples):
            def add(condition: str, strength: float, protocol: bool, r: int | None, prompt: str) -> None:
                rid = f"{sc.name}/{condition}/{strength:+g}" + (f"/r{r}" if r is not None else "") + f"/s{sample}"
                rows.append(PlannedRow(rid, sc, condition, strength, protocol, r, sample, prompt))

            add("unsteered", 0.0, False, None, sc.prompt)
            add("induction", 0.0, False, None, induced)
            for m in magnitudes:
                protocol = m == abs(sc.strength)
                add("emotion", sc.direction * m, protocol, None, sc.prompt)
                for r in range(n_random):
                    add("random", sc.direction * m, protocol, r, sc.prompt)
    return rows


def unit_per_layer(vectors: np.ndarray, what: str) -> np.ndarray:
    """[n_layers, d] -> each layer scaled to unit L2 norm (Jeong: "the emotion vector is normalized")."""
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    if not np.isfinite(v).all() or (norms == 0).any():
        bad = [int(i) for i in np.flatnonzero((norms[:, 0] == 0) | ~np.isfinite(v).all(axis=-1))]
        raise EmovecInputError(f"{what}: zero or non-finite vector at layer(s) {bad}; it cannot be normalised")
    return v / norms


def random_unit_directions(n_layers: int, d_model: int, seed: int, scenario_index: int, n_random: int) -> np.ndarray:
    """[n_random, n_layers, d_model]: Gaussian directions, unit norm per layer, from a generator
    seeded by (seed, scenario, direction index), so adding a scenario never changes another's."""
    out = np.empty((n_random, n_layers, d_model))
    for r in range(n_random):
        g = np.random.default_rng([seed, scenario_index, r])
        out[r] = unit_per_layer(g.standard_normal((n_layers, d_model)), "random direction")
    return out


def row_directions(rows: Sequence[PlannedRow], emotion_units: dict[str, np.ndarray],
                   random_units: dict[int, np.ndarray], n_layers: int, d_model: int) -> np.ndarray:
    """[rows, n_layers, d_model]: the unit direction each row adds (zeros for the controls)."""
    dirs = np.zeros((len(rows), n_layers, d_model))
    for i, row in enumerate(rows):
        if row.condition == "emotion":
            dirs[i] = emotion_units[row.scenario.emotion]
        elif row.condition == "random":
            dirs[i] = random_units[row.scenario.index][row.random_index]
    return dirs


def score_generations(loaded: Any, prompt_ids: Sequence[Sequence[int]], gen_ids: Sequence[Sequence[int]], *,
                      batch_size: int, steering: Steering | None = None, layer: int | None = None,
                      unit_vector: np.ndarray | None = None, with_nll: bool = True,
                      progress: Callable[[int], None] | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Teacher-forced read of prompt + generation, batched and left-padded.

    Returns (NLL per generated token, natural log, one array [n_gen] per row; projection per row):
    the NLL of generated token k is read from the logits at the position before it, so prompt
    tokens are context only. The projection is the mean over the generated tokens' positions of
    <block ``layer`` output, unit_vector> (NaN for an empty generation; None layer: all NaN).
    With ``steering`` (per-row additions [rows, d]) the read happens inside the steered model, as
    during generation; without it, under the unsteered model. ``with_nll=False`` skips the
    vocabulary-wide log-softmax (the NLL arrays are then empty) when only projections are wanted."""
    n = len(prompt_ids)
    if len(gen_ids) != n:
        raise EmovecInputError(f"{n} prompts but {len(gen_ids)} generations")
    pad_id = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else loaded.tokenizer.eos_token_id
    hf = loaded.hf_model
    u = torch.as_tensor(np.asarray(unit_vector, dtype=np.float64)) if unit_vector is not None else None
    nlls: list[np.ndarray] = []
    proj = np.full(n, np.nan)
    block = steering_modules(hf)[layer] if layer is not None else None
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        seqs = [list(prompt_ids[i]) + list(gen_ids[i]) for i in range(start, stop)]
        ids, mask = left_pad(seqs, pad_id)
        width = ids.shape[1]
        got: dict[str, torch.Tensor] = {}

        def record(module: Any, args: Any, output: Any) -> None:
            got["h"] = (output[0] if isinstance(output, tuple) else output).detach()

        handle = block.register_forward_hook(record) if block is not None else None
        context = steer(loaded, steering_rows(steering, range(start, stop))) if steering is not None else nullcontext()
        try:
            with torch.no_grad(), context:
                out = hf(input_ids=ids.to(hf.device), attention_mask=mask.to(hf.device),
                         position_ids=((mask.cumsum(dim=1) - 1).clamp(min=0)).to(hf.device), use_cache=False)
        finally:
            if handle is not None:
                handle.remove()
        logp = torch.log_softmax(out.logits.float(), dim=-1).cpu() if with_nll else None
        for b, i in enumerate(range(start, stop)):
            g_len = len(gen_ids[i])
            first = width - g_len  # column of the first generated token
            if g_len == 0 or logp is None:
                nlls.append(np.zeros(0))
                if g_len == 0:
                    continue
            else:
                cols = torch.arange(first - 1, width - 1)
                targets = torch.as_tensor(list(gen_ids[i]), dtype=torch.long)
                nlls.append((-logp[b, cols, targets]).double().numpy())
            if u is not None and "h" in got:
                h = got["h"][b, first:width].double().cpu()
                proj[i] = float((h @ u).mean())
        if progress is not None:
            progress(stop - start)
    return nlls, proj


def token_pieces(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """The generated text split at token boundaries, with a character that spans several byte-level
    tokens kept whole (tokens are merged until they decode without U+FFFD), so a leaked CJK
    character is listed as itself rather than as broken bytes."""
    pieces: list[str] = []
    pending: list[int] = []
    for t in ids:
        pending.append(int(t))
        text = tokenizer.decode(pending, skip_special_tokens=True)
        if "\ufffd" in text and len(pending) < 4:
            continue
        if text:
            pieces.append(text)
        pending = []
    if pending:
        text = tokenizer.decode(pending, skip_special_tokens=True)
        if text:
            pieces.append(text)
    return pieces
