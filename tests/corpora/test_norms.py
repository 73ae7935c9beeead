"""Valence/arousal norms: the toy table, rescaling, the upstream readers (known answers on the
mirror, materialised through the manifest), fallbacks, and every bad-input path."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from emovec.corpora.norm_resolution import RESOLVED_COLUMNS, resolve_norms
from emovec.corpora.norms import NORM_SOURCES, SCALE_CAPTION, get_norm_source, read_norms, rescale, scale_label
from emovec.emotions import JEONG_20
from emovec.errors import EmovecInputError
from emovec.paths import PACKAGE_DIR
from emovec.toy.corpus import TOY_AFFECT

from conftest import materialised

TOY_SOURCE_TEXT = ("emovec toy generator coordinates (project-authored; the affect the synthetic stories "
                   "were written from, not human ratings)")

WARRINER = "norms/warriner2013.csv"
ALL_SOURCES = "norms/valence_arousal_171_all_sources.csv"
NRC_EXPERIMENT = "emotion_experiment/emotion_valence_arousal_nrc.csv"
EMOTIONS_TXT = "emotion_experiment/prompts/emotions.txt"


def raw_rows(path: Path, key: str) -> dict[str, dict[str, str]]:
    """The file's rows by ``key`` column, read independently of the code under test."""
    with open(path, encoding="utf-8", newline="") as fh:
        return {r[key]: r for r in csv.DictReader(fh)}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ toy table and scale


