"""Emotion classifiers that read steered text (Jeong 2026 §5.2), behind a registry.

Each classifier declares its own output columns, ``labels``, and maps Jeong's emotions onto one
of them through a documented CSV (columns ``emotion,label,rationale``; the rationale is
documentation only). The *target score* of a generation, ``p_target``, is the column of the
label its scenario's emotion maps to, so one rule reads every classifier: a steering success is
a shift of ``p_target`` toward the target (direction x shift > 0, ``emovec.paper.steering``).

=========================== ========================================= ===================================
registry name               labels (output columns, in this order)    score per label
=========================== ========================================= ===================================
``hf_sequence_classifier``  :data:`EKMAN7` (j-hartmann's 7 labels)    softmax probability (rows sum to 1)
``toy_lexicon``             :data:`EKMAN7`                            smoothed share of toy-lexicon words
``vader``                   :data:`VADER_LABELS`                      (compound, -compound), in [-1, 1]
``nrc_lexicon``             :data:`NRC_LABELS`                        share of NRC-lexicon hits, in [0, 1]
=========================== ========================================= ===================================

* ``hf_sequence_classifier``: any Hugging Face sequence classifier with exactly the EKMAN7
  labels (j-hartmann/emotion-english-distilroberta-base, Jeong's classifier), from a local
  ``save_pretrained`` directory or the hub. Map: ``stimuli/emotion_to_ekman7.csv``.
* ``toy_lexicon``: the offline fallback for the toy default: label-specific words of the toy
  corpus's lexicons, counted and smoothed. It is NOT j-hartmann and its ``display_name`` says so.
  Map: ``stimuli/emotion_to_ekman7.csv``.
* ``vader``: vaderSentiment's ``SentimentIntensityAnalyzer`` (Hutto & Gilbert 2014; its lexicon
  ships in the package). Its compound score ``c`` is valence in [-1, 1]; the two columns are
  ``valence_positive = c`` and ``valence_negative = -c``, and each emotion maps to the column of
  the sign of its valence (``stimuli/emotion_to_vader_valence.csv``: the sign of NRC-VAD v1
  valence). So ``p_target = c x sign(valence of the target emotion)``: a steering success is a
  shift toward the sign of the target emotion's valence. VADER cannot tell emotions of the same
  valence apart (happy and calm read alike).
* ``nrc_lexicon``: the NRC word-emotion association lexicon (Mohammad & Turney 2013) bundled with
  NRCLex (``nrclex/data/nrc_en.json``), read through the package, never downloaded. Texts are
  tokenised here (see :func:`nrc_tokens`), not by NRCLex's raw-text path (TextBlob + NLTK corpora).
  Score of a label = share of the text's lexicon hits (tokens that are NRC entries) associated
  with the label; a word may carry several labels, so rows need not sum to 1. A text without
  any hit scores 0 on every label (``hits`` counts the hits, and the classify stage writes them).
  Map: ``stimuli/emotion_to_nrc.csv``.

Registering a classifier is one decorated factory ``fn(cfg: ClassifierConfig) -> EmotionClassifier``
plus its labels, score range and display name (:func:`register_classifier`). Factories load
everything they need, so a missing model or package fails before any classification work.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from emovec.config import ClassifierConfig
from emovec.errors import EmovecInputError
from emovec.paths import PACKAGE_DIR, REPO_ROOT
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


def _package_version(dist: str, name: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        raise EmovecInputError(f"classifier {name!r} needs the package {dist}, which is not installed "
                               f"(pip install --no-deps {dist})") from None


def _empty(labels: Sequence[str]) -> np.ndarray:
    return np.zeros((0, len(labels)), dtype=np.float64)


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


_TOY_DISPLAY = "toy lexicon classifier (offline fallback, not j-hartmann)"


class ToyLexiconClassifier:
    """Counts label-specific toy-corpus words; probs = (counts + alpha) / (total + 7 alpha).

    Offline fallback for the toy default only: it knows nothing beyond the toy lexicons.
    """

    name = "toy_lexicon"
    display_name = _TOY_DISPLAY
    labels = EKMAN7

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

    def hits(self, texts: Sequence[str]) -> np.ndarray:
        """int64 [len(texts)]: label words per text (0: the row is the uniform 1/7)."""
        return np.array([int(self.counts(t).sum()) for t in texts], dtype=np.int64)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """float64 [len(texts), 7] smoothed label shares, EKMAN7 order."""
        if len(texts) == 0:
            return _empty(EKMAN7)
        counts = np.stack([self.counts(t) for t in texts]).astype(np.float64)
        return (counts + self.alpha) / (counts.sum(axis=1, keepdims=True) + len(EKMAN7) * self.alpha)


@register_classifier("toy_lexicon", score_kind="probability (smoothed share of toy-lexicon words)",
                     display=lambda cfg: _TOY_DISPLAY, no_hit="uniform probabilities 1/7")
def build_toy_lexicon(cfg: ClassifierConfig) -> ToyLexiconClassifier:
    """The toy lexicon classifier from the toy corpus and ``cfg.label_map``."""
    path = resolve_label_map_path(cfg.label_map)
    return ToyLexiconClassifier(toy_label_words(read_label_map(path, EKMAN7, cfg.name), str(path)), cfg.alpha)


# ---------------------------------------------------------------------------------- VADER


def _vader_display(cfg: ClassifierConfig) -> str:
    return f"VADER {_package_version('vaderSentiment', 'vader')} (compound valence)"


class VaderClassifier:
    """vaderSentiment's compound valence: columns (compound, -compound) = :data:`VADER_LABELS`."""

    name = "vader"
    labels = VADER_LABELS

    def __init__(self, analyzer: Any, display_name: str) -> None:
        self.analyzer = analyzer
        self.display_name = display_name

    def compound(self, texts: Sequence[str]) -> np.ndarray:
        """float64 [len(texts)]: VADER's compound score of each text, in [-1, 1]."""
        return np.array([float(self.analyzer.polarity_scores(t)["compound"]) for t in texts], dtype=np.float64)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """float64 [len(texts), 2]: (compound, -compound)."""
        if len(texts) == 0:
            return _empty(VADER_LABELS)
        c = self.compound(texts)
        return np.stack([c, 0.0 - c], axis=1)  # 0.0 - c: no -0.0 for a compound of 0

    def hits(self, texts: Sequence[str]) -> np.ndarray:
        """int64 [len(texts)]: tokens VADER's lexicon rates (0: compound is 0 for lack of words).

        Tokens as VADER 3.3.2 makes them in ``polarity_scores``: emojis replaced by their
        descriptions, whitespace split, surrounding punctuation stripped, looked up lowercased.
        """
        from vaderSentiment.vaderSentiment import SentiText

        out = []
        for text in texts:
            no_emoji, prev_space = "", True
            for ch in text:
                if ch in self.analyzer.emojis:
                    no_emoji += ("" if prev_space else " ") + self.analyzer.emojis[ch]
                    prev_space = False
                else:
                    no_emoji += ch
                    prev_space = ch == " "
            words = SentiText(no_emoji.strip()).words_and_emoticons
            out.append(sum(1 for w in words if w.lower() in self.analyzer.lexicon))
        return np.array(out, dtype=np.int64)


