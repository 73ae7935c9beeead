"""emovec.readers.paper_steering: what the compose stage writes (steering_entry) reads back into
the same dataclasses, and a composed paper.yaml's steering part is written through it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emovec.compose.selection import compose_all, read_selection
from emovec.config.schema import RegimeConfig
from emovec.errors import EmovecInputError
from emovec.paths import CONF_DIR
from emovec.readers.paper_steering import SteeringModelSpec, load_steering_spec, steering_entry

MODELS = (SteeringModelSpec("b-base", "base", "fam", "b-inst"), SteeringModelSpec("b-inst", "instruct", "fam", None))
REGIMES = RegimeConfig(low_strength=0.004, high_strength=0.06, explosive_min_ratio=4.0, collapse_max_distinct2=0.3,
                       collapse_min_repeat=5)


def test_the_written_entry_reads_back_as_the_same_specs():
    raw = steering_entry(MODELS, [("vader", "VADER 3.3.2")], REGIMES, 0.9)
    spec = load_steering_spec(raw, 3, "steering")
    assert spec.models == MODELS and spec.regimes == REGIMES and spec.ci_level == 0.9
    assert [(c.name, c.display_name) for c in spec.classifiers] == [("vader", "VADER 3.3.2")]
    assert steering_entry(spec.models, [(c.name, c.display_name) for c in spec.classifiers], spec.regimes,
                          spec.ci_level) == raw


def test_without_models_the_entry_is_an_empty_list_and_reads_back_empty():
    raw = steering_entry([], [], None, None)
    assert raw == {"models": []}
    spec = load_steering_spec(raw, 3, "steering")
    assert (spec.models, spec.classifiers, spec.regimes, spec.ci_level) == ((), (), None, None)


def test_a_written_entry_missing_a_key_is_refused_naming_it():
    raw = steering_entry(MODELS, [("vader", "VADER 3.3.2")], REGIMES, 0.9)
    del raw["models"][1]["family"]
    with pytest.raises(EmovecInputError, match=r"steering.models\[1\]: missing key\(s\) \['family'\]"):
        load_steering_spec(raw, 3, "steering")


def test_the_composed_paper_config_writes_its_steering_part_through_steering_entry(tmp_path: Path):
    compose_all(read_selection(CONF_DIR / "selection.yaml"), tmp_path)
    raw = yaml.safe_load((tmp_path / "paper.yaml").read_text(encoding="utf-8"))["steering"]
    spec = load_steering_spec(raw, 3, "steering")
    assert spec.models, "the default selection steers"
    assert steering_entry(spec.models, [(c.name, c.display_name) for c in spec.classifiers], spec.regimes,
                          spec.ci_level) == raw
