"""Building steering additions (emovec.steering.additions) on the tiny GPT-2: unit vector x
strength x norm reference per layer, row selection and refused inputs. The mixed-batch
build_row_steering: test_steering_experiment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from emovec.errors import EmovecInputError
from emovec.models.loading import load_model
from emovec.steering.additions import build_steering, steering_rows
from emovec.steering.hooks import Steering
from emovec.steering.norm_reference import NORM_REFERENCES

from helpers.tiny_steering import D, tiny_model_spec, unit


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    return load_model(tiny_model_spec(tiny_model_dir))


def test_dataset_mean_norm_and_strength_scale(tiny):
    units = unit(5)
    norms = np.array([2.0, 3.0, 5.0])
    s = build_steering(tiny, units, [0, 2], 0.5, "dataset_mean_norm", dataset_norms=norms)
    assert sorted(s.additions) == [0, 2]
    for l in (0, 2):
        assert s.additions[l].shape == (D,)
        torch.testing.assert_close(s.additions[l], torch.tensor(units[l] * 0.5 * norms[l], dtype=torch.float32))
    zero = build_steering(tiny, torch.tensor(units), "all", 0, "dataset_mean_norm", dataset_norms=norms)
    assert all(bool((v == 0).all()) for v in zero.additions.values())


def test_steering_rows_selects_rows_and_keeps_a_shared_vector():
    per_row = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    shared = torch.ones(3)
    got = steering_rows(Steering(additions={0: per_row, 1: shared}), [3, 1])
    torch.testing.assert_close(got.additions[0], per_row[[3, 1]])
    assert got.additions[1] is shared


# ---------------------------------------------------------------- bad input


def test_width_mismatch_names_both_widths(tiny):
    with pytest.raises(EmovecInputError, match="vector has width 31 but model 'tiny' has d_model 32"):
        build_steering(tiny, unit(0, d=31), "all", 1.0, "dataset_mean_norm", dataset_norms=np.ones(3))


@pytest.mark.parametrize("strength", ["0.01", True, None, float("nan")])
def test_strength_must_be_a_number(tiny, strength):
    with pytest.raises(EmovecInputError, match="strength must be a"):
        build_steering(tiny, unit(0), "all", strength, "dataset_mean_norm", dataset_norms=np.ones(3))


def test_layer_out_of_range(tiny):
    with pytest.raises(EmovecInputError, match="layer 7 is out of range.*3 layers"):
        build_steering(tiny, unit(0), [7], 1.0, "dataset_mean_norm", dataset_norms=np.ones(3))
    with pytest.raises(EmovecInputError, match="layers must be 'all'"):
        build_steering(tiny, unit(0), "some", 1.0, "dataset_mean_norm", dataset_norms=np.ones(3))


def test_non_unit_and_misshapen_vectors(tiny):
    with pytest.raises(EmovecInputError, match=r"not unit norm.*\(1, 2\.0"):
        build_steering(tiny, unit(0) * np.array([[1.0], [2.0], [1.0]]), "all", 1.0, "dataset_mean_norm",
                       dataset_norms=np.ones(3))
    with pytest.raises(EmovecInputError, match=r"shape \[n_layers=3"):
        build_steering(tiny, unit(0, n=2), "all", 1.0, "dataset_mean_norm", dataset_norms=np.ones(3))


def test_unknown_norm_reference_lists_known(tiny):
    with pytest.raises(EmovecInputError) as exc:
        build_steering(tiny, unit(0), "all", 1.0, "max_norm")
    assert "'max_norm'" in str(exc.value)
    for name in NORM_REFERENCES:
        assert name in str(exc.value)
