"""Emotion classifiers (emovec.steering.classifiers): the shipped 20 -> 7 label map, its errors,
the toy lexicon fallback against the hand formula, and the HF sequence classifier on a tiny
random Roberta whose labels are stored in a permuted order."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from emovec.config import PACKAGE_DIR, ClassifierConfig
from emovec.emotions import JEONG_20
from emovec.errors import EmovecInputError
from emovec.steering.classifiers import (CLASSIFIERS, EKMAN7, EmotionClassifier, build_classifier,
                                         read_label_map, resolve_label_map_path, target_label)
from emovec.toy.corpus import category_phrases

SHIPPED_MAP = PACKAGE_DIR / "stimuli" / "emotion_to_ekman7.csv"

# ---------------------------------------------------------------------------------- label map


def test_ekman7_order():
    assert EKMAN7 == ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")


def test_shipped_label_map():
    m = read_label_map(SHIPPED_MAP)
    assert list(m) == list(JEONG_20)
    assert m == {"happy": "joy", "sad": "sadness", "calm": "joy", "desperate": "fear", "afraid": "fear",
                 "angry": "anger", "proud": "joy", "guilty": "sadness", "nervous": "fear", "hopeful": "joy",
                 "brooding": "sadness", "gloomy": "sadness", "reflective": "neutral", "enthusiastic": "joy",
                 "hostile": "anger", "loving": "joy", "exasperated": "anger", "blissful": "joy",
                 "anxious": "fear", "grateful": "joy"}


def test_resolve_label_map_path(tmp_path: Path):
    assert resolve_label_map_path("stimuli/emotion_to_ekman7.csv") == SHIPPED_MAP
    assert resolve_label_map_path(str(tmp_path / "m.csv")) == tmp_path / "m.csv"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "map.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("body, pattern", [
    ("emotion,label,rationale\nhappy,joy,x\nsad,love,y\n", r"data row 2: label 'love' for 'sad'"),
    ("emotion,label,rationale\nhappy,joy,x\nsad,sadness,y\nhappy,joy,z\n", r"data row 3: duplicate emotion 'happy'"),
    ("emotion,label,rationale\n,joy,x\n", r"data row 1: empty emotion"),
    ("emotion,rationale\nhappy,x\n", r"missing column\(s\) \['label'\]"),
])
def test_bad_label_maps_name_file_and_row(tmp_path: Path, body: str, pattern: str):
    path = _write(tmp_path, body)
    with pytest.raises(EmovecInputError, match=pattern) as info:
        read_label_map(path)
    assert str(path) in str(info.value)


def test_missing_label_map_file(tmp_path: Path):
    with pytest.raises(EmovecInputError, match="does not exist"):
        read_label_map(tmp_path / "nope.csv")


def test_target_label():
    assert target_label({"happy": "joy"}, "happy", "m.csv") == "joy"
    with pytest.raises(EmovecInputError, match=r"emotion 'awed' has no label in the label map m\.csv"):
        target_label({"happy": "joy"}, "awed", "m.csv")


def test_unknown_classifier_lists_known_names():
    with pytest.raises(EmovecInputError, match=r"unknown steering.classifier.name 'nope'.*hf_sequence_classifier"):
        build_classifier(ClassifierConfig(name="nope"))
    assert {"toy_lexicon", "hf_sequence_classifier"} <= set(CLASSIFIERS)


# ---------------------------------------------------------------------------------- toy lexicon


@pytest.fixture(scope="module")
def toy():
    return build_classifier(ClassifierConfig(name="toy_lexicon", alpha=0.5))


def test_toy_lexicon_identity(toy):
    assert isinstance(toy, EmotionClassifier)
    assert toy.name == "toy_lexicon"
    assert toy.display_name == "toy lexicon classifier (offline fallback, not j-hartmann)"


def test_toy_label_words_are_pairwise_disjoint_and_label_specific(toy):
    words = toy.label_words()
    assert set(words) == set(EKMAN7)
    for a, b in itertools.combinations(EKMAN7, 2):
        assert not (words[a] & words[b]), (a, b)
    # no emotion maps to disgust/surprise; words shared across labels (pronouns, "the") are dropped
    assert words["disgust"] == frozenset() and words["surprise"] == frozenset()
    assert all(w not in s for s in words.values() for w in ("the", "their", "felt"))
    assert "smiling" in words["joy"]  # only in happy's "could not stop smiling"
    assert all(len(w) >= 3 and w.isalpha() and w.islower() for s in words.values() for w in s)


def test_toy_happy_phrase_reads_joy(toy):
    phrase = "could not stop smiling"
    assert phrase in category_phrases("happy")
    probs = toy.predict([phrase])
    assert EKMAN7[int(np.argmax(probs[0]))] == "joy"


def test_toy_probs_equal_hand_formula(toy):
    words = toy.label_words()
    joy, anger, neutral = sorted(words["joy"])[0], sorted(words["anger"])[0], sorted(words["neutral"])[0]
    # joy twice (once upper-case), anger once, neutral once; "the", "xyzzy", "is" count for nothing
    text = f"{joy.upper()} the {anger}, xyzzy {joy} is {neutral}!"
    # counts [anger 1, disgust 0, fear 0, joy 2, neutral 1, sadness 0, surprise 0], total 4, alpha 0.5:
    # (c + 0.5) / (4 + 3.5)
    expected = np.array([1.5, 0.5, 0.5, 2.5, 1.5, 0.5, 0.5]) / 7.5
    got = toy.predict([text, ""])
    assert got.dtype == np.float64 and got.shape == (2, 7)
    np.testing.assert_allclose(got[0], expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(got[1], np.full(7, 1 / 7), rtol=0, atol=1e-15)


def test_toy_empty_input_and_bad_alpha(toy):
    assert toy.predict([]).shape == (0, 7)
    with pytest.raises(EmovecInputError, match="alpha"):
        build_classifier(ClassifierConfig(name="toy_lexicon", alpha=0.0))


# ---------------------------------------------------------------------------------- HF sequence classifier

TEXTS = ["She smiled all day long.", "He was afraid of the dark", "ok"]
# Stored label order differs from EKMAN7 (and is capitalised) so the reordering is exercised.
PERMUTED = ("Sadness", "joy", "SURPRISE", "anger", "neutral", "fear", "disgust")


def _save_tiny_roberta(out: Path, labels: tuple[str, ...]):
    """A 1-layer, 16-wide Roberta sequence classifier with the toy tokenizer, saved as safetensors."""
    from transformers import RobertaConfig, RobertaForSequenceClassification

    from emovec.toy import train

    tok = train.train_tokenizer(TEXTS + ["The cat sat on the mat and was happy or sad."], vocab_size=300)
    cfg = RobertaConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=len(labels),
                        id2label=dict(enumerate(labels)), label2id={lab: i for i, lab in enumerate(labels)},
                        pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                        type_vocab_size=1, initializer_range=1.0)  # large init: clearly non-uniform probs
    torch.manual_seed(0)
    model = RobertaForSequenceClassification(cfg).eval()
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return model, tok


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("classifier") / "roberta"
    model, tok = _save_tiny_roberta(out, PERMUTED)
    return out, model, tok


def test_hf_classifier_equals_manual_softmax_reordered(tiny_roberta):
    out, model, tok = tiny_roberta
    clf = build_classifier(ClassifierConfig(name="hf_sequence_classifier", local_dir=str(out), batch_size=2,
                                            max_length=32))
    assert clf.name == "hf_sequence_classifier" and clf.display_name == str(out)
    got = clf.predict(TEXTS)
    assert got.dtype == np.float64 and got.shape == (3, 7)

    # reference: one text at a time (no padding), float64 softmax, stored column j -> EKMAN7 position
    stored_index = {lab.lower(): j for j, lab in enumerate(PERMUTED)}
    order = [stored_index[lab] for lab in EKMAN7]
    assert order == [3, 6, 5, 1, 4, 0, 2]
    expected = []
    with torch.no_grad():
        for text in TEXTS:
            enc = tok(text, truncation=True, max_length=32, return_tensors="pt")
            logits = model(**enc).logits[0].to(torch.float64)
            expected.append(torch.softmax(logits, dim=-1).numpy()[order])
    expected = np.stack(expected)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.ptp(expected, axis=1).min() > 0.05  # the comparison is not between near-uniform rows
    assert clf.predict([]).shape == (0, 7)


def test_hf_classifier_missing_local_dir(tmp_path: Path):
    missing = tmp_path / "no_such_model"
    with pytest.raises(EmovecInputError, match=r"no_such_model does not exist.*steering.classifier.local_dir"
                                                r".*toy_lexicon"):
        build_classifier(ClassifierConfig(name="hf_sequence_classifier", local_dir=str(missing)))


def test_hf_classifier_unloadable_hub_id_offline(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = ClassifierConfig(name="hf_sequence_classifier", model_id="emovec-test/does-not-exist", local_dir=None)
    with pytest.raises(EmovecInputError, match=r"emovec-test/does-not-exist.*toy_lexicon"):
        build_classifier(cfg)


def test_hf_classifier_rejects_wrong_labels(tmp_path: Path):
    labels = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "love")
    out = tmp_path / "wrong"
    _save_tiny_roberta(out, labels)
    cfg = dataclasses.replace(ClassifierConfig(name="hf_sequence_classifier"), local_dir=str(out))
    with pytest.raises(EmovecInputError, match=r"labels \[.*'love'.*\] are not exactly"):
        build_classifier(cfg)
