"""Emotion classifiers that read steered text (Jeong 2026 §5.2), behind a registry.

Every classifier returns probabilities over the 7 labels of
j-hartmann/emotion-english-distilroberta-base, always in :data:`EKMAN7` column order, so tables
can compare classifiers column by column. Jeong's 20 emotions are mapped onto those labels by a
documented CSV (``stimuli/emotion_to_ekman7.csv``, columns ``emotion,label,rationale``).

* ``hf_sequence_classifier``: any Hugging Face sequence classifier with exactly those 7 labels
  (j-hartmann by default), from a local ``save_pretrained`` directory or the hub.
* ``toy_lexicon``: the offline fallback for the toy default: label-specific words of the toy
  corpus's lexicons, counted and smoothed. It is NOT j-hartmann and its ``display_name`` says so,
  so no table can pass its numbers off as the real classifier's.

Adding a classifier is one decorated factory ``fn(cfg: ClassifierConfig) -> EmotionClassifier``.
Factories load everything they need, so a missing model fails before any generation work.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from emovec.config import PACKAGE_DIR, REPO_ROOT, ClassifierConfig
from emovec.errors import EmovecInputError

# The output column order of every classifier (j-hartmann's labels, alphabetical).
EKMAN7: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")

LABEL_MAP_COLUMNS: tuple[str, ...] = ("emotion", "label", "rationale")

# ---------------------------------------------------------------------------------- label map


def resolve_label_map_path(label_map: str) -> Path:
    """An absolute path as is; a relative one is taken relative to the package dir src/emovec
    (where the shipped ``stimuli/emotion_to_ekman7.csv`` lives)."""
    path = Path(label_map)
    return path if path.is_absolute() else PACKAGE_DIR / path


def read_label_map(path: str | Path) -> dict[str, str]:
    """Read an ``emotion,label,rationale`` CSV into ``{emotion: label}`` (label in :data:`EKMAN7`).

    Errors name the file and the 1-based data row (the header is row 0): missing file, missing
    columns, empty emotion, unknown label, duplicate emotion. The rationale is documentation only.
    """
    path = Path(path)
    if not path.is_file():
        raise EmovecInputError(f"label map {path} does not exist (set steering.classifier.label_map)")
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
            if label not in EKMAN7:
                raise EmovecInputError(f"{where}: label {label!r} for {emotion!r} is not one of {list(EKMAN7)}")
            if emotion in out:
                raise EmovecInputError(f"{where}: duplicate emotion {emotion!r}")
            out[emotion] = label
    return out


def target_label(label_map: Mapping[str, str], emotion: str, where: str) -> str:
    """The EKMAN7 label of ``emotion``; ``where`` (the map file) is named when it is unmapped."""
    if emotion not in label_map:
        raise EmovecInputError(f"emotion {emotion!r} has no label in the label map {where}; add a row "
                               f"'{emotion},<one of {'|'.join(EKMAN7)}>,<rationale>'")
    return label_map[emotion]


# ---------------------------------------------------------------------------------- protocol + registry


@runtime_checkable
class EmotionClassifier(Protocol):
    """Reads texts, returns label probabilities.

    ``name`` is the registry key; ``display_name`` is how tables and figures must name it.
    ``predict(texts)`` -> float64 ``[len(texts), 7]``, columns in :data:`EKMAN7` order, rows
    summing to 1; empty input -> shape ``(0, 7)``.
    """

    name: str
    display_name: str

    def predict(self, texts: Sequence[str]) -> np.ndarray: ...


ClassifierFactory = Callable[[ClassifierConfig], EmotionClassifier]
CLASSIFIERS: dict[str, ClassifierFactory] = {}


def register_classifier(name: str) -> Callable[[ClassifierFactory], ClassifierFactory]:
    """Register ``factory(cfg) -> EmotionClassifier`` under ``name`` (steering.classifier.name)."""
    def deco(factory: ClassifierFactory) -> ClassifierFactory:
        CLASSIFIERS[name] = factory
        return factory
    return deco


def build_classifier(cfg: ClassifierConfig) -> EmotionClassifier:
    """The classifier ``cfg.name`` names, fully loaded (so loading errors come before any work)."""
    if cfg.name not in CLASSIFIERS:
        raise EmovecInputError(f"unknown steering.classifier.name {cfg.name!r}; known classifiers: "
                               f"{sorted(CLASSIFIERS)}")
    return CLASSIFIERS[cfg.name](cfg)


def _empty_probs() -> np.ndarray:
    return np.zeros((0, len(EKMAN7)), dtype=np.float64)


# ---------------------------------------------------------------------------------- toy lexicon

_WORD = re.compile(r"[a-z]+")
_MIN_WORD_LEN = 3  # drops "a", "to", "of", ...: too short to carry a label


def _phrase_words(phrases: frozenset[str]) -> set[str]:
    return {w for p in phrases for w in _WORD.findall(p.lower()) if len(w) >= _MIN_WORD_LEN}


def toy_label_words(label_map: Mapping[str, str], where: str) -> dict[str, frozenset[str]]:
    """Per EKMAN7 label, the toy-corpus words specific to it.

    A label's words are those in the lexicon phrases of the categories mapped to it (the neutral
    category -> "neutral", emotions through ``label_map``), minus every word that also occurs in a
    category mapped to another label: a shared word (pronouns, "the", ...) would otherwise vote
    for several labels and blur the argmax. Labels no category maps to get no words.
    """
    from emovec.emotions import NEUTRAL
    from emovec.toy.corpus import CATEGORIES, category_phrases

    words_by_category = {c: _phrase_words(category_phrases(c)) for c in CATEGORIES}
    label_of = {c: ("neutral" if c == NEUTRAL else target_label(label_map, c, where)) for c in CATEGORIES}
    out: dict[str, frozenset[str]] = {}
    for label in EKMAN7:
        own = set().union(*(w for c, w in words_by_category.items() if label_of[c] == label))
        other = set().union(*(w for c, w in words_by_category.items() if label_of[c] != label))
        out[label] = frozenset(own - other)
    return out


class ToyLexiconClassifier:
    """Counts label-specific toy-corpus words; probs = (counts + alpha) / (total + 7 alpha).

    Offline fallback for the toy default only: it knows nothing beyond the toy lexicons.
    """

    name = "toy_lexicon"
    display_name = "toy lexicon classifier (offline fallback, not j-hartmann)"

    def __init__(self, words: Mapping[str, frozenset[str]], alpha: float) -> None:
        if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha > 0):
            raise EmovecInputError(f"steering.classifier.alpha={alpha!r} must be a finite number > 0 "
                                   "(add-alpha smoothing keeps every probability defined)")
        self._words = {label: frozenset(words.get(label, frozenset())) for label in EKMAN7}
        self._label_of_word = {w: j for j, label in enumerate(EKMAN7) for w in self._words[label]}
        if len(self._label_of_word) != sum(len(s) for s in self._words.values()):
            raise EmovecInputError("toy_lexicon: label word sets must be pairwise disjoint")
        self.alpha = float(alpha)

    def label_words(self) -> dict[str, frozenset[str]]:
        """The word set of each EKMAN7 label (pairwise disjoint)."""
        return dict(self._words)

    def counts(self, text: str) -> np.ndarray:
        """int64 [7]: occurrences of each label's words in the lowercased ``text``."""
        out = np.zeros(len(EKMAN7), dtype=np.int64)
        for w in _WORD.findall(text.lower()):
            j = self._label_of_word.get(w)
            if j is not None:
                out[j] += 1
        return out

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """float64 [len(texts), 7] smoothed label shares, EKMAN7 order."""
        if len(texts) == 0:
            return _empty_probs()
        counts = np.stack([self.counts(t) for t in texts]).astype(np.float64)
        return (counts + self.alpha) / (counts.sum(axis=1, keepdims=True) + len(EKMAN7) * self.alpha)


