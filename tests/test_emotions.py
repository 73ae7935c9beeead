"""emotions.py: the emotion sets, the opposite pairs, and reading an upstream emotion list."""

from __future__ import annotations

from pathlib import Path

import pytest

from emovec.corpora.emotion_sets import emotion_set, read_emotion_list
from emovec.emotions import EMOTION_SET_FILES, EMOTION_SETS, JEONG_20, OPPOSITE_PAIRS, check_emotion_set_name
from emovec.errors import EmovecInputError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_jeong20_has_20_distinct_emotions_and_the_pairs_are_among_them():
    assert len(JEONG_20) == 20 == len(set(JEONG_20))
    assert emotion_set("jeong20") == JEONG_20
    assert all(a in JEONG_20 and b in JEONG_20 for a, b in OPPOSITE_PAIRS)


def test_unknown_set_names_the_known_ones():
    with pytest.raises(EmovecInputError, match=r"unknown emotion set 'jeong21'; known sets: \['jeong20', 'anthropic171'\]"):
        check_emotion_set_name("jeong21")
    assert set(EMOTION_SETS).isdisjoint(EMOTION_SET_FILES)


def test_file_backed_set_needs_the_materialised_file(tmp_path: Path):
    with pytest.raises(EmovecInputError, match="emotion set 'anthropic171' reads .* which is missing: run `make data`"):
        emotion_set("anthropic171", data_dir=tmp_path)


def test_file_backed_set_must_match_the_pinned_sha256(tmp_path: Path):
    write(tmp_path / EMOTION_SET_FILES["anthropic171"], "happy\nsad\n")
    with pytest.raises(EmovecInputError, match="sha256 does not match conf/data/upstream.yaml"):
        emotion_set("anthropic171", data_dir=tmp_path)


def test_emotion_list(tmp_path: Path) -> None:
    assert read_emotion_list(write(tmp_path / "e.txt", "happy\n\n worn out \ngrief-stricken")) == (
        "happy", "worn out", "grief-stricken")
    with pytest.raises(EmovecInputError, match=r"line 3: duplicate emotion 'happy' \(first at line 1\)"):
        read_emotion_list(write(tmp_path / "e.txt", "happy\nsad\nhappy"))
    with pytest.raises(EmovecInputError, match=r"line 2: emotion 'Sad' is not lowercase"):
        read_emotion_list(write(tmp_path / "e.txt", "happy\nSad"))
    with pytest.raises(EmovecInputError, match=r"line 1: emotion 'worn  out' must be lowercase letters"):
        read_emotion_list(write(tmp_path / "e.txt", "worn  out"))
    with pytest.raises(EmovecInputError, match=r"line 1: emotion 'happy,sad'"):
        read_emotion_list(write(tmp_path / "e.txt", "happy,sad"))
    with pytest.raises(EmovecInputError, match="no emotions"):
        read_emotion_list(write(tmp_path / "e.txt", "\n"))
    with pytest.raises(EmovecInputError, match="stimulus file .* does not exist"):
        read_emotion_list(tmp_path / "absent.txt")
