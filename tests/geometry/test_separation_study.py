"""emovec.geometry.separation_study: each stage reads only its own slice's settings, and a slice
missing one is refused naming the file and the key, before any output is written (the
end-to-end writing of both stages is checked by test_sweep.py and test_pipeline_e2e.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emovec.errors import EmovecInputError
from emovec.geometry.separation_study import run_resampling, run_separation

SLICE = ("emotion_set: jeong20\nlayer: 3\npooling: last_token\n"
         "vectors: {baseline: neutral_mean, layer: middle, normalise: true, variance_threshold: 0.5}\n")


@pytest.mark.parametrize("run,settings,missing", [
    (run_separation, "separation: {seed: 0}\n", "separation.n_permutations"),
    (run_separation, "separation: {n_permutations: 5}\n", "separation.seed"),
    (run_resampling, "separation: {seed: 0, n_permutations: 5}\n", "separation.n_boot"),
    (run_resampling, "separation: {n_boot: 5}\n", "separation.seed"),
])
def test_a_slice_missing_its_setting_is_refused_by_name_and_nothing_is_written(tmp_path: Path, run, settings: str,
                                                                              missing: str) -> None:
    cfg = tmp_path / "slice.yaml"
    cfg.write_text(SLICE + settings)
    out = tmp_path / "out"
    with pytest.raises(EmovecInputError, match=rf"slice\.yaml: missing key '{missing}'"):
        run(cfg, tmp_path / "no-activations", out)
    assert not out.exists()
