"""Story corpora: marker splitting, van der Ben's Gemma stories and neutral texts (known answers on
the mirror, materialised through the manifest), generation requests and responses, bad inputs,
and the Gemma stories run through extraction on a tiny model."""

from __future__ import annotations

import collections
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

from emovec.corpora.emotion_sets import read_emotion_list
from emovec.corpora.stimuli import validate_rows
from emovec.corpora.stories import (
    STORY_READERS,
    fill_prompt,
    load_topics,
    read_neutral_texts,
    read_stories,
    split_story_markers,
    stories_from_responses,
    story_requests,
)
from emovec.errors import EmovecInputError

from conftest import materialised

STORIES = "emotion_experiment/output_gemma_stories/stories.jsonl"
NEUTRAL = "emotion_experiment/prompts/neutral_texts.txt"
EMOTIONS = "emotion_experiment/prompts/emotions.txt"
PROMPT = "emotion_experiment/prompts/story_prompt.txt"
TOPICS = "emotion_experiment/prompts/topics.txt"
FMT = "emotion_experiment_jsonl"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, records: list[dict | str]) -> Path:
    return write(path, "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))


def record(emotion: str = "happy", raw: str = "[story 1]\nOne.\n\n[story 2]\nTwo.", **extra: object) -> dict:
    return {"emotion": emotion, "topic": "a topic", "prompt": "p", "raw_response": raw, **extra}


# ------------------------------------------------------------------------------ markers


def test_split_story_markers() -> None:
    assert split_story_markers("\n [story 1]\n A. \n[Story2] B\n[STORY  3]C", "x") == ["A.", "B", "C"]
    with pytest.raises(EmovecInputError, match=r"^where: no \[story N\] markers"):
        split_story_markers("Once upon a time.", "where")
    with pytest.raises(EmovecInputError, match=r"markers numbered \[1, 3\]; expected 1\.\.2"):
        split_story_markers("[story 1] a [story 3] b", "w")
    with pytest.raises(EmovecInputError, match=r"markers numbered \[2, 1\]"):
        split_story_markers("[story 2] a [story 1] b", "w")
    with pytest.raises(EmovecInputError, match=r"\[story 2\] is empty"):
        split_story_markers("[story 1] a [story 2]\n\n [story 3] c", "w")
    with pytest.raises(EmovecInputError, match=r"text before the first \[story N\] marker \('Sure! Here are"):
        split_story_markers("Sure! Here are three stories:\n[story 1] a", "w")


# ------------------------------------------------------------------------------ upstream known answers


def test_gemma_stories_known_answers(upstream_root: Path, tmp_path: Path) -> None:
    data = materialised(upstream_root, tmp_path, STORIES, EMOTIONS, NEUTRAL)
    rows = read_stories(data / STORIES, FMT)
    assert len(rows) == 1539
    per_emotion = collections.Counter(r["emotion"] for r in rows)
    assert len(per_emotion) == 171 and set(per_emotion.values()) == {9}
    assert all(r["text"].strip() and r["role"] == "emotion" and r["topic"] for r in rows)
    assert len({r["id"] for r in rows}) == 1539
    assert {r["id"].rsplit("-", 2)[-2:][0] for r in rows} == {"t00", "t01", "t02"}
    assert rows[0]["id"] == "brooding-t00-s1" and rows[0]["_row"] == 1
    assert rows[0]["text"].startswith("The silence in the studio was a physical weight")

    emotions = read_emotion_list(data / EMOTIONS)
    assert len(emotions) == 171 and set(emotions) == set(per_emotion)
    assert {"worn out", "on edge", "at ease", "grief-stricken"} <= set(emotions)

    neutral = read_neutral_texts(data / NEUTRAL)
    assert len(neutral) == 40
    assert [r["id"] for r in neutral] == [f"neutral-{i:03d}" for i in range(40)]
    assert {r["role"] for r in neutral} == {"neutral"} and {r["emotion"] for r in neutral} == {"neutral"}
    assert neutral[0]["text"].startswith("The water cycle describes")
    # The whole corpus passes the common stimulus validation (known emotions, unique ids, text).
    assert len(validate_rows(rows + neutral, emotions, "gemma stories")) == 1579


def test_prompt_template_reproduces_upstream_prompts(upstream_root: Path, tmp_path: Path) -> None:
    data = materialised(upstream_root, tmp_path, STORIES, PROMPT, TOPICS, EMOTIONS)
    template = (data / PROMPT).read_text(encoding="utf-8")
    records = [json.loads(line) for line in (data / STORIES).read_text(encoding="utf-8").splitlines()]
    assert all(fill_prompt(template, n_stories=3, topic=r["topic"], emotion=r["emotion"]) == r["prompt"]
               for r in records)
    topics = load_topics(data / TOPICS)
    assert len(topics) == 100
    emotions = read_emotion_list(data / EMOTIONS)
    reqs = story_requests(template, topics, emotions, topics_per_emotion=3, stories_per_call=3, seed=0)
    assert len(reqs) == 513 and len({r["id"] for r in reqs}) == 513
    by_emotion = collections.defaultdict(list)
    for r in reqs:
        by_emotion[r["emotion"]].append(r["topic"])
        assert r["prompt"] == fill_prompt(template, n_stories=3, topic=r["topic"], emotion=r["emotion"])
    assert all(len(set(t)) == 3 and set(t) <= set(topics) for t in by_emotion.values())


# ------------------------------------------------------------------------------ generation requests


def test_story_requests_seeding_is_stable_and_per_emotion() -> None:
    topics = [f"topic {i}" for i in range(10)]
    reqs = story_requests("{n_stories} {topic} {emotion}", topics, ["happy", "sad"], topics_per_emotion=3,
                          stories_per_call=2, seed=0)
    # Pinned: str seeds hash with SHA-512, so this holds on every run and machine.
    assert [r["topic"] for r in reqs] == ["topic 9", "topic 0", "topic 3", "topic 6", "topic 7", "topic 8"]
    assert [r["id"] for r in reqs[:3]] == ["happy-t00", "happy-t01", "happy-t02"]
    assert reqs[0]["prompt"] == "2 topic 9 happy"
    alone = story_requests("{n_stories} {topic} {emotion}", topics, ["sad"], topics_per_emotion=3,
                           stories_per_call=2, seed=0)
    assert alone == reqs[3:]  # an emotion's draw does not depend on the others
    other = story_requests("{n_stories} {topic} {emotion}", topics, ["happy"], topics_per_emotion=3,
                           stories_per_call=2, seed=1)
    assert [r["topic"] for r in other] != [r["topic"] for r in reqs[:3]]


def test_story_requests_bad_inputs() -> None:
    topics = ["a", "b", "c"]
    with pytest.raises(EmovecInputError, match=r"lacks placeholder\(s\) \['\{topic\}'\]"):
        story_requests("Write {n_stories} about {emotion}", topics, ["happy"], topics_per_emotion=1,
                       stories_per_call=1, seed=0)
    with pytest.raises(EmovecInputError, match="topics_per_emotion=4 but only 3 topics exist"):
        story_requests("{n_stories}{topic}{emotion}", topics, ["happy"], topics_per_emotion=4,
                       stories_per_call=1, seed=0)
    with pytest.raises(EmovecInputError, match="topics contain duplicates"):
        story_requests("{n_stories}{topic}{emotion}", ["a", "a"], ["happy"], topics_per_emotion=1,
                       stories_per_call=1, seed=0)
    with pytest.raises(EmovecInputError, match="must be >= 1"):
        story_requests("{n_stories}{topic}{emotion}", topics, ["happy"], topics_per_emotion=0,
                       stories_per_call=1, seed=0)


def test_stories_from_responses_record_vs_error() -> None:
    reqs = [
        {"id": "happy-t00", "emotion": "happy", "topic": "t", "text": "[story 1] A\n[story 2] B"},
        {"id": "happy-t01", "emotion": "happy", "topic": "u", "text": "Sure! [story 1] C"},
        {"id": "sad-t00", "emotion": "sad", "text": "  "},
        {"id": "sad-t01", "emotion": "sad", "text": "no markers at all"},
    ]
    rows, unparsed = stories_from_responses(reqs, split="markers", on_unparsed="record")
    assert [r["id"] for r in rows] == ["happy-t00-s1", "happy-t00-s2"]
    assert rows[0] == {"id": "happy-t00-s1", "emotion": "happy", "role": "emotion", "text": "A", "topic": "t"}
    assert [u["id"] for u in unparsed] == ["happy-t01", "sad-t00", "sad-t01"]
    assert "text before the first" in unparsed[0]["reason"] and "empty response" in unparsed[1]["reason"]
    assert "no [story N] markers" in unparsed[2]["reason"] and unparsed[2]["emotion"] == "sad"
    with pytest.raises(EmovecInputError, match=r"request 'happy-t01': text before the first"):
        stories_from_responses(reqs, split="markers", on_unparsed="error")

    rows, unparsed = stories_from_responses(reqs, split="whole", on_unparsed="record")
    assert [r["id"] for r in rows] == ["happy-t00-s1", "happy-t01-s1", "sad-t01-s1"]
    assert rows[1]["text"] == "Sure! [story 1] C" and [u["id"] for u in unparsed] == ["sad-t00"]
    with pytest.raises(EmovecInputError, match=r"request 'sad-t00': empty response"):
        stories_from_responses(reqs, split="whole", on_unparsed="error")

    with pytest.raises(EmovecInputError, match="unknown story split 'lines'"):
        stories_from_responses(reqs, split="lines", on_unparsed="error")
    with pytest.raises(EmovecInputError, match="on_unparsed must be one of"):
        stories_from_responses(reqs, split="whole", on_unparsed="drop")
    with pytest.raises(EmovecInputError, match=r"missing key 'text'"):
        stories_from_responses([{"id": "x", "emotion": "happy"}], split="whole", on_unparsed="record")
    with pytest.raises(EmovecInputError, match=r"duplicate request id 'x'"):
        stories_from_responses([{"id": "x", "emotion": "happy", "text": "a"}] * 2, split="whole",
                               on_unparsed="record")


# ------------------------------------------------------------------------------ bad story files


def test_jsonl_reader_ids_and_shipped_checks(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "s.jsonl", [record(stories=["One.", "Two."], n_stories_parsed=2),
                                        record("sad"), record()])
    rows = read_stories(path, FMT)
    assert [r["id"] for r in rows] == ["happy-t00-s1", "happy-t00-s2", "sad-t00-s1", "sad-t00-s2",
                                       "happy-t01-s1", "happy-t01-s2"]
    assert [r["_row"] for r in rows] == [1, 1, 2, 2, 3, 3]
    assert FMT in STORY_READERS
    with pytest.raises(EmovecInputError, match="unknown story format 'csv'"):
        read_stories(path, "csv")


def test_jsonl_row_without_markers_names_line(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "s.jsonl", [record(), record(raw="Just one story, no markers.")])
    with pytest.raises(EmovecInputError, match=rf"^{path}: line 2: no \[story N\] markers"):
        read_stories(path, FMT)


def test_jsonl_markers_out_of_order(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "s.jsonl", [record(raw="[story 2] a [story 1] b")])
    with pytest.raises(EmovecInputError, match=r"line 1: story markers numbered \[2, 1\]"):
        read_stories(path, FMT)


def test_jsonl_empty_story(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "s.jsonl", [record(raw="[story 1] a\n[story 2]\n  \n")])
    with pytest.raises(EmovecInputError, match=r"line 1: \[story 2\] is empty"):
        read_stories(path, FMT)


def test_jsonl_mismatch_with_shipped_parse(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "s.jsonl", [record(), record(n_stories_parsed=3)])
    with pytest.raises(EmovecInputError, match=r"line 2: raw_response splits into 2 stories but n_stories_parsed"):
        read_stories(path, FMT)
    path = jsonl(tmp_path / "s.jsonl", [record(stories=["One."])])
    with pytest.raises(EmovecInputError, match=r"line 1: .*shipped 'stories' list has 1"):
        read_stories(path, FMT)
    path = jsonl(tmp_path / "s.jsonl", [record(stories=["One.", "Deux."])])
    with pytest.raises(EmovecInputError, match=r"line 1: story 2 split from raw_response differs"):
        read_stories(path, FMT)


def test_jsonl_invalid_json_missing_key_and_empty(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "s.jsonl", [record(), '{"emotion": "sad", "topic": ', record()])
    with pytest.raises(EmovecInputError, match=r"line 2: invalid JSON"):
        read_stories(path, FMT)
    bad = record()
    del bad["raw_response"]
    path = jsonl(tmp_path / "s.jsonl", [record(), record(), bad])
    with pytest.raises(EmovecInputError, match=r"line 3: missing key 'raw_response'"):
        read_stories(path, FMT)
    path = jsonl(tmp_path / "s.jsonl", ["[1, 2]"])
    with pytest.raises(EmovecInputError, match=r"line 1: expected a JSON object"):
        read_stories(path, FMT)
    path = write(tmp_path / "s.jsonl", "\n\n")
    with pytest.raises(EmovecInputError, match="no records"):
        read_stories(path, FMT)
    with pytest.raises(EmovecInputError, match="does not exist"):
        read_stories(tmp_path / "absent.jsonl", FMT)


def test_neutral_texts(tmp_path: Path) -> None:
    rows = read_neutral_texts(write(tmp_path / "n.txt", "First paragraph. \n\n  Second.\n"))
    assert [(r["id"], r["text"], r["_row"]) for r in rows] == [("neutral-000", "First paragraph.", 1),
                                                               ("neutral-001", "Second.", 3)]
    with pytest.raises(EmovecInputError, match="no neutral texts"):
        read_neutral_texts(write(tmp_path / "n.txt", "\n  \n"))
    with pytest.raises(EmovecInputError, match="no neutral texts"):
        read_neutral_texts(write(tmp_path / "n.txt", ""))


def test_load_topics(tmp_path: Path) -> None:
    assert load_topics(write(tmp_path / "t.txt", " A walk \n\nA storm")) == ["A walk", "A storm"]
    with pytest.raises(EmovecInputError, match=r"line 3: duplicate topic 'A walk'"):
        load_topics(write(tmp_path / "t.txt", "A walk\nA storm\nA walk\n"))
    with pytest.raises(EmovecInputError, match="no topics"):
        load_topics(write(tmp_path / "t.txt", ""))


# ------------------------------------------------------------------------------ extraction


# The longest upstream text is 1,417 tokens with this toy tokenizer (mean ~640), so the
# context must exceed 1024 positions; never truncate a stimulus to make it fit.
LONG_CONTEXT = 1536
MEAN_OFFSET = 50


@pytest.fixture(scope="module")
def tiny_long_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like conftest's ``tiny_model_dir`` (3 layers, 32 wide, toy tokenizer, chat template) but
    with a context long enough for the Gemma stories, and one attention head: eager attention over
    ~1M tokens is the whole cost of the test, and 4 heads make it ~5x slower (108 s vs 22 s)."""
    from emovec.toy import train
    from emovec.toy.corpus import generate_stories

    out = tmp_path_factory.mktemp("models") / "tiny-long"
    stories = generate_stories(4, seed=0)
    tok = train.train_tokenizer([s.text for s in stories] + ["Write a story about someone who feels happy."], 300)
    model = train.build_model(tok, n_layer=3, n_embd=32, n_head=1, n_positions=LONG_CONTEXT, seed=0)
    train.save_model_dir(model, tok, out, train.CHAT_TEMPLATE)
    return out


@pytest.mark.slow
def test_gemma_stories_through_extraction(upstream_root: Path, tmp_path: Path, tiny_long_model_dir: Path) -> None:
    import torch

    from emovec.activations.extract import extract_pooled, tokenise_stimuli
    from emovec.config.schema import ModelConfig
    from emovec.models.loading import load_model

    data = materialised(upstream_root, tmp_path, STORIES, NEUTRAL)
    rows = read_stories(data / STORIES, FMT) + read_neutral_texts(data / NEUTRAL)
    loaded = load_model(ModelConfig(name="tiny-long", local_dir=str(tiny_long_model_dir), family="toy",
                                    variant="instruct", n_layers=3, d_model=32, chat_template=True))
    stimuli = tokenise_stimuli(loaded.tokenizer, rows, LONG_CONTEXT)
    lengths = [len(s.ids) for s in stimuli]
    assert min(lengths) > MEAN_OFFSET and max(lengths) <= LONG_CONTEXT

    start = time.perf_counter()
    pooled = extract_pooled(loaded.bridge, loaded.n_layers, stimuli, ["mean_from_offset"], batch_size=32,
                            mean_offset=MEAN_OFFSET, pad_id=loaded.tokenizer.pad_token_id, progress=False)
    elapsed = time.perf_counter() - start
    arr = pooled["mean_from_offset"]
    assert arr.shape == (1579, loaded.n_layers, loaded.d_model)
    assert np.isfinite(arr).all()
    print(f"extraction of 1579 texts ({sum(lengths)} tokens, max {max(lengths)}): {elapsed:.1f} s")

    # Shortest, a middle and the longest text land in different (differently padded) batches.
    order = np.argsort(lengths, kind="stable")
    for idx in (int(order[0]), int(order[len(order) // 2]), int(order[-1])):
        ids = torch.tensor([stimuli[idx].ids])
        with torch.no_grad():
            hidden = loaded.hf_model(ids, output_hidden_states=True).hidden_states
        for layer in range(loaded.n_layers - 1):  # the last HF entry is after the final norm
            direct = hidden[layer + 1][0, MEAN_OFFSET:].mean(dim=0).numpy()
            np.testing.assert_allclose(arr[idx, layer], direct, atol=1e-4, rtol=0)


def test_strip_preamble_keeps_the_stories_and_returns_what_it_dropped():
    from emovec.corpora.stories import split_story_markers, strip_preamble

    text = "Sure! Here are three stories:\n[story 1]\nOne.\n[story 2]\nTwo."
    preamble, rest = strip_preamble(text)
    assert preamble == "Sure! Here are three stories:"
    assert split_story_markers(rest, "r") == ["One.", "Two."]
    assert strip_preamble("[story 1] A.") == ("", "[story 1] A.")
    assert strip_preamble("no markers at all") == ("", "no markers at all")


def test_lenient_marker_split_takes_every_non_empty_piece_whatever_the_numbering():
    from emovec.corpora.stories import RESPONSE_SPLITTERS

    lenient = RESPONSE_SPLITTERS["markers_lenient"]
    assert lenient("[story 1]\n[story 2] Two.\n[story 1] Three.\n[story 5] Four.", "r") == ["Two.", "Three.", "Four."]
    assert lenient("[story 4] A.\n[story 5] B.", "r") == ["A.", "B."]
    for bad, message in (("no markers", "no [story N] markers"), ("[story 1]  \n[story 2]", "every [story N]"),
                         ("Sure! [story 1] A.", "text before the first")):
        with pytest.raises(EmovecInputError, match=re.escape(message)):
            lenient(bad, "r")
    # the strict split refuses what the lenient one accepts
    with pytest.raises(EmovecInputError, match="numbered"):
        RESPONSE_SPLITTERS["markers"]("[story 4] A.\n[story 5] B.", "r")
