"""Which config choices need which upstream file (emovec.corpora.upstream_choices): derived from
conf/, checked here against conf/ read another way (raw text, the registries), so the map in the
`make data` report can neither name a choice that does not exist nor miss a file a choice reads."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from emovec.config.schema import ValenceConfig
from emovec.corpora.manifest import NEEDED_BY, main
from emovec.corpora.norms import NORM_SOURCES
from emovec.corpora.upstream_choices import (
    NORM_CONFIG,
    NORM_KEYS,
    hydra_groups,
    needed_by,
    needed_by_selections,
    selection_choices,
    selection_files,
)
from emovec.corpora.upstream_files import load_manifest
from emovec.emotions import EMOTION_SET_FILES
from emovec.paths import CONF_DIR, REPO_ROOT

MANIFEST = CONF_DIR / "data" / "upstream.yaml"
# A repo-relative path under data/ as configs (and their comments) write it.
_DATA_PATH = re.compile(r"(?<![\w/])data/([\w.-]+(?:/[\w.-]+)*\.\w+)")


def _manifest_paths() -> list[str]:
    return [e.path for e in load_manifest(MANIFEST)]


def _upstream_norms() -> dict[str, str]:
    return {n: s.rel_path for n, s in NORM_SOURCES.items() if s.origin == "upstream"}


# ----------------------------------------------------------------------------- the real conf/


def test_the_map_covers_exactly_the_manifest_files():
    """Every manifest file has an entry (possibly no choice), and no config reads a data/ file the
    manifest does not pin (such a file would show up as an extra key)."""
    assert list(NEEDED_BY) == _manifest_paths()


def test_every_named_choice_exists():
    valence_fields = {f.name for f in fields(ValenceConfig)}
    norm_keys = {f"{NORM_CONFIG}.{k}" for k in NORM_KEYS}
    assert {k.split(".", 1)[1] for k in norm_keys} <= valence_fields
    assert NORM_CONFIG in hydra_groups()
    for rel, choices in NEEDED_BY.items():
        for choice in choices:
            key, _, value = choice.partition("=")
            if key in norm_keys:
                assert value in _upstream_norms(), (rel, choice)
                assert _upstream_norms()[value] == rel, (rel, choice)
            else:
                assert key in hydra_groups(), (rel, choice)
                assert (CONF_DIR / key / f"{value}.yaml").is_file(), (rel, choice)


def test_every_data_path_a_config_writes_is_mapped_to_that_choice():
    """Oracle: the raw text of every choice file (comments included) and the registries."""
    seen = 0
    for group in hydra_groups():
        for path in sorted((CONF_DIR / group).glob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            for rel in _DATA_PATH.findall(text):
                assert rel in NEEDED_BY, f"{path} names data/{rel}, which conf/data/upstream.yaml does not pin"
                # A path in a comment only need not be read; a path in a value must map to the choice.
                if any(line.split("#", 1)[0].count(f"data/{rel}") for line in text.splitlines()):
                    assert f"{group}={path.stem}" in NEEDED_BY[rel], (path, rel)
                    seen += 1
            raw = yaml.safe_load(text) or {}
            emotion_set = raw.get("emotion_set") if isinstance(raw, dict) else None
            if emotion_set in EMOTION_SET_FILES:
                assert f"{group}={path.stem}" in NEEDED_BY[EMOTION_SET_FILES[emotion_set]], path
                seen += 1
    assert seen >= 10
    for name, rel in _upstream_norms().items():
        assert f"valence.norms={name}" in NEEDED_BY[rel]


def test_known_entries():
    assert "corpus=jeong-comprehension" in NEEDED_BY["neural-mri/emotion_comprehension_texts.csv"]
    assert {"corpus=jeong-generation", "steering=jeong"} <= set(NEEDED_BY["neural-mri/protocol_stimuli.json"])
    assert "corpus=upstream-gemma-stories" in NEEDED_BY["emotion_experiment/prompts/emotions.txt"]
    assert "corpus=upstream-gemma-stories" in NEEDED_BY["emotion_experiment/output_gemma_stories/stories.jsonl"]
    assert "valence.norms=warriner2013" in NEEDED_BY["norms/warriner2013.csv"]
    assert "valence.norms=nrc_vad_v1" in NEEDED_BY["norms/valence_arousal_171_all_sources.csv"]
    assert NEEDED_BY["emotion_experiment/sentences.json"] == ()  # pinned, read by no choice


def test_selections_need_their_corpora_files_and_the_toy_selection_needs_none():
    paths = _manifest_paths()
    by_selection = needed_by_selections(paths)
    assert list(by_selection) == selection_files() and CONF_DIR / "selection.yaml" in by_selection
    assert by_selection[CONF_DIR / "selections" / "toy.yaml"] == []  # README: the toy smoke run needs none
    for path, needed in by_selection.items():
        sel = yaml.safe_load(path.read_text(encoding="utf-8"))
        for corpus in [*sel["corpora"], *sel.get("story_corpora", [])]:
            for rel in paths:
                if f"corpus={corpus}" in NEEDED_BY[rel]:
                    assert rel in needed, (path, corpus, rel)


# ----------------------------------------------------------------------------- a made-up conf/


def _mini_conf(root: Path) -> Path:
    conf = root / "conf"
    files = {
        "config.yaml": {"defaults": [{"corpus": "a"}, {"valence": "default"}, {"steering": "toy"}, "_self_"]},
        "corpus/a.yaml": {"path": "data/x/y.csv", "nested": {"neutral_path": "data/z.txt"}, "emotion_set": "anthropic171"},
        "corpus/b.yaml": {"path": "stimuli/own.csv", "emotion_set": "jeong20"},
        "valence/default.yaml": {"norms": "warriner2013", "norms_fallback": None},
        "steering/toy.yaml": {"scenario_path": "stimuli/s.json"},
        "steering/real.yaml": {"scenario_path": "data/x/y.csv"},
        "selection.yaml": {"experiment": "separation", "models": ["m"], "corpora": ["b"],
                           "overrides": ["steering=real"], "cell_overrides": {"m__b": ["+valence.norms=nrc_vad_v1"]}},
        "selections/other.yaml": {"experiment": "separation", "models": ["m"], "corpora": ["b"]},
    }
    for rel, body in files.items():
        (conf / rel).parent.mkdir(parents=True, exist_ok=True)
        (conf / rel).write_text(yaml.safe_dump(body), encoding="utf-8")
    (conf / "data").mkdir()
    (conf / "data" / "upstream.yaml").write_text(
        "files:\n  - path: x/y.csv\n    url: null\n    sha256: '" + "0" * 64 + "'\n", encoding="utf-8")
    return conf


def test_derived_from_a_made_up_conf(tmp_path: Path):
    conf = _mini_conf(tmp_path)
    got = needed_by(conf)
    assert list(got)[0] == "x/y.csv" and got["x/y.csv"] == ("corpus=a", "steering=real")
    assert got["z.txt"] == ("corpus=a",)  # read by a config but not pinned: shows up as an extra key
    assert got[EMOTION_SET_FILES["anthropic171"]] == ("corpus=a",)
    assert "valence=default" in got["norms/warriner2013.csv"]
    assert "valence.norms_fallback=nrc_vad_v1" in got["norms/valence_arousal_171_all_sources.csv"]


def test_selection_choices_apply_overrides(tmp_path: Path):
    conf = _mini_conf(tmp_path)
    made = selection_choices(conf / "selection.yaml", conf)
    assert {("model", "m"), ("corpus", "b"), ("steering", "real"), ("valence", "default"),
            ("valence.norms", "nrc_vad_v1"), ("experiment", "separation")} <= made
    assert ("steering", "toy") not in made and ("corpus", "a") not in made  # replaced defaults
    by_selection = needed_by_selections(["x/y.csv", "z.txt", "norms/valence_arousal_171_all_sources.csv"], conf)
    assert by_selection == {conf / "selection.yaml": ["x/y.csv", "norms/valence_arousal_171_all_sources.csv"],
                            conf / "selections" / "other.yaml": []}


# ----------------------------------------------------------------------------- the report


def test_report_names_choices_and_selections(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = ["materialise", "--manifest", str(MANIFEST), "--data-dir", str(tmp_path / "data"), "--offline", "--no-dvc",
            "--quiet"]
    assert main(argv, env={"UPSTREAM_ROOT": str(empty)}) == 0
    out = capsys.readouterr().out
    assert "corpus=jeong-comprehension needs " in out and "steering=jeong needs " in out
    assert "sentences.json (no config choice reads it)" in out
    assert "toy default" not in out
    n = len(needed_by_selections(_manifest_paths())[CONF_DIR / "selection.yaml"])
    assert f"the run selection conf/selection.yaml needs {n} of the 11 missing file(s)" in out
    assert "the run selection conf/selections/toy.yaml needs none of them" in out


def test_importing_the_cli_reads_no_config():
    code = ("import sys, emovec.corpora.manifest; "
            "print('emovec.corpora.upstream_choices' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO_ROOT / "src"), "PATH": ""})
    assert out.stdout.strip() == "False"
