"""Tests for the upstream data manifest: offline only (mirror + no network + no DVC)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from emovec.corpora.manifest import (
    NEEDED_BY,
    ManifestEntry,
    load_manifest,
    main,
    materialise,
    sha256_file,
    verify,
)
from emovec.errors import EmovecInputError

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "conf" / "data" / "upstream.yaml"
# The shared read-only mirror sits next to the repo (../shared/reference); it is never copied in.
MIRROR = Path(__file__).resolve().parents[3] / "shared" / "reference"

needs_mirror = pytest.mark.skipif(
    not (MIRROR / "SOURCES.md").is_file(),
    reason=f"upstream reference mirror not found at {MIRROR} (needed to test real upstream files)",
)


def _offline(entries: list[ManifestEntry], data_dir: Path, root: Path | None):
    return materialise(entries, data_dir, upstream_root=root, dvc_remote=False, allow_network=False, progress=False)


def _sources_md_hashes() -> dict[str, str]:
    """file -> sha256 from the table in SOURCES.md (first and last columns)."""
    out: dict[str, str] = {}
    for line in (MIRROR / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and re.fullmatch(r"[0-9a-f]{64}", cells[-1]):
            out[cells[0]] = cells[-1]
    return out


@pytest.fixture(scope="module")
def entries() -> list[ManifestEntry]:
    return load_manifest(MANIFEST)


# ----------------------------------------------------------------------------- the real manifest


def test_manifest_shape(entries: list[ManifestEntry]) -> None:
    assert len(entries) == 11
    by_path = {e.path: e for e in entries}
    assert by_path["norms/warriner2013.csv"].redistribute is False
    assert by_path["neural-mri/protocol_stimuli.json"].url is None
    assert by_path["norms/valence_arousal_171_all_sources.csv"].url is None
    for e in entries:
        assert e.path in NEEDED_BY, f"{e.path} has no config choice registered in NEEDED_BY"
        if e.url is not None:
            assert e.url.startswith("https://raw.githubusercontent.com/")
        else:
            assert e.note, f"{e.path}: url is null but no note explains why"


@needs_mirror
def test_manifest_matches_sources_md(entries: list[ManifestEntry]) -> None:
    table = _sources_md_hashes()
    assert set(table) == {e.path for e in entries}
    for e in entries:
        assert e.sha256 == table[e.path] == sha256_file(MIRROR / e.path), e.path


# ----------------------------------------------------------------------------- materialise


@needs_mirror
def test_materialise_from_mirror_then_noop(entries: list[ManifestEntry], tmp_path: Path) -> None:
    data = tmp_path / "data"
    table = _sources_md_hashes()
    report = _offline(entries, data, MIRROR)
    assert report.complete and not report.missing and not report.already_present
    assert set(report.obtained) == {e.path for e in entries}
    assert all(src.startswith("mirror ") for src in report.obtained.values())
    for e in entries:
        assert sha256_file(data / e.path) == e.sha256 == table[e.path]
    assert verify(entries, data) == []
    # No temp siblings are left behind by the atomic install.
    assert not [p for p in data.rglob("*") if ".tmp-" in p.name]

    again = _offline(entries, data, MIRROR)
    assert again.already_present == [e.path for e in entries]
    assert again.obtained == {} and again.missing == []
    assert "11 already present" in again.summary()


@needs_mirror
def test_tampered_mirror_raises_and_leaves_nothing(entries: list[ManifestEntry], tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    victim = "emotion_experiment/prompts/topics.txt"
    raw = bytearray((mirror / victim).read_bytes())
    raw[0] ^= 0x01  # flip one bit of one byte
    (mirror / victim).write_bytes(bytes(raw))

    data = tmp_path / "data"
    with pytest.raises(EmovecInputError) as info:
        _offline(entries, data, mirror)
    msg = str(info.value)
    expected = next(e.sha256 for e in entries if e.path == victim)
    assert victim in msg and "mirror" in msg
    assert expected in msg and sha256_file(mirror / victim) in msg
    assert not (data / victim).exists()
    assert not [p for p in data.rglob("*") if ".tmp-" in p.name]


def test_empty_mirror_reports_every_file_missing(entries: list[ManifestEntry], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    report = _offline(entries, tmp_path / "data", empty)
    assert report.missing == [e.path for e in entries]
    assert not report.obtained and not report.complete
    summary = report.summary()
    assert "corpus=jeong-comprehension needs" in summary
    assert "neural-mri/emotion_comprehension_texts.csv" in summary
    assert "norms=warriner2013" in summary
    # Nothing (not even an empty file) is created for missing entries.
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file()]


def test_stale_file_is_reported_not_trusted(tmp_path: Path) -> None:
    good = b"right bytes\n"
    import hashlib

    entry = ManifestEntry(path="x/a.txt", url=None, sha256=hashlib.sha256(good).hexdigest())
    data = tmp_path / "data"
    (data / "x").mkdir(parents=True)
    (data / "x" / "a.txt").write_bytes(b"wrong bytes\n")
    assert verify([entry], data)[0].startswith("sha256 mismatch")
    report = _offline([entry], data, None)
    assert report.missing == ["x/a.txt"] and "x/a.txt" in report.stale

    mirror = tmp_path / "mirror"
    (mirror / "x").mkdir(parents=True)
    (mirror / "x" / "a.txt").write_bytes(good)
    report = _offline([entry], data, mirror)
    assert report.obtained == {"x/a.txt": f"mirror {mirror}"}
    assert (data / "x" / "a.txt").read_bytes() == good


# ----------------------------------------------------------------------------- malformed manifests

GOOD_SHA = "ab" * 32


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ("files:\n  - path: a.txt\n    url: null\n", ["files[0]", "a.txt", "sha256"]),
        ("files:\n  - path: a.txt\n    sha256: xyz123\n", ["files[0]", "a.txt", "sha256", "xyz123"]),
        (f"files:\n  - path: a.txt\n    sha256: {'G' * 64}\n", ["files[0]", "sha256"]),
        (
            f"files:\n  - path: a.txt\n    sha256: {GOOD_SHA}\n  - path: b.txt\n    sha256: {GOOD_SHA}\n"
            f"  - path: a.txt\n    sha256: {GOOD_SHA}\n",
            ["files[2]", "duplicate", "a.txt", "files[0]"],
        ),
        (f"files:\n  - sha256: {GOOD_SHA}\n", ["files[0]", "path"]),
        (f"files:\n  - path: ../escape.txt\n    sha256: {GOOD_SHA}\n", ["files[0]", "escape"]),
        (f"files:\n  - path: a.txt\n    sha265: {GOOD_SHA}\n", ["files[0]", "sha265"]),
        (f"files:\n  - path: a.txt\n    sha256: {GOOD_SHA}\n    redistribute: maybe\n", ["files[0]", "redistribute"]),
        ("entries: []\n", ["files"]),
        ("files: [\n", ["YAML"]),
    ],
)
def test_malformed_manifest(tmp_path: Path, body: str, needles: list[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(body, encoding="utf-8")
    with pytest.raises(EmovecInputError) as info:
        load_manifest(bad)
    msg = str(info.value)
    assert str(bad) in msg
    for needle in needles:
        assert needle in msg, (needle, msg)


# ----------------------------------------------------------------------------- CLI


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    data = tmp_path / "data"
    common = ["--manifest", str(MANIFEST), "--data-dir", str(data)]
    # Missing files are not an error for materialise (exit 0), but verify reports them.
    assert main(["materialise", *common, "--offline", "--no-dvc", "--quiet"], env={"UPSTREAM_ROOT": str(empty)}) == 0
    assert "jeong-comprehension" in capsys.readouterr().out
    assert main(["verify", *common]) == 1
    assert main(["verify", *common, "--allow-missing"]) == 0

    bad = tmp_path / "bad.yaml"
    bad.write_text("files:\n  - path: a.txt\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["materialise", "--manifest", str(bad), "--data-dir", str(data), "--offline", "--no-dvc"], env={}) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "files[0]" in err and len(err.splitlines()) == 1


@needs_mirror
def test_cli_checksum_mismatch_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "norms").mkdir(parents=True)
    (mirror / "norms" / "warriner2013.csv").write_text("word,V.Mean.Sum\n", encoding="utf-8")
    argv = ["materialise", "--manifest", str(MANIFEST), "--data-dir", str(tmp_path / "data"), "--offline", "--no-dvc", "--quiet"]
    assert main(argv, env={"UPSTREAM_ROOT": str(mirror)}) == 2
    err = capsys.readouterr().err.strip()
    assert "sha256 mismatch" in err and "norms/warriner2013.csv" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "data" / "norms" / "warriner2013.csv").exists()


# ----------------------------------------------------------------------------- DVC and URL (faked)


def _one_entry(content: bytes, url: str | None = "https://example.invalid/a.txt") -> ManifestEntry:
    import hashlib

    return ManifestEntry(path="d/a.txt", url=url, sha256=hashlib.sha256(content).hexdigest())


def test_dvc_pull_result_is_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import emovec.corpora.manifest as m

    entry = _one_entry(b"good\n")
    data = tmp_path / "data"

    def fake_pull(payload: bytes):
        def pull(ddir: Path) -> None:
            (ddir / "d").mkdir(parents=True, exist_ok=True)
            (ddir / "d" / "a.txt").write_bytes(payload)

        return pull

    monkeypatch.setattr(m, "_dvc_pull", fake_pull(b"bad\n"))
    with pytest.raises(EmovecInputError, match=r"d/a\.txt from dvc pull"):
        materialise([entry], data, upstream_root=None, allow_network=False, progress=False)
    assert not (data / "d" / "a.txt").exists()

    monkeypatch.setattr(m, "_dvc_pull", fake_pull(b"good\n"))
    report = materialise([entry], data, upstream_root=None, allow_network=False, progress=False)
    assert report.obtained == {"d/a.txt": "dvc"}


def test_url_source_verified_and_network_failure_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.error

    import emovec.corpora.manifest as m

    entry = _one_entry(b"payload\n")
    data = tmp_path / "data"

    def broken(url: str):
        yield b"pay"  # a partial download must not survive at the final path
        raise urllib.error.URLError("connection reset")

    monkeypatch.setattr(m, "_url_chunks", broken)
    report = materialise([entry], data, upstream_root=None, dvc_remote=False, progress=False)
    assert report.missing == ["d/a.txt"] and not (data / "d" / "a.txt").exists()
    assert "connection reset" in report.summary()

    monkeypatch.setattr(m, "_url_chunks", lambda url: iter([b"wrong\n"]))
    with pytest.raises(EmovecInputError, match=r"d/a\.txt from url https://example\.invalid/a\.txt"):
        materialise([entry], data, upstream_root=None, dvc_remote=False, progress=False)
    assert not (data / "d" / "a.txt").exists()

    monkeypatch.setattr(m, "_url_chunks", lambda url: iter([b"pay", b"load\n"]))
    report = materialise([entry], data, upstream_root=None, dvc_remote=False, progress=False)
    assert report.obtained == {"d/a.txt": "url https://example.invalid/a.txt"}
    assert (data / "d" / "a.txt").read_bytes() == b"payload\n"


def test_no_dvc_file_skips_dvc_silently(tmp_path: Path) -> None:
    # tmp_path has no data.dvc: the DVC step must be skipped without a note or an error.
    report = materialise([_one_entry(b"x", url=None)], tmp_path / "data", upstream_root=None,
                         allow_network=False, progress=False)
    assert report.missing == ["d/a.txt"]
    assert not any("dvc" in n for n in report.notes)