def test_toy_csv_equals_toy_affect() -> None:
    with open(PACKAGE_DIR / "stimuli" / "toy_norms.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["emotion"] for r in rows] == list(JEONG_20) == list(TOY_AFFECT)
    for r in rows:
        assert (float(r["valence"]), float(r["arousal"])) == TOY_AFFECT[r["emotion"]]
        assert r["scale"] == "[-1,1]"
        assert r["source"] == TOY_SOURCE_TEXT
    table = read_norms("toy", data_root=Path("unused"))
    assert {w: (v, a) for w, v, a in zip(table.index, table.valence_raw, table.arousal_raw)} == TOY_AFFECT


def test_resolve_toy_is_identity(tmp_path: Path) -> None:
    out = resolve_norms(JEONG_20, "toy", fallback=None, on_missing="error", data_root=tmp_path)
    assert tuple(out.columns) == RESOLVED_COLUMNS
    assert list(out.emotion) == list(JEONG_20)
    assert set(out.status) == {"found"} and set(out.norm) == {"toy"} and set(out.raw_scale) == {"[-1,1]"}
    assert [(v, a) for v, a in zip(out.valence, out.arousal)] == [TOY_AFFECT[e] for e in JEONG_20]
    assert set(out.note) == {TOY_SOURCE_TEXT}


def test_rescale_and_labels() -> None:
    assert rescale(8.47, (1.0, 9.0)) == (8.47 - 5) / 4
    assert rescale(1.0, (1.0, 9.0)) == -1.0 and rescale(9.0, (1.0, 9.0)) == 1.0
    assert rescale(0.948, (0.0, 1.0)) == 2 * 0.948 - 1
    assert rescale(-0.3, (-1.0, 1.0)) == -0.3
    assert (scale_label((1, 9)), scale_label((0, 1)), scale_label((-1, 1))) == ("1-9", "0-1", "[-1,1]")
    caption = SCALE_CAPTION
    assert "[-1, 1]" in caption and "(x-5)/4" in caption and "2x-1" in caption


def test_registry_and_unknown_source(tmp_path: Path) -> None:
    assert {"toy", "nrc_emotion_experiment", "nrc_vad_v1", "warriner2013"} <= set(NORM_SOURCES)
    assert get_norm_source("warriner2013").raw_scale == (1.0, 9.0)
    with pytest.raises(EmovecInputError, match=r"unknown norm source 'warriner'.*warriner2013"):
        resolve_norms(["happy"], "warriner", fallback=None, on_missing="error", data_root=tmp_path)
    with pytest.raises(EmovecInputError, match=r"unknown norm source 'nrc'"):
        resolve_norms(["happy"], "toy", fallback="nrc", on_missing="fallback", data_root=tmp_path)


# ------------------------------------------------------------------------------ upstream known answers


def test_warriner_known_answers(upstream_root: Path, tmp_path: Path) -> None:
    data = materialised(upstream_root, tmp_path, WARRINER)
    table = read_norms("warriner2013", data)
    raw = raw_rows(data / WARRINER, "Word")
    assert len(table) == len(raw) == 13915
    assert "loving" not in table.index and "exasperated" not in table.index
    # pandas' default NA guessing would turn this lemma into NaN.
    assert "null" in table.index
    assert (table.loc["null", "valence_raw"], table.loc["null", "arousal_raw"]) == (
        float(raw["null"]["V.Mean.Sum"]), float(raw["null"]["A.Mean.Sum"])) == (4.32, 3.05)
    # Case pairs are distinct entries; a lowercase lookup only ever sees the lowercase one.
    assert {"president", "President"} <= set(table.index)
    happy = resolve_norms(["happy"], "warriner2013", fallback=None, on_missing="error", data_root=data).iloc[0]
    assert float(raw["happy"]["V.Mean.Sum"]) == 8.47
    assert happy.valence == (8.47 - 5) / 4 and happy.arousal == (float(raw["happy"]["A.Mean.Sum"]) - 5) / 4
    assert (happy.valence_raw, happy.raw_scale, happy.status) == (8.47, "1-9", "found")


def test_jeong20_warriner_with_nrc_v1_fallback(upstream_root: Path, tmp_path: Path) -> None:
    data = materialised(upstream_root, tmp_path, WARRINER, ALL_SOURCES)
    out = resolve_norms(JEONG_20, "warriner2013", fallback="nrc_vad_v1", on_missing="fallback", data_root=data)
    assert list(out.emotion) == list(JEONG_20) and list(out.lemma) == list(JEONG_20)
    fell_back = out[out.status == "fallback"]
    assert list(fell_back.emotion) == ["loving", "exasperated"]
    assert set(out.status) == {"found", "fallback"}
    v1 = raw_rows(data / ALL_SOURCES, "emotion")
    for r in fell_back.itertuples():
        assert r.norm == "nrc_vad_v1" and r.raw_scale == "0-1" and "warriner2013" in r.note
        assert r.valence == 2 * float(v1[r.emotion]["nrc_v1_valence_0_1"]) - 1
        assert r.arousal == 2 * float(v1[r.emotion]["nrc_v1_arousal_0_1"]) - 1
    warriner = raw_rows(data / WARRINER, "Word")
    for r in out[out.status == "found"].itertuples():
        assert r.norm == "warriner2013"
        assert r.valence == (float(warriner[r.emotion]["V.Mean.Sum"]) - 5) / 4
        assert r.arousal == (float(warriner[r.emotion]["A.Mean.Sum"]) - 5) / 4
    assert out[["valence", "arousal"]].abs().max().max() <= 1.0


def test_jeong20_warriner_on_missing_error_and_exclude(upstream_root: Path, tmp_path: Path) -> None:
    data = materialised(upstream_root, tmp_path, WARRINER)
    with pytest.raises(EmovecInputError) as info:
        resolve_norms(JEONG_20, "warriner2013", fallback=None, on_missing="error", data_root=data)
    msg = str(info.value)
    assert "'loving'" in msg and "'exasperated'" in msg and "warriner2013.csv" in msg
    out = resolve_norms(JEONG_20, "warriner2013", fallback=None, on_missing="exclude", data_root=data)
    assert len(out) == 20
    excluded = out[out.status == "excluded"]
    assert list(excluded.emotion) == ["loving", "exasperated"]
    assert excluded[["valence", "arousal", "valence_raw", "arousal_raw"]].isna().all().all()
    assert out[out.status == "found"][["valence", "arousal"]].notna().all().all()


def test_fallback_lacking_the_word_names_both_sources(upstream_root: Path, tmp_path: Path) -> None:
    data = materialised(upstream_root, tmp_path, WARRINER, ALL_SOURCES)
    # "worn out" is in neither Warriner nor NRC-VAD v1 (an empty cell in the merged table).
    assert "worn out" not in read_norms("nrc_vad_v1", data).index
    with pytest.raises(EmovecInputError, match=r"\['worn out'\].*'warriner2013'.*'nrc_vad_v1'"):
        resolve_norms(["happy", "worn out"], "warriner2013", fallback="nrc_vad_v1", on_missing="fallback",
                      data_root=data)
    with pytest.raises(EmovecInputError, match="no fallback source is set"):
        resolve_norms(["worn out"], "warriner2013", fallback=None, on_missing="fallback", data_root=data)


def test_nrc_emotion_experiment_keeps_estimates_visible(upstream_root: Path, tmp_path: Path) -> None:
    from emovec.corpora.emotion_sets import read_emotion_list

    data = materialised(upstream_root, tmp_path, NRC_EXPERIMENT, EMOTIONS_TXT)
    emotions = read_emotion_list(data / EMOTIONS_TXT)
    out = resolve_norms(emotions, "nrc_emotion_experiment", fallback=None, on_missing="error", data_root=data)
    assert len(out) == 171 and set(out.status) == {"found"} and set(out.raw_scale) == {"[-1,1]"}
    estimated = out[out.note.str.startswith("estimate_from_")]
    assert set(estimated.emotion) == {"energized", "grief-stricken", "insulted", "self-confident",
                                      "self-conscious", "self-critical", "stimulated"}
    assert set(out.note) - set(estimated.note) == {"nrc_vad", "nrc_vad_mwe"}
    raw = raw_rows(data / NRC_EXPERIMENT, "emotion")
    assert all(r.valence == float(raw[r.emotion]["valence"]) for r in out.itertuples())


# ------------------------------------------------------------------------------ bad inputs


def nrc_file(root: Path, body: str) -> Path:
    return write(root / NRC_EXPERIMENT, "emotion,valence,arousal,source\n" + body)


def warriner_file(root: Path, body: str, header: str = ",Word,V.Mean.Sum,V.SD.Sum,A.Mean.Sum") -> Path:
    return write(root / WARRINER, header + "\n" + body)


def test_missing_file_says_make_data(tmp_path: Path) -> None:
    with pytest.raises(EmovecInputError, match=r"warriner2013\.csv.*does not exist.*make data"):
        read_norms("warriner2013", tmp_path)


def test_norms_file_lacking_an_emotion(tmp_path: Path) -> None:
    path = nrc_file(tmp_path, "happy,0.9,0.4,nrc_vad\nsad,-0.8,-0.3,nrc_vad\n")
    with pytest.raises(EmovecInputError) as info:
        resolve_norms(["happy", "calm", "sad"], "nrc_emotion_experiment", fallback=None, on_missing="error",
                      data_root=tmp_path)
    assert "['calm']" in str(info.value) and str(path) in str(info.value)


def test_unexpected_scale_warriner_values_in_bipolar_reader(tmp_path: Path) -> None:
    path = nrc_file(tmp_path, "happy,0.9,0.4,nrc_vad\nsad,2.1,3.49,nrc_vad\n")
    with pytest.raises(EmovecInputError) as info:
        read_norms("nrc_emotion_experiment", tmp_path)
    msg = str(info.value)
    assert str(path) in msg and "line 3" in msg and "'valence'" in msg and "2.1" in msg
    assert "unexpected scale" in msg and "[-1,1]" in msg


def test_unexpected_scale_bipolar_values_in_warriner_reader(tmp_path: Path) -> None:
    warriner_file(tmp_path, "1,happy,8.47,1.2,6.05\n2,sad,-0.7,1.1,3.49\n")
    with pytest.raises(EmovecInputError, match=r"line 3, column 'V.Mean.Sum': value -0.7 .*unexpected scale.*1-9"):
        read_norms("warriner2013", tmp_path)


def test_unexpected_scale_in_v1_reader(tmp_path: Path) -> None:
    write(tmp_path / ALL_SOURCES, "emotion,nrc_v1_valence_0_1,nrc_v1_arousal_0_1\nhappy,1.0,0.735\n"
                                  "sad,-0.7,0.4\n")
    with pytest.raises(EmovecInputError, match=r"line 3, column 'nrc_v1_valence_0_1'.*unexpected scale.*0-1"):
        read_norms("nrc_vad_v1", tmp_path)


def test_non_numeric_value(tmp_path: Path) -> None:
    path = warriner_file(tmp_path, "1,happy,8.47,1.2,6.05\n2,sad,2.1,1.1,high\n")
    with pytest.raises(EmovecInputError) as info:
        read_norms("warriner2013", tmp_path)
    msg = str(info.value)
    assert str(path) in msg and "line 3" in msg and "'A.Mean.Sum'" in msg and "'high'" in msg


@pytest.mark.parametrize("cell", ["nan", "inf", ""])
def test_non_finite_or_empty_value(tmp_path: Path, cell: str) -> None:
    warriner_file(tmp_path, f"1,happy,{cell},1.2,6.05\n")
    with pytest.raises(EmovecInputError, match=r"line 2, column 'V.Mean.Sum'"):
        read_norms("warriner2013", tmp_path)


def test_missing_column(tmp_path: Path) -> None:
    path = warriner_file(tmp_path, "1,happy,8.47,1.2\n", header=",Word,V.Mean.Sum,V.SD.Sum")
    with pytest.raises(EmovecInputError) as info:
        read_norms("warriner2013", tmp_path)
    assert "['A.Mean.Sum']" in str(info.value) and str(path) in str(info.value)


def test_duplicate_word_and_short_row(tmp_path: Path) -> None:
    nrc_file(tmp_path, "happy,0.9,0.4,nrc_vad\nsad,-0.8,-0.3,nrc_vad\nhappy,0.8,0.3,nrc_vad\n")
    with pytest.raises(EmovecInputError, match=r"line 4.*duplicate word 'happy' \(first at line 2\)"):
        read_norms("nrc_emotion_experiment", tmp_path)
    nrc_file(tmp_path, "happy,0.9,0.4,nrc_vad\nsad,-0.8\n")
    with pytest.raises(EmovecInputError, match=r"line 3, column 'arousal': missing value"):
        read_norms("nrc_emotion_experiment", tmp_path)
    nrc_file(tmp_path, "happy,0.9,0.4,nrc_vad,extra\n")
    with pytest.raises(EmovecInputError, match=r"line 2: more cells"):
        read_norms("nrc_emotion_experiment", tmp_path)
    nrc_file(tmp_path, "happy,0.9,0.4,\n")
    with pytest.raises(EmovecInputError, match=r"line 2, column 'source': empty provenance note"):
        read_norms("nrc_emotion_experiment", tmp_path)


def test_warriner_null_lemma_survives_small_file(tmp_path: Path) -> None:
    warriner_file(tmp_path, "1,null,4.32,1.06,3.05\n2,NA,5.0,1.0,5.0\n")
    table = read_norms("warriner2013", tmp_path)
    assert list(table.index) == ["null", "NA"]
    assert (table.loc["null", "valence_raw"], table.loc["null", "arousal_raw"]) == (4.32, 3.05)


def test_v1_empty_cells_mean_absent_but_half_empty_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / ALL_SOURCES, "emotion,nrc_v1_valence_0_1,nrc_v1_arousal_0_1\nhappy,1.0,0.735\n"
                                  "worn out,,\n")
    assert list(read_norms("nrc_vad_v1", tmp_path).index) == ["happy"]
    write(tmp_path / ALL_SOURCES, "emotion,nrc_v1_valence_0_1,nrc_v1_arousal_0_1\nworn out,0.3,\n")
    with pytest.raises(EmovecInputError, match=r"line 2, column 'nrc_v1_arousal_0_1': empty"):
        read_norms("nrc_vad_v1", tmp_path)


