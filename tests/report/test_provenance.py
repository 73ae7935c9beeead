"""The provenance line of every generated table (emovec.report.provenance)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from emovec.errors import EmovecInputError
from emovec.report.provenance import add_provenance, git_revision, provenance_line, provenance_record

PROV = {"config_hash": "f" * 64, "models": ["m_1 (org/m@abc, bfloat16)"], "axes": {"pooling": "last_token", "layer": "middle"}}


def test_line_names_revision_hash_models_and_axes_escaped() -> None:
    line = provenance_line(provenance_record(PROV, "1234abcd+dirty"))
    assert line == ("Provenance: emovec git 1234abcd+dirty; config sha256 ffffffffffffffff; models: "
                    "m\\_1 (org/m@abc, bfloat16); axes: layer: middle; pooling: last\\_token.")


def test_add_provenance_goes_inside_the_float_and_needs_one() -> None:
    table = "\\begin{table}\n\\caption{x}\n\\end{table}\n"
    out = add_provenance(table, "Provenance: p.", "t.tex")
    assert out == "\\begin{table}\n\\caption{x}\n\\par\\smallskip{\\footnotesize Provenance: p.\\par}\n\\end{table}\n"
    with pytest.raises(EmovecInputError, match="t.tex: no"):
        add_provenance("\\begin{tabular}{l}\\end{tabular}", "p", "t.tex")


def test_record_requires_the_composed_keys() -> None:
    with pytest.raises(EmovecInputError, match="lacks key 'axes'"):
        provenance_record({"config_hash": "x", "models": []}, "rev")


def test_git_revision_clean_dirty_override_and_no_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMOVEC_GIT_REVISION", raising=False)
    assert git_revision(tmp_path) == "unknown (no git checkout)"
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("n\n")
    run("add", "-A")
    run("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "-m", "c")
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=tmp_path, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert git_revision(tmp_path) == head
    (tmp_path / "notes.txt").write_text("outside the tracked paths\n")
    assert git_revision(tmp_path) == head
    (tmp_path / "src" / "a.py").write_text("x = 2\n")
    assert git_revision(tmp_path) == head + "+dirty"
    monkeypatch.setenv("EMOVEC_GIT_REVISION", "recorded")
    assert git_revision(tmp_path) == "recorded"
