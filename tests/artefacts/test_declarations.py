"""emovec.artefacts.declarations: the one CSV writer gives pandas' bytes, refuses rows that do not match the
declaration (writing nothing), and every declared artefact reads back through the paper's
checked reader with the types it declares. The JSON writer and reader refuse a record whose keys
are not exactly the declared ones."""

from __future__ import annotations

import dataclasses
import io
import math

import numpy as np
import pandas as pd
import pytest

from emovec.artefacts.declarations import (
    CSV_ARTEFACTS,
    JSON_ARTEFACTS,
    RESAMPLING_RECORD,
    STEERING_MEASURES,
    Column,
    CsvArtefact,
    JsonArtefact,
    JsonKey,
    csv_text,
    write_csv,
    write_json,
)
from emovec.errors import EmovecInputError
from emovec.readers.checked import read_checked_csv, read_json_artefact

COLUMNS = ("layer", "mean_cosine", "floor", "anisotropy", "baseline", "normalised", "removed_k", "big", "tiny",
           "name", "f32", "i64")
ROWS = [
    {"layer": 0, "mean_cosine": 0.123456789, "floor": -1 / 19, "anisotropy": math.nan, "baseline": "neutral_mean",
     "normalised": True, "removed_k": None, "big": 1234567.0, "tiny": 1.5e-9, "name": "a, b \"quoted\"",
     "f32": np.float32(0.1), "i64": np.int64(7)},
    {"layer": 1, "mean_cosine": -0.5, "floor": -1 / 19, "anisotropy": 0.25, "baseline": "neutral_mean",
     "normalised": np.bool_(False), "removed_k": 3, "big": math.inf, "tiny": 0.0, "name": "plain\nline",
     "f32": np.float32(-2.5), "i64": np.int64(-1)},
]


def _pandas(rows, float_format: str | None) -> str:
    return pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(index=False, float_format=float_format,
                                                            lineterminator="\n")


def test_six_significant_digits_equal_pandas_to_csv_bytes():
    assert csv_text(ROWS, COLUMNS, ".6g") == _pandas(ROWS, "%.6g")


def test_repr_format_reads_back_bit_for_bit():
    text = csv_text(ROWS, COLUMNS, "repr")
    back = pd.read_csv(io.StringIO(text))
    assert back["mean_cosine"].tolist() == [0.123456789, -0.5]
    assert back["floor"].tolist() == [-1 / 19, -1 / 19]
    assert back["f32"].tolist() == [float(np.float32(0.1)), -2.5]
    assert math.isnan(back["anisotropy"][0]) and back["big"][1] == math.inf
    assert back["i64"].tolist() == [7, -1] and back["normalised"].tolist() == [True, False]
    assert back["name"].tolist() == ["a, b \"quoted\"", "plain\nline"]


def test_none_and_nan_are_empty_cells_inf_is_written():
    text = csv_text([{"a": None, "b": math.nan, "c": -math.inf}], ("a", "b", "c"), "repr")
    assert text == "a,b,c\n,,-inf\n"


@pytest.mark.parametrize("row,message", [
    ({"a": 1}, r"out.csv \(t\): row 1 does not match the declared columns \(missing \['b'\], undeclared \[\]\)"),
    ({"a": 1, "b": 2, "c": 3}, r"row 1 does not match the declared columns \(missing \[\], undeclared \['c'\]\)"),
])
def test_a_row_that_does_not_match_the_declaration_writes_nothing(tmp_path, row, message):
    art = CsvArtefact(name="t", path="out.csv", row="test", columns=(Column("a", "int"), Column("b", "int")))
    path = tmp_path / "out.csv"
    with pytest.raises(EmovecInputError, match=message):
        write_csv(path, art, [{"a": 0, "b": 0}, row])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("art", CSV_ARTEFACTS, ids=lambda a: a.name)