@register_classifier("vader", labels=VADER_LABELS, score_range=(-1.0, 1.0),
                     score_kind="VADER compound valence times the sign of the target emotion's valence (NRC-VAD v1)",
                     label_map="stimuli/emotion_to_vader_valence.csv", display=_vader_display,
                     no_hit="compound 0")
def build_vader(cfg: ClassifierConfig) -> VaderClassifier:
    """VADER with its bundled lexicon (no download)."""
    display = _vader_display(cfg)
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return VaderClassifier(SentimentIntensityAnalyzer(), display)


# ---------------------------------------------------------------------------------- NRC emotion lexicon


def _nrc_display(cfg: ClassifierConfig) -> str:
    return f"NRC emotion lexicon (NRCLex {_package_version('NRCLex', 'nrc_lexicon')})"


def nrc_tokens(text: str) -> list[str]:
    """Lowercase ``[a-z]+`` words of ``text``. No lemmatisation (unlike NRCLex's raw-text path,
    which lemmatises with TextBlob): "smiled" and "smiles" only hit if they are entries
    themselves; every NRC entry is a single ``[a-z]+`` word, so each entry can be hit."""
    return _WORD.findall(text.lower())


def read_nrc_lexicon() -> dict[str, tuple[str, ...]]:
    """The NRC lexicon bundled with NRCLex, ``{word: labels}``, read through the package
    (``nrclex.data/nrc_en.json``, the file ``NRCLex()`` loads by default)."""
    from importlib import resources

    from nrclex.core import DEFAULT_LEXICON_FILENAME

    with resources.files("nrclex.data").joinpath(DEFAULT_LEXICON_FILENAME).open("r", encoding="utf-8") as fh:
        raw = json.load(fh)
    out = {}
    for word, labels in raw.items():
        unknown = sorted(set(labels) - set(NRC_LABELS))
        if unknown:
            raise EmovecInputError(f"NRCLex lexicon: entry {word!r} has label(s) {unknown} outside {list(NRC_LABELS)}")
        out[word] = tuple(labels)
    return out


