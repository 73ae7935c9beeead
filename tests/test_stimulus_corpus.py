"""Stimulus readers and validation (emovec.corpora.stimuli) and the stimuli stage for passages.

Every bad input is one EmovecInputError naming the file and the row or key, raised before any
model is loaded; the stage turns it into exit code 2 and writes no output.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from emovec import stimulus_corpus
from emovec.compose.cells import compose_cell
from emovec.compose.selection import slices
from emovec.config.schema import to_yaml
from emovec.corpora.stimuli import (
    PASSAGE_READERS,
    TEMPLATE_READERS,
    read_anisotropy,
    read_passages,
    read_templates,
    validate_rows,
)
from emovec.emotions import JEONG_20, NEUTRAL
from emovec.errors import EmovecInputError
from emovec.io import read_jsonl
from emovec.paths import PACKAGE_DIR
from emovec.stages import stimuli as stimuli_stage

PROJECT_CSV = PACKAGE_DIR / "stimuli" / "comprehension_passages.csv"
ANISO_CSV = PACKAGE_DIR / "stimuli" / "anisotropy_sentences.csv"
TEMPLATES = PACKAGE_DIR / "stimuli" / "generation_templates.json"
JEONG_REL = Path("neural-mri") / "emotion_comprehension_texts.csv"


def _project_records() -> list[dict[str, str]]:
    with open(PROJECT_CSV, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _write_csv(path: Path, records: list[dict[str, str]], columns=("id", "emotion", "text")) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        w.writerows(records)
    return path


# ---------------------------------------------------------------- the committed and upstream files


def test_project_passages_validate():
    rows = validate_rows(read_passages(PROJECT_CSV, "project_csv"), JEONG_20, str(PROJECT_CSV))
    assert len(rows) == 63
    assert Counter(r["role"] for r in rows) == {"emotion": 60, NEUTRAL: 3}
    assert Counter(r["emotion"] for r in rows) == {e: 3 for e in (*JEONG_20, NEUTRAL)}
    assert all(set(r) == {"id", "emotion", "role", "text"} for r in rows)  # no private _row key
    assert rows[0]["id"] == "happy-1" and rows[0]["role"] == "emotion"
    assert all(r["role"] == NEUTRAL for r in rows if r["emotion"] == NEUTRAL)


def test_project_anisotropy_sentences_validate():
    rows = validate_rows(read_anisotropy(ANISO_CSV), [], str(ANISO_CSV))
    assert len(rows) == 20
    assert {r["role"] for r in rows} == {"anisotropy"} and {r["emotion"] for r in rows} == {NEUTRAL}
    assert rows[0] == {"id": "aniso-01", "emotion": NEUTRAL, "role": "anisotropy",
                       "text": "There are twelve months in a year."}


def test_project_templates_read():
    t = read_templates(TEMPLATES, "templates_json")
    assert set(t) == {"templates", "neutral_template", "neutral_topics"}
    assert len(t["templates"]) == 5 and len(t["neutral_topics"]) == 10
    assert all("{emotion}" in x for x in t["templates"]) and "{topic}" in t["neutral_template"]


def test_jeong_upstream_csv_reads_and_validates(upstream_root: Path):
    path = upstream_root / JEONG_REL
    raw = read_passages(path, "jeong_csv")
    assert len(raw) == 63
    rows = validate_rows(raw, JEONG_20, str(path))
    assert {r["id"] for r in rows} == {f"{e}-{i}" for e in (*JEONG_20, NEUTRAL) for i in (1, 2, 3)}
    assert rows[0]["id"] == "happy-1" and rows[0]["emotion"] == "happy"
    assert rows[0]["text"].startswith("He couldn't stop smiling")
    assert Counter(r["role"] for r in rows) == {"emotion": 60, NEUTRAL: 3}
    assert raw[0]["_row"] > 1  # the row is the file's line number (comment lines are skipped)


def test_jeong_protocol_reads(upstream_root: Path):
    t = read_templates(upstream_root / "neural-mri" / "protocol_stimuli.json", "jeong_protocol")
    assert len(t["templates"]) == 5 and len(t["neutral_topics"]) == 10
    assert "{topic}" in t["neutral_template"]


# ---------------------------------------------------------------- bad inputs


def _validate(path: Path) -> list[dict]:
    return validate_rows(read_passages(path, "project_csv"), JEONG_20, str(path))


def test_unknown_emotion_names_file_row_and_value(tmp_path: Path):
    recs = _project_records()
    recs[4] = {**recs[4], "emotion": "joyful"}
    path = _write_csv(tmp_path / "p.csv", recs)
    with pytest.raises(EmovecInputError) as exc:
        _validate(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: row 6:") and "'joyful'" in msg and repr(recs[4]["id"]) in msg


def test_empty_text_names_file_and_row(tmp_path: Path):
    recs = _project_records()
    recs[10] = {**recs[10], "text": "   "}
    path = _write_csv(tmp_path / "p.csv", recs)
    with pytest.raises(EmovecInputError) as exc:
        _validate(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: row 12:") and "empty text" in msg and repr(recs[10]["id"]) in msg


def test_duplicate_id_names_both_rows(tmp_path: Path):
    recs = _project_records()
    recs[7] = {**recs[7], "id": recs[1]["id"]}
    path = _write_csv(tmp_path / "p.csv", recs)
    with pytest.raises(EmovecInputError) as exc:
        _validate(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: row 9:") and "first at row 3" in msg
    assert f"duplicate id {recs[1]['id']!r}" in msg


def test_missing_column_names_file_and_column(tmp_path: Path):
    path = _write_csv(tmp_path / "p.csv", _project_records(), columns=("id", "emotion"))
    with pytest.raises(EmovecInputError) as exc:
        read_passages(path, "project_csv")
    assert str(path) in str(exc.value) and "missing column(s) ['text']" in str(exc.value)
    aniso = _write_csv(tmp_path / "a.csv", [{"id": "a", "text": "x"}], columns=("id",))
    with pytest.raises(EmovecInputError, match=r"missing column\(s\) \['text'\]"):
        read_anisotropy(aniso)


def test_missing_emotion_of_the_set_is_named(tmp_path: Path):
    recs = [r for r in _project_records() if r["emotion"] not in ("calm", "grateful")]
    path = _write_csv(tmp_path / "p.csv", recs)
    with pytest.raises(EmovecInputError) as exc:
        _validate(path)
    assert str(exc.value) == f"{path}: no stimuli for emotion(s) ['calm', 'grateful']"


def test_jeong_row_with_wrong_column_count(tmp_path: Path):
    path = tmp_path / "j.csv"
    path.write_text('# comment\n\nhappy,1,"fine text"\nsad,2\n', encoding="utf-8")
    with pytest.raises(EmovecInputError) as exc:
        read_passages(path, "jeong_csv")
    assert str(exc.value).startswith(f"{path}: row 4 has 2 columns, expected 3")


def test_unknown_format_names_it_and_lists_known():
    with pytest.raises(EmovecInputError) as exc:
        read_passages(PROJECT_CSV, "xlsx")
    assert "'xlsx'" in str(exc.value) and str(sorted(PASSAGE_READERS)) in str(exc.value)
    assert {"project_csv", "jeong_csv"} <= set(PASSAGE_READERS)
    with pytest.raises(EmovecInputError) as exc:
        read_templates(TEMPLATES, "yaml_templates")
    assert "'yaml_templates'" in str(exc.value) and str(sorted(TEMPLATE_READERS)) in str(exc.value)


def test_missing_file_is_named(tmp_path: Path):
    path = tmp_path / "nope.csv"
    with pytest.raises(EmovecInputError) as exc:
        read_passages(path, "project_csv")
    assert str(exc.value) == f"stimulus file {path} does not exist"


def test_missing_upstream_file_under_data_mentions_make_data(tmp_path: Path):
    path = tmp_path / "data" / JEONG_REL
    for fmt in ("jeong_csv", "project_csv"):
        with pytest.raises(EmovecInputError) as exc:
            read_passages(path, fmt)
        assert str(path) in str(exc.value) and "`make data`" in str(exc.value)
    with pytest.raises(EmovecInputError, match="make data"):
        read_templates(tmp_path / "data" / "neural-mri" / "protocol_stimuli.json", "jeong_protocol")


def test_bad_templates_name_the_key(tmp_path: Path):
    data = json.loads(TEMPLATES.read_text())
    path = tmp_path / "t.json"
    path.write_text(json.dumps({k: v for k, v in data.items() if k != "neutral_topics"}))
    with pytest.raises(EmovecInputError, match=r"missing key 'neutral_topics'"):
        read_templates(path, "templates_json")
    path.write_text(json.dumps({**data, "templates": [data["templates"][0], "Write a story."]}))
    with pytest.raises(EmovecInputError, match=r"templates\[1\] has no \{emotion\} placeholder"):
        read_templates(path, "templates_json")


# ---------------------------------------------------------------- the stimuli stage (passages)


def _stage_config(tmp_path: Path, model: str, corpus: str, overrides: list[str] | None = None) -> Path:
    """A cell's stimuli.yaml, exactly as the compose stage writes it."""
    cell = compose_cell(model, corpus, "separation", overrides)
    path = tmp_path / "cells" / f"{model}__{corpus}" / "stimuli.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(to_yaml(slices(cell)["stimuli"]))
    return path


