"""Compose one (model, corpus, experiment) cell: Hydra, then the schema, then every registry name.

:mod:`emovec.config.schema` declares the schemas and checks what they alone know (keys, types, fixed
choices, ranges). A value that *names a registry entry* — a pooling, a baseline, a norm source, a
classifier, a reader — is checked here, against the registry itself, so a config that misspells
one fails at compose (naming the key and the known entries) rather than in a later stage, and a
newly registered entry is accepted with no second list to edit. Every such key is in
:data:`REGISTRY_KEYS`; this is the one module that imports the registries for checking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from omegaconf.errors import ConfigKeyError

from emovec.config.checks import check_cell_schema
from emovec.config.schema import CellConfig
from emovec.errors import EmovecInputError
from emovec.paths import CONF_DIR


def _pooling_registry() -> Mapping[str, Any]:
    from emovec.activations.pooling import POOLINGS

    return POOLINGS


def _baseline_registry() -> Mapping[str, Any]:
    from emovec.baselines import BASELINES

    return BASELINES


def _norm_registry() -> Mapping[str, Any]:
    from emovec.corpora.norms import NORM_SOURCES

    return NORM_SOURCES


def _orientation_registry() -> Mapping[str, Any]:
    from emovec.geometry.orientation import ORIENTATIONS

    return ORIENTATIONS


def _scenario_registry() -> Mapping[str, Any]:
    from emovec.corpora.scenarios import SCENARIO_READERS

    return SCENARIO_READERS


def _norm_reference_registry() -> Mapping[str, Any]:
    from emovec.steering.norm_reference import NORM_REFERENCES

    return NORM_REFERENCES


def _classifier_registry() -> Mapping[str, Any]:
    from emovec.steering.classifiers import CLASSIFIERS

    return CLASSIFIERS


def _emotion_set_registry() -> Mapping[str, Any]:
    from emovec.emotions import EMOTION_SET_FILES, EMOTION_SETS

    return {**EMOTION_SETS, **EMOTION_SET_FILES}


def _weight_source_registry() -> Mapping[str, Any]:
    from emovec.models.weights import WEIGHT_SOURCES

    return WEIGHT_SOURCES


def _corpus_reader_registry(cell: CellConfig) -> Mapping[str, Any] | None:
    """The reader registry ``corpus.format`` names for this corpus kind (None: the format is a
    project generator's own name, not a registry entry)."""
    c = cell.corpus
    if c.kind == "passages":
        from emovec.corpora.stimuli import PASSAGE_READERS

        return PASSAGE_READERS
    if c.kind == "generation":
        from emovec.corpora.stimuli import TEMPLATE_READERS

        return TEMPLATE_READERS
    if c.kind == "stories" and c.source == "upstream":
        from emovec.corpora.stories import STORY_READERS

        return STORY_READERS
    return None


def _single(getter: Callable[[CellConfig], Any]) -> Callable[[CellConfig], Iterator[tuple[str, Any]]]:
    def values(cell: CellConfig) -> Iterator[tuple[str, Any]]:
        value = getter(cell)
        if value is not None:
            yield "", value

    return values


def _classifier_names(cell: CellConfig) -> Iterator[tuple[str, Any]]:
    for i, classifier in enumerate(cell.steering.classifiers):
        yield f"[{i}].name", classifier.name


# key -> (the value(s) it holds in a cell, the registry they must name). One row per key that
# names a registry entry; tests/compose/test_cells.py checks each row with a misspelled value.
REGISTRY_KEYS: dict[str, tuple[Callable[[CellConfig], Iterator[tuple[str, Any]]],
                               Callable[[], Mapping[str, Any]]]] = {
    "corpus.pooling": (_single(lambda c: c.corpus.pooling), _pooling_registry),
    "corpus.emotion_set": (_single(lambda c: c.corpus.emotion_set), _emotion_set_registry),
    "vectors.baseline": (_single(lambda c: c.vectors.baseline), _baseline_registry),
    "valence.compare_baseline": (_single(lambda c: c.valence.compare_baseline), _baseline_registry),
    "valence.norms": (_single(lambda c: c.valence.norms), _norm_registry),
    "valence.norms_fallback": (_single(lambda c: c.valence.norms_fallback), _norm_registry),
    "valence.orientation": (_single(lambda c: c.valence.orientation), _orientation_registry),
    "steering.scenario_format": (_single(lambda c: c.steering.scenario_format), _scenario_registry),
    "steering.norm_reference": (_single(lambda c: c.steering.norm_reference), _norm_reference_registry),
    "steering.classifiers": (_classifier_names, _classifier_registry),
    "model.weights.source": (_single(lambda c: c.model.weights.source if c.model.weights else None),
                             _weight_source_registry),
}


def check_registry_names(cell: CellConfig, where: str = "config") -> None:
    """Raise, naming the key and the registered entries, if a value names no registry entry."""
    for key, (values, registry) in REGISTRY_KEYS.items():
        for suffix, value in values(cell):
            known = registry()
            if value not in known:
                raise EmovecInputError(f"{where}: {key}{suffix}={value!r} is not a registered entry; "
                                       f"known: {sorted(known)}")
    readers = _corpus_reader_registry(cell)
    if readers is not None and cell.corpus.format not in readers:
        raise EmovecInputError(f"{where}: corpus.format={cell.corpus.format!r} is not a registered "
                               f"{cell.corpus.kind} reader; known: {sorted(readers)}")
    # Beyond the names: each entry's own settings, checked by the registry that owns them.
    m = cell.model
    if m.weights is not None:
        from emovec.models.weights import check_weights_config

        check_weights_config(m.weights, f"{where}: model {m.name!r}")
    from emovec.steering.classifiers import check_classifier_config

    for i, classifier in enumerate(cell.steering.classifiers):
        try:
            check_classifier_config(classifier)  # its label map names only its labels (no model is loaded)
        except EmovecInputError as exc:
            raise EmovecInputError(f"{where}: steering.classifiers[{i}] ({classifier.name}): {exc}") from None


def validate_cell(raw: DictConfig | dict, where: str = "config") -> CellConfig:
    """The schema (:func:`emovec.config.checks.check_cell_schema`), then every registry name."""
    cell = check_cell_schema(raw, where)
    check_registry_names(cell, where)
    return cell


def compose_cell(model: str, corpus: str, experiment: str, overrides: list[str] | None = None,
                 conf_dir: Path = CONF_DIR) -> CellConfig:
    """Compose ``conf/`` for one cell with Hydra and validate it (schema and registries)."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException, MissingConfigException

    where = f"cell model={model} corpus={corpus} experiment={experiment}"
    for group, name in (("model", model), ("corpus", corpus), ("experiment", experiment)):
        if not (conf_dir / group / f"{name}.yaml").is_file():
            known = sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))
            raise EmovecInputError(f"unknown {group} {name!r} (no {conf_dir / group / name}.yaml); "
                                   f"known: {known}")
    all_overrides = [f"model={model}", f"corpus={corpus}", f"experiment={experiment}",
                     *(overrides or [])]
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            raw = compose(config_name="config", overrides=all_overrides)
    except (HydraException, MissingConfigException, ConfigKeyError) as exc:
        raise EmovecInputError(f"{where}: {exc}") from None
    return validate_cell(raw, where)
