"""Atomic writers (emovec.io): the pandas-free CSV writer gives pandas' bytes; a crash leaves nothing."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from emovec.io import atomic_path, write_csv_rows_atomic

ROWS = [
    {"layer": 0, "mean_cosine": 0.123456789, "floor": -1 / 19, "anisotropy": math.nan, "baseline": "neutral_mean",
     "normalised": True, "removed_k": None, "big": 1234567.0, "tiny": 1.5e-9, "name": "a, b \"quoted\""},
    {"layer": 1, "mean_cosine": -0.5, "floor": -1 / 19, "anisotropy": 0.25, "baseline": "neutral_mean",
     "normalised": False, "removed_k": None, "big": math.inf, "tiny": 0.0, "name": "plain", "late": 7},
]


def test_csv_bytes_equal_pandas_to_csv(tmp_path):
    path = tmp_path / "out.csv"
    write_csv_rows_atomic(path, ROWS, float_format=".6g")
    buf = pd.DataFrame(ROWS).to_csv(index=False, float_format="%.6g", lineterminator="\n")
    assert path.read_text(encoding="utf-8") == buf
    # and it reads back: columns in first-appearance order, the late key empty in row 0
    back = pd.read_csv(path)
    assert list(back.columns) == list(dict.fromkeys(k for r in ROWS for k in r))
    assert math.isnan(back.loc[0, "late"]) and back.loc[1, "late"] == 7


def test_atomic_path_leaves_the_old_file_on_error(tmp_path):
    path = tmp_path / "kept.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]
