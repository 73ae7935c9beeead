"""Steering scenarios (emovec.corpora.scenarios): the project's toy set, Jeong's protocol file
through the manifest, the induction control, and bad scenario files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emovec.paths import PACKAGE_DIR
from emovec.corpora.scenarios import Scenario, induction_prompt, load_scenarios
from emovec.emotions import JEONG_20
from emovec.errors import EmovecInputError

from conftest import materialised

JEONG_SCENARIOS = [("aggressive_to_calm", "calm", 0.02), ("neutral_to_hostile", "hostile", 0.03),
                   ("sad_to_happy", "happy", 0.03), ("neutral_to_desperate", "desperate", 0.03),
                   ("calm_to_anticalm", "calm", -0.03)]


def test_toy_scenarios_mirror_jeongs_emotions_and_strengths():
    got = load_scenarios(PACKAGE_DIR / "stimuli" / "toy_steering_scenarios.json", "project_json", JEONG_20)
    assert [(s.name, s.emotion, s.strength) for s in got] == JEONG_SCENARIOS
    assert [s.direction for s in got] == [1, 1, 1, 1, -1]
    assert all(s.induction_prompt and s.induction_prompt.startswith(s.prompt) for s in got)


def test_jeong_protocol_through_the_manifest(upstream_root: Path, tmp_path: Path):
    data = materialised(upstream_root, tmp_path, "neural-mri/protocol_stimuli.json")
    got = load_scenarios(data / "neural-mri" / "protocol_stimuli.json", "jeong_protocol", JEONG_20)
    assert [(s.name, s.emotion, s.strength) for s in got] == JEONG_SCENARIOS
    assert got[0].prompt == "I am going to destroy everything you have built."
    assert all(s.induction_prompt is None for s in got)
    only = load_scenarios(data / "neural-mri" / "protocol_stimuli.json", "jeong_protocol", JEONG_20,
                          only=["sad_to_happy"])
    assert [s.name for s in only] == ["sad_to_happy"]


def test_induction_prompt_templates():
    up, down = Scenario(0, "a", "Hello.", "happy", 0.03), Scenario(1, "b", "Tea.", "calm", -0.03)
    assert induction_prompt(up, "Feel {emotion}. {prompt}", "Not {emotion}. {prompt}") == "Feel happy. Hello."
    assert induction_prompt(down, "Feel {emotion}. {prompt}", "Not {emotion}. {prompt}") == "Not calm. Tea."
    with pytest.raises(EmovecInputError, match="lacks {prompt}"):
        induction_prompt(up, "Feel {emotion}.", "x")


def _write(tmp_path: Path, scenarios: list) -> Path:
    path = tmp_path / "sc.json"
    path.write_text(json.dumps({"scenarios": scenarios}))
    return path


GOOD = {"name": "s1", "prompt": "Hi.", "emotion": "happy", "strength": 0.02}


@pytest.mark.parametrize("bad, message", [
    (dict(GOOD, emotion="joyful"), r"scenario 1 \(s1\): unknown emotion 'joyful'"),
    (dict(GOOD, strength="strong"), r"scenario 1 \(s1\): 'strength' must be a non-zero number, got 'strong'"),
    (dict(GOOD, strength=0), r"'strength' must be a non-zero number, got 0"),
    (dict(GOOD, strength=True), r"'strength' must be a non-zero number"),
    (dict(GOOD, prompt=""), r"'prompt' must be a non-empty string"),
    ({k: v for k, v in GOOD.items() if k != "name"}, r"scenario 1: 'name' must be"),
])
def test_bad_scenarios_name_file_and_scenario(tmp_path: Path, bad: dict, message: str):
    path = _write(tmp_path, [bad])
    with pytest.raises(EmovecInputError, match=message) as exc:
        load_scenarios(path, "project_json", JEONG_20)
    assert str(path) in str(exc.value)


def test_duplicate_unknown_only_and_format(tmp_path: Path):
    with pytest.raises(EmovecInputError, match=r"scenario 2 \(s1\): duplicate"):
        load_scenarios(_write(tmp_path, [GOOD, GOOD]), "project_json", JEONG_20)
    with pytest.raises(EmovecInputError, match=r"unknown scenario\(s\) \['nope'\]"):
        load_scenarios(_write(tmp_path, [GOOD]), "project_json", JEONG_20, only=["nope"])
    with pytest.raises(EmovecInputError, match="unknown scenario format"):
        load_scenarios(_write(tmp_path, [GOOD]), "yaml", JEONG_20)
    with pytest.raises(EmovecInputError, match="does not exist"):
        load_scenarios(tmp_path / "missing.json", "project_json", JEONG_20)