def test_lookup_is_exact_lowercase_no_lemmatisation(tmp_path: Path) -> None:
    nrc_file(tmp_path, "love,0.9,0.4,nrc_vad\nHappy,0.8,0.3,nrc_vad\n")
    out = resolve_norms(["loving", "Happy"], "nrc_emotion_experiment", fallback=None, on_missing="exclude",
                        data_root=tmp_path)
    # "loving" is not mapped to "love"; "Happy" is looked up as "happy", which the file lacks.
    assert list(out.status) == ["excluded", "excluded"] and list(out.lemma) == ["loving", "happy"]


def test_bad_resolution_requests(tmp_path: Path) -> None:
    def call(**kw: object) -> None:
        args = dict(emotions=["happy"], primary="toy", fallback=None, on_missing="error", data_root=tmp_path)
        args.update(kw)
        resolve_norms(args.pop("emotions"), args.pop("primary"), **args)  # type: ignore[arg-type]

    with pytest.raises(EmovecInputError, match="on_missing must be one of"):
        call(on_missing="drop")
    with pytest.raises(EmovecInputError, match="only used with on_missing='fallback'"):
        call(fallback="nrc_vad_v1")
    with pytest.raises(EmovecInputError, match="same source as the primary"):
        call(fallback="toy", on_missing="fallback")
    with pytest.raises(EmovecInputError, match="listed twice"):
        call(emotions=["happy", "happy"])
    with pytest.raises(EmovecInputError, match="no emotions"):
        call(emotions=[])


def test_toy_reader_checks_stated_scale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import emovec.corpora.norms as norms

    write(tmp_path / "stimuli" / "toy_norms.csv", "emotion,valence,arousal,scale,source\n"
                                                 "happy,0.8,0.5,\"[-1,1]\",x\nsad,3.0,4.0,1-9,x\n")
    monkeypatch.setattr(norms, "PACKAGE_DIR", tmp_path)
    with pytest.raises(EmovecInputError, match=r"line 3, column 'scale': '1-9': unexpected scale"):
        read_norms("toy", tmp_path)


def test_resolved_values_are_on_common_scale(tmp_path: Path) -> None:
    warriner_file(tmp_path, "1,happy,8.47,1.2,6.05\n2,calm,1.0,1.1,9.0\n")
    out = resolve_norms(["calm", "happy"], "warriner2013", fallback=None, on_missing="error", data_root=tmp_path)
    assert list(out.emotion) == ["calm", "happy"]  # input order, not file order
    assert (out.valence[0], out.arousal[0]) == (-1.0, 1.0)
    assert math.isclose(out.arousal[1], (6.05 - 5) / 4)
    assert out.attrs["scale"] == "[-1,1]"