class NRCLexiconClassifier:
    """Share of a text's NRC-lexicon hits associated with each of :data:`NRC_LABELS`.

    hits = tokens (:func:`nrc_tokens`) that are lexicon entries, repeats counted; score(label) =
    hits carrying the label / hits. Texts without a hit score 0 on every label.
    """

    name = "nrc_lexicon"
    labels = NRC_LABELS

    def __init__(self, lexicon: Mapping[str, Sequence[str]], display_name: str) -> None:
        self.display_name = display_name
        index = {label: j for j, label in enumerate(NRC_LABELS)}
        self._columns = {w: np.array(sorted({index[lab] for lab in labs}), dtype=np.int64)
                         for w, labs in lexicon.items() if labs}

    def counts(self, text: str) -> tuple[np.ndarray, int]:
        """(int64 [10] hits carrying each label, number of hits)."""
        out = np.zeros(len(NRC_LABELS), dtype=np.int64)
        n = 0
        for w in nrc_tokens(text):
            cols = self._columns.get(w)
            if cols is not None:
                out[cols] += 1
                n += 1
        return out, n

    def hits(self, texts: Sequence[str]) -> np.ndarray:
        """int64 [len(texts)]: lexicon hits per text (0: every score is 0)."""
        return np.array([self.counts(t)[1] for t in texts], dtype=np.int64)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """float64 [len(texts), 10]: per label, the share of hits carrying it (0 without hits)."""
        if len(texts) == 0:
            return _empty(NRC_LABELS)
        rows = []
        for t in texts:
            c, n = self.counts(t)
            rows.append(c / n if n else np.zeros(len(NRC_LABELS)))
        return np.stack(rows).astype(np.float64)


@register_classifier("nrc_lexicon", labels=NRC_LABELS,
                     score_kind="share of the text's NRC-lexicon hits carrying the target's NRC label",
                     label_map="stimuli/emotion_to_nrc.csv", display=_nrc_display, no_hit="0 on every label")
def build_nrc_lexicon(cfg: ClassifierConfig) -> NRCLexiconClassifier:
    """The NRC lexicon classifier on NRCLex's bundled lexicon (no download)."""
    display = _nrc_display(cfg)
    return NRCLexiconClassifier(read_nrc_lexicon(), display)


# ---------------------------------------------------------------------------------- HF sequence classifier


def _hf_display(cfg: ClassifierConfig) -> str:
    # Tables name the classifier as configured (hub id or local_dir as written), not by a
    # machine-specific absolute path.
    return cfg.local_dir or cfg.model_id or cfg.name


def _hf_source(cfg: ClassifierConfig) -> str:
    """A local directory (relative paths from the repo root, like model.local_dir) or the hub id."""
    if cfg.local_dir:
        path = Path(cfg.local_dir)
        return str(path if path.is_absolute() else REPO_ROOT / path)
    if cfg.model_id:
        return cfg.model_id
    raise EmovecInputError("steering.classifiers[] entry hf_sequence_classifier sets neither local_dir nor model_id")


def _how_to_provide(source: str) -> str:
    return (f"could not load the emotion classifier from {source}; set steering.classifiers[].local_dir to "
            "a directory with config.json, *.safetensors and the tokenizer files (save_pretrained), or "
            "list only offline classifiers (vader, nrc_lexicon; toy_lexicon for the toy)")


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
    labels = EKMAN7

    def __init__(self, model: Any, tokenizer: Any, source: str, batch_size: int, max_length: int,
                 display_name: str | None = None) -> None:
        for key, value in (("batch_size", batch_size), ("max_length", max_length)):
            if not isinstance(value, int) or value < 1:
                raise EmovecInputError(f"steering.classifiers[].{key}={value!r} must be an integer >= 1")
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
            return _empty(EKMAN7)
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


@register_classifier("hf_sequence_classifier", score_kind="softmax probability of the target label",
                     display=_hf_display)
def build_hf_sequence_classifier(cfg: ClassifierConfig) -> HFSequenceClassifier:
    """Load tokenizer + safetensors weights now (no remote code), failing with how to fix it."""
    source = _hf_source(cfg)
    if cfg.local_dir and not Path(source).is_dir():
        raise EmovecInputError(f"steering.classifiers[].local_dir {source} does not exist; {_how_to_provide(source)}")
    try:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(source, revision=cfg.revision, trust_remote_code=False)
        model = AutoModelForSequenceClassification.from_pretrained(
            source, revision=cfg.revision, use_safetensors=True, trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001 - any loading failure (offline, missing files) gets one clear message
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise EmovecInputError(f"{_how_to_provide(source)} ({type(exc).__name__}: {first_line})") from exc
    return HFSequenceClassifier(model, tokenizer, source, cfg.batch_size, cfg.max_length, _hf_display(cfg))
