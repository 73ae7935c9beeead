"""The lexicon classifiers: the toy-lexicon fallback, VADER and the NRC emotion lexicon (each
registered here; the catalogue: :mod:`emovec.steering.classifiers`)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from emovec.config.schema import ClassifierConfig
from emovec.errors import EmovecInputError
from emovec.steering.classifier_registry import (
    EKMAN7,
    NRC_LABELS,
    VADER_LABELS,
    empty_scores,
    package_version,
    read_label_map,
    register_classifier,
    resolve_label_map_path,
    target_label,
)

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
            return empty_scores(EKMAN7)
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
    return f"VADER {package_version('vaderSentiment', 'vader')} (compound valence)"


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
            return empty_scores(VADER_LABELS)
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
    return f"NRC emotion lexicon (NRCLex {package_version('NRCLex', 'nrc_lexicon')})"


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
            return empty_scores(NRC_LABELS)
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
