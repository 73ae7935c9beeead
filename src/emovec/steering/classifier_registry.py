"""The classifier registry: the protocol a classifier implements, its registration, and the
label maps that turn an emotion into the label a classifier scores (the catalogue of
classifiers and their labels: :mod:`emovec.steering.classifiers`).

Registering a classifier is one decorated factory ``fn(cfg: ClassifierConfig) -> EmotionClassifier``
plus its labels, score range and display name (:func:`register_classifier`). Factories load
everything they need, so a missing model or package fails before any classification work.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from emovec.config.schema import ClassifierConfig
from emovec.errors import EmovecInputError
from emovec.paths import PACKAGE_DIR
from emovec.registry import Registry

# The output columns of j-hartmann (its labels, alphabetical); also toy_lexicon's.
EKMAN7: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
# VADER: compound and its negation, so "toward negative valence" is also a rise of a column.
VADER_LABELS: tuple[str, ...] = ("valence_positive", "valence_negative")
# NRC: Plutchik's 8 emotions (alphabetical), then the two polarity labels.
NRC_LABELS: tuple[str, ...] = ("anger", "anticipation", "disgust", "fear", "joy", "sadness", "surprise", "trust",
                               "positive", "negative")

LABEL_MAP_COLUMNS: tuple[str, ...] = ("emotion", "label", "rationale")

# ---------------------------------------------------------------------------------- label map


def resolve_label_map_path(label_map: str) -> Path:
    """An absolute path as is; a relative one is taken relative to the package dir src/emovec
    (where the shipped ``stimuli/emotion_to_*.csv`` maps live)."""
    path = Path(label_map)
    return path if path.is_absolute() else PACKAGE_DIR / path


def read_label_map(path: str | Path, labels: Sequence[str] = EKMAN7, classifier: str | None = None) -> dict[str, str]:
    """Read an ``emotion,label,rationale`` CSV into ``{emotion: label}``, every label one of ``labels``
    (the output columns of the classifier the map is for; ``classifier`` names it in errors).

    Errors name the file and the 1-based data row (the header is row 0): missing file, missing
    columns, empty emotion, a label that is not one of ``labels``, duplicate emotion. The
    rationale is documentation only.
    """
    path = Path(path)
    whose = f" of classifier {classifier!r}" if classifier else ""
    if not path.is_file():
        raise EmovecInputError(f"label map {path}{whose} does not exist (set steering.classifiers[].label_map)")
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in LABEL_MAP_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise EmovecInputError(f"label map {path}: missing column(s) {missing}; found {reader.fieldnames}, "
                                   f"expected {list(LABEL_MAP_COLUMNS)}")
        out: dict[str, str] = {}
        for row_no, rec in enumerate(reader, start=1):
            emotion, label = (rec["emotion"] or "").strip(), (rec["label"] or "").strip()
            where = f"label map {path}: data row {row_no}"
            if not emotion:
                raise EmovecInputError(f"{where}: empty emotion")
            if label not in labels:
                hint = ""
                if classifier in CLASSIFIER_INFO:
                    hint = f" (classifier {classifier!r} reads the map {CLASSIFIER_INFO[classifier].label_map})"
                raise EmovecInputError(f"{where}: label {label!r} for {emotion!r} is not one of {list(labels)}, "
                                       f"the labels{whose}{hint}")
            if emotion in out:
                raise EmovecInputError(f"{where}: duplicate emotion {emotion!r}")
            out[emotion] = label
    return out


def target_label(label_map: Mapping[str, str], emotion: str, where: str, labels: Sequence[str] = EKMAN7) -> str:
    """The label ``emotion`` maps to; ``where`` (the map file) is named when it is unmapped."""
    if emotion not in label_map:
        raise EmovecInputError(f"emotion {emotion!r} has no label in the label map {where}; add a row "
                               f"'{emotion},<one of {'|'.join(labels)}>,<rationale>'")
    return label_map[emotion]


# ---------------------------------------------------------------------------------- protocol + registry


@runtime_checkable
class EmotionClassifier(Protocol):
    """Reads texts, returns one score per label.

    ``name`` is the registry key; ``display_name`` is how tables and figures must name it (equal
    to :func:`classifier_display_name` of its config); ``labels`` are its output columns.
    ``predict(texts)`` -> float64 ``[len(texts), len(labels)]``, columns in ``labels`` order,
    scores within the registered range; empty input -> shape ``(0, len(labels))``.

    Lexicon classifiers also have ``hits(texts)`` -> int64 ``[len(texts)]``: how many tokens of
    each text the lexicon rated (0 = nothing to read; such texts score 0 / uniform).
    """

    name: str
    display_name: str
    labels: tuple[str, ...]

    def predict(self, texts: Sequence[str]) -> np.ndarray: ...


ClassifierFactory = Callable[[ClassifierConfig], EmotionClassifier]


@dataclass(frozen=True)
class ClassifierInfo:
    """What is known about a registered classifier without loading it."""

    labels: tuple[str, ...]  # output columns, in order
    score_min: float  # every score lies in [score_min, score_max]
    score_max: float
    score_kind: str  # what a score is, for captions ("probability", ...)
    label_map: str  # the shipped map onto ``labels`` (relative to src/emovec)
    display: Callable[[ClassifierConfig], str]  # classifier_display_name of a config
    no_hit: str | None = None  # lexicon classifiers: what a text without a lexicon hit scores


CLASSIFIERS: Registry[ClassifierFactory] = Registry("classifier")
CLASSIFIER_INFO: Registry[ClassifierInfo] = Registry("classifier")  # same names as CLASSIFIERS


def register_classifier(name: str, *, labels: Sequence[str] = EKMAN7, score_range: tuple[float, float] = (0.0, 1.0),
                        score_kind: str = "probability", label_map: str = "stimuli/emotion_to_ekman7.csv",
                        display: Callable[[ClassifierConfig], str] | None = None, no_hit: str | None = None,
                        ) -> Callable[[ClassifierFactory], ClassifierFactory]:
    """Register ``factory(cfg) -> EmotionClassifier`` under ``name`` (steering.classifiers[].name)
    with its output ``labels``, score range, what a score is, its shipped label map, how
    captions name it (default: the name) and, for lexicon classifiers (which have ``hits``),
    what a text without a lexicon hit scores."""
    lo, hi = score_range
    labels = tuple(labels)
    if not labels or len(set(labels)) != len(labels) or not lo < hi:
        raise ValueError(f"classifier {name!r}: labels must be distinct and non-empty, score_range increasing")

    def deco(factory: ClassifierFactory) -> ClassifierFactory:
        CLASSIFIERS.add(name, factory)
        CLASSIFIER_INFO.add(name, ClassifierInfo(labels=labels, score_min=float(lo), score_max=float(hi),
                                               score_kind=score_kind, label_map=label_map,
                                               display=display or (lambda cfg: cfg.name), no_hit=no_hit))
        return factory
    return deco


def classifier_info(name: str) -> ClassifierInfo:
    """The registry entry of ``name``; unknown names list the known ones."""
    if name not in CLASSIFIER_INFO:
        raise EmovecInputError(f"unknown steering.classifiers[].name {name!r}; known classifiers: "
                               f"{sorted(CLASSIFIER_INFO)}")
    return CLASSIFIER_INFO[name]


def classifier_labels(name: str) -> tuple[str, ...]:
    """The output columns of classifier ``name``."""
    return classifier_info(name).labels


def classifier_display_name(cfg: ClassifierConfig) -> str:
    """How tables name the classifier a config builds, without loading it (the compose stage
    writes it into the paper config; the built classifier's ``display_name`` is the same).
    Package versions come from the installed distributions (importlib.metadata)."""
    return classifier_info(cfg.name).display(cfg)


def build_classifier(cfg: ClassifierConfig) -> EmotionClassifier:
    """The classifier ``cfg.name`` names, fully loaded (so loading errors come before any work)."""
    if cfg.name not in CLASSIFIERS:
        raise EmovecInputError(f"unknown classifier name {cfg.name!r} (steering.classifiers[].name); "
                               f"known classifiers: {sorted(CLASSIFIERS)}")
    return CLASSIFIERS[cfg.name](cfg)


def load_target_labels(cfg: ClassifierConfig, emotions: Sequence[str], where: str) -> tuple[Path, list[str]]:
    """Read ``cfg``'s label map (checked against the classifier's labels) and map every emotion.

    ``where`` names the emotions' source (e.g. the generations file); an unmapped emotion raises
    naming the map file, the emotion and its 1-based row in ``where``. Loads no classifier.
    Returns the resolved map path and one target label per emotion.
    """
    info = classifier_info(cfg.name)
    path = resolve_label_map_path(cfg.label_map)
    label_map = read_label_map(path, info.labels, cfg.name)
    out = []
    for i, emotion in enumerate(emotions):
        if emotion not in label_map:
            raise EmovecInputError(
                f"{where}: row {i + 1}: emotion {emotion!r} has no label in the label map {path} of classifier "
                f"{cfg.name!r}; add a row '{emotion},<one of {'|'.join(info.labels)}>,<rationale>'")
        out.append(label_map[emotion])
    return path, out


def check_classifier_config(cfg: ClassifierConfig) -> None:
    """Check without loading anything that ``cfg`` names a registered classifier and that its
    label map exists and names only that classifier's labels (for config validation, so a map
    of another classifier fails at compose time rather than in the classify stage)."""
    info = classifier_info(cfg.name)
    read_label_map(resolve_label_map_path(cfg.label_map), info.labels, cfg.name)


def package_version(dist: str, name: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        raise EmovecInputError(f"classifier {name!r} needs the package {dist}, which is not installed "
                               f"(pip install --no-deps {dist})") from None


def empty_scores(labels: Sequence[str]) -> np.ndarray:
    return np.zeros((0, len(labels)), dtype=np.float64)
