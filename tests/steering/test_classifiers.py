"""Emotion classifiers (emovec.steering.classifiers): the shipped label maps (20 emotions -> the
labels of each classifier) and their errors, the toy lexicon fallback against the hand formula,
VADER against vaderSentiment itself, the NRC lexicon against hand counts from the bundled
lexicon, and the HF sequence classifier on a tiny random Roberta whose labels are stored in a
permuted order."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import pytest
import torch

from emovec.config.schema import ClassifierConfig
from emovec.emotions import JEONG_20
from emovec.errors import EmovecInputError
from emovec.paths import PACKAGE_DIR
from emovec.steering.classifiers import (
    CLASSIFIER_INFO,
    CLASSIFIERS,
    EKMAN7,
    NRC_LABELS,
    VADER_LABELS,
    EmotionClassifier,
    build_classifier,
    check_classifier_config,
    classifier_display_name,
    classifier_labels,
    load_target_labels,
    nrc_tokens,
    read_label_map,
    read_nrc_lexicon,
    resolve_label_map_path,
    target_label,
)
from emovec.toy.corpus import category_phrases

SHIPPED_MAP = PACKAGE_DIR / "stimuli" / "emotion_to_ekman7.csv"
VADER_MAP = PACKAGE_DIR / "stimuli" / "emotion_to_vader_valence.csv"
NRC_MAP = PACKAGE_DIR / "stimuli" / "emotion_to_nrc.csv"
# The upstream norms table (reference data, not committed here): NRC-VAD v1 valence per emotion.
NORMS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "norms" / "valence_arousal_171_all_sources.csv"

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


def test_registry_labels_and_shipped_maps():
    assert VADER_LABELS == ("valence_positive", "valence_negative")
    assert NRC_LABELS == ("anger", "anticipation", "disgust", "fear", "joy", "sadness", "surprise", "trust",
                          "positive", "negative")
    assert {"toy_lexicon", "hf_sequence_classifier", "vader", "nrc_lexicon"} <= set(CLASSIFIERS) == set(CLASSIFIER_INFO)
    expected = {"toy_lexicon": EKMAN7, "hf_sequence_classifier": EKMAN7, "vader": VADER_LABELS,
                "nrc_lexicon": NRC_LABELS}
    for name, labels in expected.items():
        assert classifier_labels(name) == labels
        # every shipped map covers Jeong's 20 emotions, in order, with labels of ITS classifier only
        m = read_label_map(resolve_label_map_path(CLASSIFIER_INFO[name].label_map), labels, name)
        assert list(m) == list(JEONG_20), name
        assert set(m.values()) <= set(labels), name
        check_classifier_config(ClassifierConfig(name=name, label_map=CLASSIFIER_INFO[name].label_map))


def test_shipped_vader_map_is_the_valence_sign():
    m = read_label_map(VADER_MAP, VADER_LABELS, "vader")
    negative = {"sad", "desperate", "afraid", "angry", "guilty", "nervous", "brooding", "gloomy", "hostile",
                "exasperated", "anxious"}
    assert m == {e: ("valence_negative" if e in negative else "valence_positive") for e in JEONG_20}


def test_vader_signs_match_the_upstream_nrc_vad_v1_norms():
    if not NORMS.is_file():
        pytest.skip(f"upstream norms table {NORMS} is absent (reference data outside the repository)")
    with open(NORMS, encoding="utf-8", newline="") as fh:
        norms = {r["emotion"]: r for r in csv.DictReader(fh)}
    with open(VADER_MAP, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["emotion"] for r in rows] == list(JEONG_20)
    for r in rows:
        n = norms[r["emotion"]]
        v01, bipolar = n["nrc_v1_valence_0_1"], n["nrc_v1_valence_bipolar"]
        sign = 1 if float(bipolar) > 0 else -1
        assert (float(v01) - 0.5) * sign > 0, r["emotion"]  # the two NRC-VAD v1 columns agree
        assert r["label"] == ("valence_positive" if sign > 0 else "valence_negative"), r["emotion"]
        # the rationale says which value the sign came from
        assert f"nrc_v1_valence_0_1 = {v01} " in r["rationale"], r["emotion"]
        assert f"nrc_v1_valence_bipolar = {bipolar} " in r["rationale"], r["emotion"]


def test_shipped_nrc_map():
    m = read_label_map(NRC_MAP, NRC_LABELS, "nrc_lexicon")
    assert m == {"happy": "joy", "sad": "sadness", "calm": "positive", "desperate": "fear", "afraid": "fear",
                 "angry": "anger", "proud": "joy", "guilty": "sadness", "nervous": "fear", "hopeful": "anticipation",
                 "brooding": "sadness", "gloomy": "sadness", "reflective": "positive", "enthusiastic": "joy",
                 "hostile": "anger", "loving": "joy", "exasperated": "anger", "blissful": "joy",
                 "anxious": "fear", "grateful": "joy"}


@pytest.mark.parametrize("word, label", [
    # The lexicon facts the rationales of emotion_to_nrc.csv cite.
    ("happy", "joy"), ("calm", "positive"), ("despair", "fear"), ("proud", "joy"), ("pride", "joy"),
    ("guilty", "sadness"), ("guilt", "sadness"), ("nervous", "fear"), ("nervousness", "fear"),
    ("hope", "anticipation"), ("hopeful", "anticipation"), ("gloomy", "sadness"), ("gloom", "sadness"),
    ("contemplation", "positive"), ("thoughtful", "trust"), ("enthusiasm", "joy"), ("love", "joy"),
    ("loving", "joy"), ("exasperation", "anger"), ("frustrated", "anger"), ("blissful", "joy"), ("bliss", "joy"),
    ("anxious", "fear"), ("gratitude", "joy"), ("thankful", "joy"), ("grateful", "positive"),
])
def test_nrc_map_rationales_cite_true_lexicon_facts(word: str, label: str):
    assert label in read_nrc_lexicon()[word]


def test_nrc_map_rationales_cite_true_absences():
    lex = read_nrc_lexicon()
    assert lex["calm"] == ("positive",) and lex["desperate"] == ("negative",) and lex["grateful"] == ("positive",)
    assert lex["contemplation"] == ("positive",)
    assert "reflective" not in lex and "brooding" not in lex


def test_a_map_of_another_classifier_is_refused_naming_file_row_and_labels():
    with pytest.raises(EmovecInputError) as info:
        read_label_map(SHIPPED_MAP, VADER_LABELS, "vader")
    msg = str(info.value)
    assert str(SHIPPED_MAP) in msg and "data row 1: label 'joy' for 'happy'" in msg
    assert "valence_positive" in msg and "emotion_to_vader_valence.csv" in msg
    with pytest.raises(EmovecInputError, match=r"emotion_to_nrc\.csv: data row 1: label 'joy' for 'happy' is not"):
        check_classifier_config(ClassifierConfig(name="vader", label_map="stimuli/emotion_to_nrc.csv"))


def test_load_target_labels_names_map_emotion_and_row(tmp_path: Path):
    cfg = ClassifierConfig(name="vader", label_map=str(VADER_MAP))
    path, labels = load_target_labels(cfg, ["happy", "sad", "calm"], "g.jsonl")
    assert path == VADER_MAP and labels == ["valence_positive", "valence_negative", "valence_positive"]
    with pytest.raises(EmovecInputError) as info:
        load_target_labels(cfg, ["happy", "awed"], "g.jsonl")
    msg = str(info.value)
    assert "g.jsonl: row 2: emotion 'awed'" in msg and str(VADER_MAP) in msg and "'vader'" in msg


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
    with pytest.raises(EmovecInputError, match=r"unknown classifier name 'nope'.*hf_sequence_classifier.*vader"):
        build_classifier(ClassifierConfig(name="nope"))
    with pytest.raises(EmovecInputError, match=r"'nope'.*nrc_lexicon"):
        classifier_display_name(ClassifierConfig(name="nope"))
    assert {"toy_lexicon", "hf_sequence_classifier"} <= set(CLASSIFIERS)


# ---------------------------------------------------------------------------------- toy lexicon


@pytest.fixture(scope="module")
def toy():
    return build_classifier(ClassifierConfig(name="toy_lexicon", alpha=0.5))


def test_toy_lexicon_identity(toy):
    assert isinstance(toy, EmotionClassifier)
    assert toy.name == "toy_lexicon" and toy.labels == EKMAN7
    assert toy.display_name == "toy lexicon classifier (offline fallback, not j-hartmann)"
    assert classifier_display_name(ClassifierConfig(name="toy_lexicon")) == toy.display_name


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
    assert toy.hits([text, ""]).tolist() == [4, 0]


def test_toy_empty_input_and_bad_alpha(toy):
    assert toy.predict([]).shape == (0, 7)
    with pytest.raises(EmovecInputError, match="alpha"):
        build_classifier(ClassifierConfig(name="toy_lexicon", alpha=0.0))


# ---------------------------------------------------------------------------------- VADER

VADER_TEXTS = ["I am so happy and grateful today!", "This is a terrible, awful day. I hate it.",
               "The tea was served at noon.", "not good", "", "What a GREAT party :)"]


@pytest.fixture(scope="module")
def vader():
    return build_classifier(ClassifierConfig(name="vader", label_map=str(VADER_MAP)))


def test_vader_identity(vader):
    assert isinstance(vader, EmotionClassifier) and vader.labels == VADER_LABELS
    assert vader.display_name == f"VADER {metadata.version('vaderSentiment')} (compound valence)"
    assert vader.display_name == "VADER 3.3.2 (compound valence)"
    assert classifier_display_name(ClassifierConfig(name="vader")) == vader.display_name


def test_vader_target_score_is_compound_times_valence_sign(vader):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    reference = SentimentIntensityAnalyzer()
    compound = np.array([reference.polarity_scores(t)["compound"] for t in VADER_TEXTS])
    assert compound[0] > 0.5 and compound[1] < -0.5 and compound[2] == 0 and compound[3] < 0  # real signal
    got = vader.predict(VADER_TEXTS)
    assert got.dtype == np.float64 and got.shape == (len(VADER_TEXTS), 2)
    np.testing.assert_array_equal(got[:, 0], compound)
    np.testing.assert_array_equal(got[:, 1], -compound)
    assert not np.signbit(got[2]).any()  # compound 0 is written 0.0, never -0.0
    labels = read_label_map(VADER_MAP, VADER_LABELS, "vader")
    for emotion in ("happy", "calm", "sad", "afraid"):
        sign = 1.0 if emotion in ("happy", "calm") else -1.0
        column = VADER_LABELS.index(labels[emotion])
        np.testing.assert_array_equal(got[:, column], compound * sign)
    assert vader.predict([]).shape == (0, 2)


def test_vader_hits_count_lexicon_words(vader):
    # happy, grateful | terrible, awful, hate | none | good ("not" is a negator, not an entry) | none |
    # GREAT, party, ":)"
    assert vader.hits(VADER_TEXTS).tolist() == [2, 3, 0, 1, 0, 3]


# ---------------------------------------------------------------------------------- NRC lexicon


@pytest.fixture(scope="module")
def nrc():
    return build_classifier(ClassifierConfig(name="nrc_lexicon", label_map=str(NRC_MAP)))


def test_nrc_identity_and_bundled_lexicon(nrc):
    assert isinstance(nrc, EmotionClassifier) and nrc.labels == NRC_LABELS
    assert nrc.display_name == f"NRC emotion lexicon (NRCLex {metadata.version('NRCLex')})"
    assert nrc.display_name == "NRC emotion lexicon (NRCLex 4.1.0)"
    assert classifier_display_name(ClassifierConfig(name="nrc_lexicon")) == nrc.display_name
    with resources.files("nrclex.data").joinpath("nrc_en.json").open(encoding="utf-8") as fh:
        raw = json.load(fh)
    lex = read_nrc_lexicon()
    assert len(lex) == len(raw) == 6468 and lex["abandon"] == tuple(raw["abandon"])


# The handcrafted sentence and its entries in the bundled lexicon (checked below): 9 tokens, hits
# happy x2, abandoned, smile ("The", "was", "and", "smiled", "then", "we" are no entries; no
# lemmatisation, so "smiled" does not count as "smile").
NRC_SENTENCE = "The happy, HAPPY smile was abandoned... and smiled then-we"
NRC_ENTRIES = {"happy": ("anticipation", "joy", "positive", "trust"),
               "abandoned": ("anger", "fear", "negative", "sadness"),
               "smile": ("joy", "positive", "surprise", "trust")}


def test_nrc_scores_are_hand_counted_shares(nrc):
    lex = read_nrc_lexicon()
    for word, labels in NRC_ENTRIES.items():
        assert lex[word] == labels
    assert all(w not in lex for w in ("the", "was", "and", "smiled", "then", "we"))
    assert nrc_tokens(NRC_SENTENCE) == ["the", "happy", "happy", "smile", "was", "abandoned", "and", "smiled",
                                        "then", "we"]
    # 4 hits: happy, happy, smile, abandoned. Per label: hits carrying it / 4.
    counts = {"anger": 1, "anticipation": 2, "disgust": 0, "fear": 1, "joy": 3, "sadness": 1, "surprise": 1,
              "trust": 3, "positive": 3, "negative": 1}
    expected = np.array([counts[lab] / 4 for lab in NRC_LABELS])
    got = nrc.predict([NRC_SENTENCE, "The tea was served at noon.", ""])
    assert got.dtype == np.float64 and got.shape == (3, 10)
    np.testing.assert_array_equal(got[0], expected)
    # no hit: every score 0, and hits says so
    np.testing.assert_array_equal(got[1:], np.zeros((2, 10)))
    assert nrc.hits([NRC_SENTENCE, "The tea was served at noon.", ""]).tolist() == [4, 0, 0]
    assert nrc.predict([]).shape == (0, 10)


def test_nrc_counts_agree_with_nrclex_token_path(nrc):
    from nrclex import NRCLex

    tokens = nrc_tokens(NRC_SENTENCE)
    ref = NRCLex()
    ref.load_token_list(tokens)
    # NRCLex's affect_list holds every label of every hit token: its counts are our numerators
    from collections import Counter

    label_counts = Counter(ref.affect_list)
    hits = nrc.hits([NRC_SENTENCE])[0]
    got = nrc.predict([NRC_SENTENCE])[0]
    assert {lab: got[j] * hits for j, lab in enumerate(NRC_LABELS) if got[j]} == \
        {lab: float(n) for lab, n in label_counts.items()}


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
    assert clf.name == "hf_sequence_classifier" and clf.display_name == str(out) and clf.labels == EKMAN7
    assert classifier_display_name(ClassifierConfig(name="hf_sequence_classifier", local_dir=str(out))) == str(out)
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
    with pytest.raises(EmovecInputError, match=r"no_such_model does not exist.*steering.classifiers\[\].local_dir"
                                                r".*vader, nrc_lexicon"):
        build_classifier(ClassifierConfig(name="hf_sequence_classifier", local_dir=str(missing)))


def test_hf_classifier_unloadable_hub_id_offline(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = ClassifierConfig(name="hf_sequence_classifier", model_id="emovec-test/does-not-exist", local_dir=None)
    with pytest.raises(EmovecInputError, match=r"emovec-test/does-not-exist.*nrc_lexicon"):
        build_classifier(cfg)


def test_hf_classifier_rejects_wrong_labels(tmp_path: Path):
    labels = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "love")
    out = tmp_path / "wrong"
    _save_tiny_roberta(out, labels)
    cfg = dataclasses.replace(ClassifierConfig(name="hf_sequence_classifier"), local_dir=str(out))
    with pytest.raises(EmovecInputError, match=r"labels \[.*'love'.*\] are not exactly"):
        build_classifier(cfg)
