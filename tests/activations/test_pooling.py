"""Known-answer tests for the token-pooling policies (emovec.activations.pooling): pure torch, exact."""

from __future__ import annotations

import pytest
import torch

from emovec.activations.pooling import POOLINGS, PoolingInputs, pooling_weights, real_token_rank
from emovec.errors import EmovecInputError


def _mask(lengths: list[int], width: int, side: str) -> torch.Tensor:
    m = torch.zeros((len(lengths), width), dtype=torch.long)
    for row, n in enumerate(lengths):
        if side == "right":
            m[row, :n] = 1
        else:
            m[row, width - n:] = 1
    return m


def _weights(name: str, mask: torch.Tensor, gen_start: list[int] | None = None, mean_offset: int = 0) -> torch.Tensor:
    gs = torch.tensor(gen_start if gen_start is not None else [-1] * mask.shape[0], dtype=torch.long)
    return pooling_weights(name, PoolingInputs(mask=mask, gen_start=gs, mean_offset=mean_offset))


def _one_hot_rows(width: int, cols: list[int | None]) -> torch.Tensor:
    w = torch.zeros((len(cols), width))
    for row, c in enumerate(cols):
        if c is not None:
            w[row, c] = 1.0
    return w


def _real_part(w: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
    """Each row's weights on its real tokens only, in order (so left/right padding can be compared)."""
    return [w[r][mask[r].bool()] for r in range(w.shape[0])]


# --- real_token_rank ---------------------------------------------------------------------------

def test_real_token_rank_right_padding():
    mask = _mask([3, 5, 1], 5, "right")
    assert real_token_rank(mask).tolist() == [
        [0, 1, 2, -1, -1],
        [0, 1, 2, 3, 4],
        [0, -1, -1, -1, -1],
    ]


def test_real_token_rank_left_padding():
    mask = _mask([3, 5, 1], 5, "left")
    assert real_token_rank(mask).tolist() == [
        [-1, -1, 0, 1, 2],
        [0, 1, 2, 3, 4],
        [-1, -1, -1, -1, 0],
    ]


# --- last_token ----------------------------------------------------------------------------------

def test_last_token_right_padding():
    mask = _mask([3, 5, 1], 5, "right")
    w = _weights("last_token", mask)
    assert torch.equal(w, _one_hot_rows(5, [2, 4, 0]))


def test_last_token_left_padding():
    mask = _mask([3, 5, 1], 5, "left")
    w = _weights("last_token", mask)
    assert torch.equal(w, _one_hot_rows(5, [4, 4, 4]))


# --- mid_generation ------------------------------------------------------------------------------

def test_mid_generation_long_generation_pools_middle_of_generation():
    # 4 prompt tokens + 12 generated (gen_len 12 > 10): rank 4 + 12 // 2 = 10.
    # 3 prompt tokens + 15 generated: rank 3 + 15 // 2 = 10.
    mask = _mask([16, 18], 20, "right")
    w = _weights("mid_generation", mask, gen_start=[4, 3])
    assert torch.equal(w, _one_hot_rows(20, [10, 10]))


def test_mid_generation_short_generation_falls_back_to_last_prompt_token():
    # Jeong's fallback: a generation of <= 10 tokens pools the last prompt token (rank prompt_len - 1).
    # Row 0: 5 prompt + 10 generated (exactly 10: fallback) -> rank 4.
    # Row 1: 5 prompt + 11 generated (> 10: middle) -> rank 5 + 5 = 10.
    # Row 2: 2 prompt + 1 generated -> rank 1.
    mask = _mask([15, 16, 3], 16, "right")
    w = _weights("mid_generation", mask, gen_start=[5, 5, 2])
    assert torch.equal(w, _one_hot_rows(16, [4, 10, 1]))


def test_mid_generation_left_padding_counts_real_tokens():
    mask = _mask([15, 16, 3], 16, "left")
    w = _weights("mid_generation", mask, gen_start=[5, 5, 2])
    # left offsets: 1, 0, 13
    assert torch.equal(w, _one_hot_rows(16, [1 + 4, 0 + 10, 13 + 1]))


def test_mid_generation_without_generated_part_is_all_zero():
    mask = _mask([6, 16], 16, "right")
    w = _weights("mid_generation", mask, gen_start=[-1, 4])
    assert torch.equal(w[0], torch.zeros(16))
    assert torch.equal(w[1], _one_hot_rows(16, [4 + 6])[0])


def test_mid_generation_empty_prompt_short_generation_never_selects_padding():
    # No prompt token (gen_start 0) and a short generation: the fallback rank is -1, which is also
    # the rank of padding; the row must select nothing (-> NaN downstream), not the pad columns.
    for side in ("left", "right"):
        mask = _mask([3, 5], 5, side)
        w = _weights("mid_generation", mask, gen_start=[0, 0])
        assert torch.equal(w, torch.zeros(2, 5)), side


# --- mean_from_offset ----------------------------------------------------------------------------

def test_mean_from_offset_right_padding():
    mask = _mask([5, 3], 6, "right")
    w = _weights("mean_from_offset", mask, mean_offset=2)
    expected = torch.tensor([
        [0, 0, 1 / 3, 1 / 3, 1 / 3, 0],
        [0, 0, 1, 0, 0, 0],
    ], dtype=torch.float32)
    assert torch.equal(w, expected)
    assert torch.equal(w.sum(dim=1), torch.ones(2))


def test_mean_from_offset_left_padding():
    mask = _mask([5, 3], 6, "left")
    w = _weights("mean_from_offset", mask, mean_offset=2)
    expected = torch.tensor([
        [0, 0, 0, 1 / 3, 1 / 3, 1 / 3],
        [0, 0, 0, 0, 0, 1],
    ], dtype=torch.float32)
    assert torch.equal(w, expected)


def test_mean_from_offset_zero_offset_is_plain_mean_over_real_tokens():
    mask = _mask([4, 2], 4, "left")
    w = _weights("mean_from_offset", mask, mean_offset=0)
    assert torch.equal(w, torch.tensor([[0.25] * 4, [0, 0, 0.5, 0.5]]))


def test_mean_from_offset_too_short_rows_are_zero():
    # Real tokens have ranks 0..n-1, so a row needs n > offset to have any token at rank >= offset.
    for side in ("left", "right"):
        mask = _mask([2, 3, 4], 5, side)
        w = _weights("mean_from_offset", mask, mean_offset=3)
        assert torch.equal(w[0], torch.zeros(5)), side
        assert torch.equal(w[1], torch.zeros(5)), side  # n_real == offset: still nothing
        assert torch.equal(w[2].sum(), torch.tensor(1.0)), side
        col = 3 if side == "right" else 4
        assert torch.equal(w[2], _one_hot_rows(5, [col])[0]), side


# --- padding invariance --------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(POOLINGS))
def test_weights_identical_under_left_and_right_padding(name):
    lengths = [1, 3, 7, 12, 17, 20, 25, 25]
    gen_start = [-1, 1, 3, 2, 5, 9, -1, 10]
    width = 27
    right = _mask(lengths, width, "right")
    left = _mask(lengths, width, "left")
    w_r = _weights(name, right, gen_start=gen_start, mean_offset=4)
    w_l = _weights(name, left, gen_start=gen_start, mean_offset=4)
    for a, b, n in zip(_real_part(w_r, right), _real_part(w_l, left), lengths):
        assert a.shape == (n,)
        assert torch.equal(a, b)
    # padding never gets weight
    assert torch.equal(w_r[right == 0], torch.zeros(int((right == 0).sum())))
    assert torch.equal(w_l[left == 0], torch.zeros(int((left == 0).sum())))


@pytest.mark.parametrize("name", sorted(POOLINGS))
def test_rows_sum_to_one_or_zero(name):
    lengths = [1, 3, 7, 12, 17, 20]
    mask = _mask(lengths, 20, "right")
    w = _weights(name, mask, gen_start=[-1, 1, 3, 2, 5, -1], mean_offset=4)
    sums = w.sum(dim=1)
    assert all(s.item() == pytest.approx(1.0) or s.item() == 0.0 for s in sums)


# --- registry ------------------------------------------------------------------------------------

def test_registry_has_the_three_policies():
    assert {"last_token", "mid_generation", "mean_from_offset"} <= set(POOLINGS)


def test_unknown_pooling_raises_naming_it():
    mask = _mask([3], 3, "right")
    with pytest.raises(EmovecInputError, match="no_such_pooling"):
        _weights("no_such_pooling", mask)