def _run_stage(config: Path, tmp_path: Path) -> tuple[int, Path, Path]:
    out, summary = tmp_path / "build" / "stimuli" / "cell.jsonl", tmp_path / "build" / "stimuli" / "cell.summary.json"
    rc = stimuli_stage.main(["--config", str(config), "--out", str(out), "--summary", str(summary)])
    return rc, out, summary


def test_stage_writes_project_passages(tmp_path: Path):
    rc, out, summary = _run_stage(_stage_config(tmp_path, "toy-base", "toy-comprehension"), tmp_path)
    assert rc == 0
    rows = read_jsonl(out)
    assert len(rows) == 63 + 20
    assert Counter(r["role"] for r in rows) == {"emotion": 60, NEUTRAL: 3, "anisotropy": 20}
    s = json.loads(summary.read_text())
    assert s["n_rows"] == 63 and s["n_anisotropy"] == 20
    assert s["effective_n"] == {e: 3 for e in (*JEONG_20, NEUTRAL)}
    assert s["corpus"] == "toy-comprehension" and s["model"] == "toy-base"


def test_stage_refuses_bad_csv_and_writes_nothing(tmp_path: Path, capsys):
    recs = _project_records()
    recs[4] = {**recs[4], "emotion": "joyful"}
    bad = _write_csv(tmp_path / "bad.csv", recs)
    # an absolute corpus.path is used as is (PACKAGE_DIR / absolute == absolute); upstream
    # paths must instead be listed in the manifest (see the upstream tests below)
    config = _stage_config(tmp_path, "toy-base", "toy-comprehension", [f"corpus.path='{bad}'"])
    rc, out, summary = _run_stage(config, tmp_path)
    assert rc == 2
    assert not out.exists() and not summary.exists()
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: row 6:") and "'joyful'" in err


