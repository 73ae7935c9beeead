"""Composing a cell: every value that names a registry entry is checked at compose, against the
registry itself (emovec.compose.cells.REGISTRY_KEYS), and a newly registered entry needs no second list."""

from __future__ import annotations

import pytest

from emovec.compose import cells
from emovec.compose.cells import REGISTRY_KEYS, compose_cell
from emovec.errors import EmovecInputError

# A misspelled value for every registry key, on a cell where the key is used.
MISSPELLED: dict[str, tuple[str, str, list[str]]] = {
    "corpus.pooling": ("toy-base", "toy-comprehension", ["corpus.pooling=last_tokn"]),
    "corpus.emotion_set": ("toy-base", "toy-comprehension", ["corpus.emotion_set=jeong21"]),
    "vectors.baseline": ("toy-base", "toy-comprehension", ["vectors.baseline=grand_meen"]),
    "valence.compare_baseline": ("toy-base", "toy-comprehension", ["valence.compare_baseline=neutral_pcaa"]),
    "valence.norms": ("toy-base", "toy-comprehension", ["valence.norms=nrc_vad_v2"]),
    "valence.norms_fallback": ("toy-base", "toy-comprehension",
                               ["valence.on_missing=fallback", "valence.norms_fallback=warriner2031"]),
    "valence.orientation": ("toy-base", "toy-comprehension", ["valence.orientation=anchr"]),
    "steering.scenario_format": ("toy-base", "toy-comprehension", ["steering.scenario_format=jeong_protocl"]),
    "steering.norm_reference": ("toy-base", "toy-comprehension", ["steering.norm_reference=prompt_mean_nrom"]),
    "steering.classifiers": ("toy-base", "toy-comprehension", ["steering.classifiers=[{name: vadr}]"]),
    "model.weights.source": ("smollm2-135m-instruct", "jeong-comprehension", ["model.weights.source=gguf_pkg"]),
}


def test_every_registry_key_has_a_misspelling_case():
    assert set(MISSPELLED) == set(REGISTRY_KEYS)


@pytest.mark.parametrize("key", sorted(MISSPELLED))
def test_a_misspelled_registry_name_fails_at_compose_naming_key_and_known_entries(key):
    model, corpus, overrides = MISSPELLED[key]
    compose_cell(model, corpus, "separation")  # the cell itself composes
    with pytest.raises(EmovecInputError) as err:
        compose_cell(model, corpus, "separation", overrides)
    message = str(err.value)
    bad = overrides[-1].split("=", 1)[1].strip("[]{} ").removeprefix("name: ")
    assert f"{key}" in message and repr(bad) in message
    _, registry = REGISTRY_KEYS[key]
    assert f"known: {sorted(registry())}" in message


def test_corpus_format_is_checked_against_the_reader_registry_of_its_kind():
    with pytest.raises(EmovecInputError, match=r"corpus.format='jeong_cvs' is not a registered passages reader; "
                                               r"known: \['jeong_csv', 'project_csv'\]"):
        compose_cell("toy-base", "toy-comprehension", "separation", ["corpus.format=jeong_cvs"])


def test_a_newly_registered_baseline_composes_with_no_second_list_to_edit():
    from emovec.baselines import BASELINES, register_baseline

    name = "test_only_baseline"
    with pytest.raises(EmovecInputError):
        compose_cell("toy-base", "toy-comprehension", "separation", [f"vectors.baseline={name}"])
    register_baseline(name)(BASELINES["neutral_mean"])
    try:
        cell = compose_cell("toy-base", "toy-comprehension", "separation", [f"vectors.baseline={name}"])
        assert cell.vectors.baseline == name
    finally:
        BASELINES.unregister(name)


def test_validate_cell_is_schema_then_registries(monkeypatch):
    calls = []
    monkeypatch.setattr(cells, "check_registry_names", lambda cell, where: calls.append(where))
    compose_cell("toy-base", "toy-comprehension", "separation")
    assert calls == ["cell model=toy-base corpus=toy-comprehension experiment=separation"]