@register_classifier("toy_lexicon")
def build_toy_lexicon(cfg: ClassifierConfig) -> ToyLexiconClassifier:
    """The toy lexicon classifier from the toy corpus and ``cfg.label_map``."""
    path = resolve_label_map_path(cfg.label_map)
    return ToyLexiconClassifier(toy_label_words(read_label_map(path), str(path)), cfg.alpha)


def classifier_display_name(cfg: ClassifierConfig) -> str:
    """How tables name the classifier a config builds, without loading it (the compose stage
    writes it into the paper config)."""
    if cfg.name == "toy_lexicon":
        return ToyLexiconClassifier.display_name
    return cfg.local_dir or cfg.model_id or cfg.name


# ---------------------------------------------------------------------------------- HF sequence classifier


def _hf_source(cfg: ClassifierConfig) -> str:
    """A local directory (relative paths from the repo root, like model.local_dir) or the hub id."""
    if cfg.local_dir:
        path = Path(cfg.local_dir)
        return str(path if path.is_absolute() else REPO_ROOT / path)
    if cfg.model_id:
        return cfg.model_id
    raise EmovecInputError("steering.classifier sets neither local_dir nor model_id")


def _how_to_provide(source: str) -> str:
    return (f"could not load the emotion classifier from {source}; set steering.classifier.local_dir to "
            "a directory with config.json, *.safetensors and the tokenizer files (save_pretrained), or "
            "use steering.classifier.name=toy_lexicon offline")