def test_every_artefact_is_consistent_and_reads_back_with_its_declared_types(tmp_path, art: CsvArtefact):
    names = art.names
    assert len(set(names)) == len(names)
    assert set(art.integer) <= set(art.numeric) <= set(names) and art.nullable <= set(names)
    assert all(c.kind in ("str", "int", "float", "bool", "json") for c in art.columns)
    sample = {"str": "x", "int": 3, "float": 0.1 + 0.2, "bool": True, "json": "[]"}
    full = {c.name: sample[c.kind] for c in art.columns}
    empty = {c.name: (None if c.nullable else sample[c.kind]) for c in art.columns}
    path = tmp_path / "a.csv"
    write_csv(path, art, [full, empty])
    df = read_checked_csv(path, art.names, art.numeric, art.integer, art.nullable)
    assert tuple(df.columns) == names
    for c in art.columns:
        if c.kind == "int" and not c.nullable:
            assert df[c.name].tolist() == [3, 3]
        if c.kind == "float":
            first = df[c.name].iloc[0]
            assert first == 0.1 + 0.2 if art.float_format == "repr" else math.isclose(first, 0.3, rel_tol=1e-6)
        if c.nullable and c.kind in ("int", "float"):
            assert math.isnan(df[c.name].iloc[1])


def test_the_steer_stage_columns_are_the_declared_ones():
    from emovec.steering import study

    row = {c: None for c in STEERING_MEASURES.names}
    assert study.measures_csv([row]).splitlines()[0] == ",".join(STEERING_MEASURES.names)


# ---- JSON artefacts ----------------------------------------------------------------------------

JSON_ART = JsonArtefact(name="t", path="out.json", keys=(JsonKey("a", "x"), JsonKey("b", "y")), indent=1)


@pytest.mark.parametrize("record,message", [
    ({"a": 1}, r"out.json \(t\): the keys do not match the t declaration .*missing \['b'\], undeclared \[\]"),
    ({"a": 1, "b": 2, "c": 3}, r"missing \[\], undeclared \['c'\]"),
])
def test_a_json_record_that_does_not_match_the_declaration_writes_nothing(tmp_path, record, message):
    with pytest.raises(EmovecInputError, match=message):
        write_json(tmp_path / "out.json", JSON_ART, record)
    assert list(tmp_path.iterdir()) == []


def test_json_text_is_sorted_indented_and_reads_back_exactly(tmp_path):
    write_json(tmp_path / "out.json", JSON_ART, {"b": [1, "é"], "a": None})
    assert (tmp_path / "out.json").read_text(encoding="utf-8") == '{\n "a": null,\n "b": [\n  1,\n  "\\u00e9"\n ]\n}\n'
    assert read_json_artefact(tmp_path / "out.json", JSON_ART) == {"a": None, "b": [1, "é"]}


@pytest.mark.parametrize("text,message", [
    ('{"a": 1}', r"out.json: the keys do not match .*missing \['b'\]"),
    ('{"a": 1, "b": 2, "old": 3}', r"undeclared \['old'\]"),
    ('[1, 2]', r"out.json: expected a JSON object at the top level"),
    ('{"a": ', r"out.json: not valid JSON"),
])
def test_the_reader_refuses_a_record_the_declaration_does_not_describe(tmp_path, text, message):
    (tmp_path / "out.json").write_text(text, encoding="utf-8")
    with pytest.raises(EmovecInputError, match=message):
        read_json_artefact(tmp_path / "out.json", JSON_ART)
    with pytest.raises(EmovecInputError, match=r"absent.json is missing: run the stage that writes it"):
        read_json_artefact(tmp_path / "absent.json", JSON_ART)


@pytest.mark.parametrize("art", JSON_ARTEFACTS, ids=lambda a: a.name)
def test_every_json_artefact_declares_each_key_once_with_what_it_holds(art: JsonArtefact):
    assert len(set(art.names)) == len(art.names) and all(k.about for k in art.keys)


def test_the_resampling_record_is_the_resampling_dataclass_plus_pooling():
    from emovec.geometry.resampling import CellResampling

    assert set(RESAMPLING_RECORD.names) == {f.name for f in dataclasses.fields(CellResampling)} | {"pooling"}
