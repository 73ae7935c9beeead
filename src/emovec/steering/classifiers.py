"""Emotion classifiers that read steered text (Jeong 2026 §5.2), behind a registry.

Each classifier declares its own output columns, ``labels``, and maps Jeong's emotions onto one
of them through a documented CSV (columns ``emotion,label,rationale``; the rationale is
documentation only). The *target score* of a generation, ``p_target``, is the column of the
label its scenario's emotion maps to, so one rule reads every classifier: a steering success is
a shift of ``p_target`` toward the target (direction x shift > 0, ``emovec.analysis.agreement``).

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

The protocol, the registry and the label maps are in :mod:`emovec.steering.classifier_registry`;
the classifiers in :mod:`emovec.steering.lexicon_classifiers` and
:mod:`emovec.steering.hf_classifier`. This module imports them all (so every classifier is
registered) and is where the rest of the package imports classifiers from. A new classifier is
one module with a decorated factory (``@register_classifier``) plus its import below.
"""

from __future__ import annotations

from emovec.steering.classifier_registry import (
                                                 CLASSIFIER_INFO,
                                                 CLASSIFIERS,
                                                 EKMAN7,
                                                 LABEL_MAP_COLUMNS,
                                                 NRC_LABELS,
                                                 VADER_LABELS,
                                                 ClassifierInfo,
                                                 EmotionClassifier,
                                                 build_classifier,
                                                 check_classifier_config,
                                                 classifier_display_name,
                                                 classifier_info,
                                                 classifier_labels,
                                                 load_target_labels,
                                                 read_label_map,
                                                 register_classifier,
                                                 resolve_label_map_path,
                                                 target_label,
)

# Importing the classifier modules registers every classifier of the catalogue above.
from emovec.steering.hf_classifier import HFSequenceClassifier
from emovec.steering.lexicon_classifiers import (
                                                 NRCLexiconClassifier,
                                                 ToyLexiconClassifier,
                                                 VaderClassifier,
                                                 nrc_tokens,
                                                 read_nrc_lexicon,
                                                 toy_label_words,
)

__all__ = [
    "CLASSIFIERS", "CLASSIFIER_INFO", "EKMAN7", "LABEL_MAP_COLUMNS", "NRC_LABELS", "VADER_LABELS", "ClassifierInfo",
    "EmotionClassifier", "HFSequenceClassifier", "NRCLexiconClassifier", "ToyLexiconClassifier", "VaderClassifier",
    "build_classifier", "check_classifier_config", "classifier_display_name", "classifier_info", "classifier_labels",
    "load_target_labels", "nrc_tokens", "read_label_map", "read_nrc_lexicon", "register_classifier",
    "resolve_label_map_path", "target_label", "toy_label_words",
]
