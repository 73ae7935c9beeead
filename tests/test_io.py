"""Atomic writers (emovec.io): a crash leaves nothing half-written. (The CSV writer: test_artefacts.)"""

from __future__ import annotations

import json

import pytest

from emovec.io import atomic_path, read_jsonl, write_json_atomic, write_jsonl_atomic


def test_atomic_path_leaves_the_old_file_on_error(tmp_path):
    path = tmp_path / "kept.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


def test_json_is_sorted_and_jsonl_round_trips(tmp_path):
    write_json_atomic(tmp_path / "a.json", {"b": 1, "a": [1.5, None]})
    assert (tmp_path / "a.json").read_text() == json.dumps({"a": [1.5, None], "b": 1}, indent=2) + "\n"
    rows = [{"z": "é", "a": 0.1}, {"a": 2}]
    write_jsonl_atomic(tmp_path / "r.jsonl", rows)
    assert read_jsonl(tmp_path / "r.jsonl") == rows
    assert (tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()[0] == '{"a": 0.1, "z": "é"}'