def test_stage_missing_upstream_file_writes_nothing(tmp_path: Path, monkeypatch, capsys):
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.setattr(stimulus_corpus, "REPO_ROOT", repo)
    rc, out, summary = _run_stage(_stage_config(tmp_path, "toy-base", "jeong-comprehension"), tmp_path)
    assert rc == 2
    assert not out.exists() and not summary.exists()
    err = capsys.readouterr().err
    assert str(repo / "data" / JEONG_REL) in err and "`make data`" in err


def test_stage_reads_jeong_passages_from_data(tmp_path: Path, monkeypatch, upstream_root: Path):
    repo = tmp_path / "repo"
    (repo / "data" / JEONG_REL).parent.mkdir(parents=True)
    shutil.copy(upstream_root / JEONG_REL, repo / "data" / JEONG_REL)
    monkeypatch.setattr(stimulus_corpus, "REPO_ROOT", repo)
    rc, out, summary = _run_stage(_stage_config(tmp_path, "toy-instruct", "jeong-comprehension"), tmp_path)
    assert rc == 0
    rows = read_jsonl(out)
    assert [r["id"] for r in rows[:3]] == ["happy-1", "happy-2", "happy-3"]
    assert Counter(r["role"] for r in rows) == {"emotion": 60, NEUTRAL: 3, "anisotropy": 20}
    assert json.loads(summary.read_text())["corpus"] == "jeong-comprehension"


def test_stage_refuses_upstream_file_not_matching_the_manifest(tmp_path: Path, monkeypatch, upstream_root: Path,
                                                               capsys):
    repo = tmp_path / "repo"
    target = repo / "data" / JEONG_REL
    target.parent.mkdir(parents=True)
    target.write_bytes((upstream_root / JEONG_REL).read_bytes() + b"extra,1,edited locally\n")
    monkeypatch.setattr(stimulus_corpus, "REPO_ROOT", repo)
    rc, out, summary = _run_stage(_stage_config(tmp_path, "toy-base", "jeong-comprehension"), tmp_path)
    assert rc == 2
    assert not out.exists() and not summary.exists()
    err = capsys.readouterr().err
    assert err.startswith(f"error: {target}: sha256 ") and "does not match the manifest" in err


def test_upstream_corpus_outside_the_manifest_is_refused_at_compose(tmp_path: Path):
    with pytest.raises(EmovecInputError, match="not listed in"):
        _stage_config(tmp_path, "toy-base", "toy-comprehension", ["corpus.source=upstream"])
