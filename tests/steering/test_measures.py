"""Text/token measures of steered generations (emovec.steering.measures) on hand-computed cases."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from emovec.errors import EmovecInputError
from emovec.steering.measures import (CJK_SCRIPTS, Leakage, char_script, distinct_n, dominant_script,
                                      longest_repeated_ngram, perplexity, script_leakage)

# ---------------------------------------------------------------------------------- perplexity


def test_perplexity_single_generation_is_exp_mean_nll():
    assert perplexity([[0.5, 1.5, 1.0]]) == pytest.approx(math.exp(1.0), rel=1e-12)


def test_perplexity_pools_tokens_not_generations():
    # token-weighted: (1 + 2 + 3) / 3 tokens = 2, not mean(exp(1.5), exp(3))
    assert perplexity([[1.0, 2.0], [3.0]]) == pytest.approx(math.exp(2.0), rel=1e-12)
    assert perplexity([np.array([1.0, 2.0]), np.array([]), np.array([3.0])]) == pytest.approx(math.exp(2.0),
                                                                                              rel=1e-12)


def test_perplexity_of_zero_nll_is_one():
    assert perplexity([[0.0, 0.0]]) == 1.0


def test_perplexity_without_tokens_is_nan():
    assert math.isnan(perplexity([]))
    assert math.isnan(perplexity([[], np.array([])]))


# ---------------------------------------------------------------------------------- distinct-n


def test_distinct_n_exact_small_cases():
    toks = ["a", "b", "a", "b", "c"]
    assert distinct_n(toks, 1) == 3 / 5
    # bigrams ab ba ab bc -> 3 distinct of 4
    assert distinct_n(toks, 2) == 3 / 4
    # trigrams aba bab abc -> all distinct
    assert distinct_n(toks, 3) == 1.0
    assert distinct_n([7, 7, 7, 7], 2) == 1 / 3
    assert distinct_n([1, 2], 2) == 1.0


def test_distinct_n_too_short_is_nan():
    assert math.isnan(distinct_n([1], 2))
    assert math.isnan(distinct_n([], 1))


@pytest.mark.parametrize("n", [0, -1, 1.5])
def test_distinct_n_bad_n_raises(n):
    with pytest.raises(EmovecInputError, match="n="):
        distinct_n([1, 2, 3], n)


# ---------------------------------------------------------------------------------- repetition


@pytest.mark.parametrize("tokens, expected", [
    ([1, 2, 3, 1, 2, 3, 4], 3),
    ([5, 5, 5], 2),           # overlapping occurrences count
    ([1, 2, 3, 4, 5], 0),
    ([], 0),
    ([9], 0),
    ([1, 1], 1),
    (["x", "y", "x"], 1),
    ([1, 2, 1, 2, 1, 2], 4),  # 1212 at 0 and 2
])
def test_longest_repeated_ngram_known(tokens, expected):
    assert longest_repeated_ngram(tokens) == expected


def _brute_longest_repeat(seq: list[int]) -> int:
    """O(n^3) reference: compare every pair of start positions token by token."""
    best = 0
    for i in range(len(seq)):
        for j in range(i + 1, len(seq)):
            k = 0
            while j + k < len(seq) and seq[i + k] == seq[j + k]:
                k += 1
            best = max(best, k)
    return best


def test_longest_repeated_ngram_matches_brute_force_on_512_tokens():
    rng = random.Random(0)
    seq = [rng.randrange(6) for _ in range(512)]
    seq[100:120] = seq[300:320]  # plant a long repeat on top of the random short ones
    expected = _brute_longest_repeat(seq)
    assert expected >= 20
    assert longest_repeated_ngram(seq) == expected


# ---------------------------------------------------------------------------------- scripts


@pytest.mark.parametrize("ch, expected", [
    ("a", "LATIN"), ("Z", "LATIN"), ("é", "LATIN"), ("Ａ", "LATIN"),  # fullwidth Latin
    ("Ж", "CYRILLIC"), ("λ", "GREEK"),
    ("中", "CJK"), ("あ", "HIRAGANA"), ("ア", "KATAKANA"), ("ー", "KATAKANA"), ("한", "HANGUL"),
    ("😀", "SYMBOL"), ("★", "SYMBOL"),
    ("5", None), (".", None), (" ", None), ("\n", None), ("+", None), ("$", None), ("\u0301", None),
])
def test_char_script(ch, expected):
    assert char_script(ch) == expected


def test_cjk_scripts_constant():
    assert CJK_SCRIPTS == frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO"})


def test_dominant_script_counts_and_ties():
    assert dominant_script("abc 中") == "LATIN"
    assert dominant_script("中文 ok") == "CJK"  # tie 2-2: the earlier script wins
    assert dominant_script("ok 中文") == "LATIN"
    assert dominant_script("123 !?") is None
    assert dominant_script("") is None


def test_leakage_finds_planted_cjk():
    generated = "He walked home 快乐 and smiled"
    tokens = ["He", " walked", " home", " ", "快乐", " and", " smiled"]
    got = script_leakage("Write a story about someone happy.", generated, tokens)
    n_letters = len("He" "walked" "home" "and" "smiled") + 2  # 21 Latin + 2 CJK
    assert n_letters == 23
    assert got == Leakage(prompt_script="LATIN", n_script_chars=23, n_foreign=2, share=2 / 23, n_cjk=2,
                          cjk_share=2 / 23, leaked_tokens=("快乐",))


def test_leakage_plain_english_has_none():
    tokens = ["She", " smiled", ",", " then", " left", "."]
    got = script_leakage("Tell me a story.", "She smiled, then left.", tokens)
    # She + smiled + then + left = 3 + 6 + 4 + 4 letters; punctuation and spaces have no script
    assert (got.prompt_script, got.n_script_chars, got.n_foreign, got.share) == ("LATIN", 17, 0, 0.0)
    assert (got.n_cjk, got.cjk_share, got.leaked_tokens) == (0, 0.0, ())


def test_leakage_chinese_prompt_with_chinese_and_japanese_output_is_not_leakage():
    got = script_leakage("写一个快乐的故事", "她很快乐。ありがとう", ["她", "很", "快乐", "。", "ありがとう"])
    assert got.prompt_script == "CJK"
    assert (got.n_script_chars, got.n_foreign, got.share, got.leaked_tokens) == (9, 0, 0.0, ())
    assert (got.n_cjk, got.cjk_share) == (9, 1.0)


def test_leakage_latin_in_chinese_prompt_is_foreign():
    got = script_leakage("写故事", "快乐ok", ["快乐", "ok"])
    assert (got.n_foreign, got.share, got.leaked_tokens) == (2, 0.5, ("ok",))


def test_leakage_emoji_counts_as_foreign_symbol():
    got = script_leakage("Tell me a story.", "Yay 😀", ["Yay", " 😀"])
    assert (got.n_script_chars, got.n_foreign, got.share, got.n_cjk) == (4, 1, 0.25, 0)
    assert got.leaked_tokens == (" 😀",)


def test_leakage_leaked_tokens_are_distinct_in_first_appearance_order():
    got = script_leakage("Hi", "Ж a 中 Ж", ["Ж", " a", " 中", " Ж"])
    assert got.leaked_tokens == ("Ж", " 中", " Ж")
    got = script_leakage("Hi", "ЖЖ", ["Ж", "Ж"])
    assert (got.n_foreign, got.leaked_tokens) == (2, ("Ж",))


def test_leakage_prompt_without_script_uses_default_and_empty_output_is_nan():
    got = script_leakage("123?", "", [])
    assert (got.prompt_script, got.n_script_chars, got.n_foreign) == ("LATIN", 0, 0)
    assert math.isnan(got.share) and math.isnan(got.cjk_share)
    assert script_leakage("", "Жук", ["Жук"], default_script="CYRILLIC").n_foreign == 0