def _column_order(id2label: Mapping[Any, str], source: str) -> list[int]:
    """Model output index of each EKMAN7 label, in EKMAN7 order."""
    index = {str(label).lower(): int(i) for i, label in id2label.items()}
    if len(index) != len(id2label) or set(index) != set(EKMAN7):
        raise EmovecInputError(f"emotion classifier {source}: labels {sorted(map(str, id2label.values()))} "
                               f"are not exactly {list(EKMAN7)}")
    return [index[label] for label in EKMAN7]


class HFSequenceClassifier:
    """A Hugging Face sequence classifier (CPU, eval mode) with the 7 EKMAN7 labels."""

    name = "hf_sequence_classifier"

    def __init__(self, model: Any, tokenizer: Any, source: str, batch_size: int, max_length: int,
                 display_name: str | None = None) -> None:
        for key, value in (("batch_size", batch_size), ("max_length", max_length)):
            if not isinstance(value, int) or value < 1:
                raise EmovecInputError(f"steering.classifier.{key}={value!r} must be an integer >= 1")
        if tokenizer.pad_token_id is None:
            raise EmovecInputError(f"emotion classifier {source}: the tokenizer has no pad token, "
                                   "which batched classification needs")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.display_name = display_name or source
        self.batch_size = batch_size
        self.max_length = max_length
        self.columns = _column_order(model.config.id2label, source)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """float64 [len(texts), 7] softmax probabilities, EKMAN7 order; texts are truncated to
        ``max_length`` tokens and classified ``batch_size`` at a time."""
        import torch

        if len(texts) == 0:
            return _empty_probs()
        out: list[np.ndarray] = []
        device = next(self.model.parameters()).device
        with torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                batch = list(texts[start: start + self.batch_size])
                enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                                     return_tensors="pt").to(device)
                # Softmax in float64: tiny differences between steered conditions must not be
                # float32 rounding.
                logits = self.model(**enc).logits.to(torch.float64)
                out.append(torch.softmax(logits, dim=-1)[:, self.columns].cpu().numpy())
        return np.concatenate(out, axis=0)


@register_classifier("hf_sequence_classifier")
def build_hf_sequence_classifier(cfg: ClassifierConfig) -> HFSequenceClassifier:
    """Load tokenizer + safetensors weights now (no remote code), failing with how to fix it."""
    source = _hf_source(cfg)
    if cfg.local_dir and not Path(source).is_dir():
        raise EmovecInputError(f"steering.classifier.local_dir {source} does not exist; {_how_to_provide(source)}")
    try:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(source, revision=cfg.revision, trust_remote_code=False)
        model = AutoModelForSequenceClassification.from_pretrained(
            source, revision=cfg.revision, use_safetensors=True, trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001 - any loading failure (offline, missing files) gets one clear message
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise EmovecInputError(f"{_how_to_provide(source)} ({type(exc).__name__}: {first_line})") from exc
    # Tables name the classifier as configured (hub id or local_dir as written), not by a
    # machine-specific absolute path.
    display = cfg.local_dir or cfg.model_id or source
    return HFSequenceClassifier(model, tokenizer, source, cfg.batch_size, cfg.max_length, display)
