"""Pure text/token measures of steered generations (Jeong 2026 §5.3): perplexity, distinct-n,
repetition and foreign-script leakage. No model code: every function takes numbers, tokens or
strings, so each measure is testable on hand-computed cases.

Conventions
-----------
* NLLs are per-token negative log-likelihoods in nats (natural log), as a causal LM's
  cross-entropy gives them.
* Tokens are any hashable items (token ids or token strings); n-grams are overlapping windows.
* An undefined ratio (nothing to count) is NaN, never 0, so it cannot pass for "no diversity" or
  "no leakage" in an average; callers decide how to aggregate NaNs.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from emovec.errors import EmovecInputError

# The columns of build/steering/<m>/measures.csv: emovec.artefacts.STEERING_MEASURES.

# ---------------------------------------------------------------------------------- fluency


def perplexity(nlls: Sequence[np.ndarray | Sequence[float]]) -> float:
    """Token-weighted perplexity over several generations.

    ``nlls[i]`` holds the per-token NLLs (nats) of generation ``i`` (any length, 0 allowed).
    Returns ``exp(sum of all NLLs / total number of tokens)``: pooling tokens rather than averaging
    per-generation perplexities keeps one short, odd generation from dominating. NaN when there
    are no tokens at all.
    """
    total, count = 0.0, 0
    for row in nlls:
        arr = np.asarray(row, dtype=np.float64).ravel()
        total += float(arr.sum())
        count += arr.size
    if count == 0:
        return math.nan
    return math.exp(total / count)


# ---------------------------------------------------------------------------------- repetition


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise EmovecInputError(f"distinct_n: n={n!r} must be an integer >= 1")


def distinct_n(tokens: Sequence[Hashable], n: int) -> float:
    """Distinct n-grams / all n-grams (the ``len(tokens) - n + 1`` overlapping windows), in [0, 1].

    NaN when ``len(tokens) < n`` (no n-gram exists); ``n < 1`` raises.
    """
    _check_n(n)
    seq = tuple(tokens)
    n_grams = len(seq) - n + 1
    if n_grams <= 0:
        return math.nan
    distinct = {seq[i: i + n] for i in range(n_grams)}
    return len(distinct) / n_grams


def _has_repeated_kgram(seq: tuple[Hashable, ...], k: int) -> bool:
    """True when some k-gram occurs at two (possibly overlapping) positions of ``seq``."""
    seen: set[tuple[Hashable, ...]] = set()
    for i in range(len(seq) - k + 1):
        gram = seq[i: i + k]
        if gram in seen:
            return True
        seen.add(gram)
    return False


def longest_repeated_ngram(tokens: Sequence[Hashable]) -> int:
    """Largest k such that some k-gram occurs at least twice in ``tokens`` (occurrences may
    overlap: ``[a, a, a]`` -> 2); 0 when no token repeats.

    The property "some k-gram repeats" is monotone in k (the (k-1)-prefixes of a repeated k-gram
    repeat too), so a binary search over k with one O(n k) set pass per step is enough:
    ~9 passes for 512 tokens.
    """
    seq = tuple(tokens)
    lo, hi = 0, max(len(seq) - 1, 0)  # invariant: lo repeats (0 trivially); nothing above hi can
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _has_repeated_kgram(seq, mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


# ---------------------------------------------------------------------------------- scripts

# Scripts of the CJK family: a Japanese prompt answered with kanji is not leakage, so within this
# family every script counts as the prompt's own when the prompt's script is one of them.
CJK_SCRIPTS: frozenset[str] = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO"})

# Symbol categories that are ordinary in any language's text (math, currency, modifier symbols):
# they carry no script. "So" (emoji, dingbats) is kept apart as SYMBOL because a steered model
# that starts emitting emoji is exactly the kind of drift the leakage measure should report.
_SCRIPTLESS_SYMBOLS = frozenset({"Sm", "Sc", "Sk"})

# Width variants name their script after the prefix (FULLWIDTH LATIN ..., HALFWIDTH KATAKANA ...).
_WIDTH_PREFIXES = ("FULLWIDTH ", "HALFWIDTH ")


def _script_from_name(name: str) -> str:
    """The script of a letter from its Unicode character name."""
    if name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "IDEOGRAPHIC ")):
        # IDEOGRAPHIC ITERATION MARK (々) is a letter written only inside Han text.
        return "CJK"
    if name.startswith("LATIN") or " LATIN " in name:
        return "LATIN"
    for prefix in _WIDTH_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
    # "KATAKANA-HIRAGANA PROLONGED SOUND MARK" (ー, very common in Japanese) -> KATAKANA.
    return name.split(" ", 1)[0].split("-", 1)[0]


def char_script(ch: str) -> str | None:
    """The script of one character for leakage counting.

    None for characters that belong to no script here: whitespace/separators (Z*), punctuation
    (P*), numbers (N*), marks (M*), control/format (C*) and the symbols Sm/Sc/Sk. "SYMBOL" for
    category So (emoji, dingbats; also U+FFFD, which a byte-level token that splits a multibyte
    character decodes to). Letters (L*): "CJK" for CJK ideographs, "LATIN" for Latin letters
    (fullwidth included), else the first word of the Unicode name (HIRAGANA, KATAKANA, HANGUL,
    CYRILLIC, GREEK, ARABIC, ...); "UNKNOWN" for a letter without a name.
    """
    if len(ch) != 1:
        raise EmovecInputError(f"char_script: expected one character, got {ch!r}")
    cat = unicodedata.category(ch)
    if cat == "So":
        return "SYMBOL"
    if cat[0] != "L":
        return None  # Z*, P*, N*, M*, C* and Sm/Sc/Sk
    name = unicodedata.name(ch, "")
    return _script_from_name(name) if name else "UNKNOWN"


def dominant_script(text: str) -> str | None:
    """The most frequent script among ``text``'s characters that have one (ties: the script that
    occurs first); None when no character has a script."""
    counts: Counter[str] = Counter()
    for ch in text:
        script = char_script(ch)
        if script is not None:
            counts[script] += 1  # Counter keeps first-insertion order, which max() honours on ties
    if not counts:
        return None
    return max(counts, key=lambda s: counts[s])


@dataclass(frozen=True)
class Leakage:
    """Foreign-script characters in one generation, relative to its prompt's script.

    ``share`` and ``cjk_share`` are fractions of ``n_script_chars`` (NaN when that is 0).
    ``leaked_tokens``: distinct generated token strings, in order of first appearance, containing
    at least one foreign character.
    """

    prompt_script: str
    n_script_chars: int
    n_foreign: int
    share: float
    n_cjk: int
    cjk_share: float
    leaked_tokens: tuple[str, ...]


def _is_foreign(script: str, prompt_script: str) -> bool:
    """Whether a character of ``script`` is foreign to a prompt written in ``prompt_script``."""
    if prompt_script in CJK_SCRIPTS:
        return script not in CJK_SCRIPTS
    return script != prompt_script


def _has_foreign_char(text: str, prompt_script: str) -> bool:
    for ch in text:
        script = char_script(ch)
        if script is not None and _is_foreign(script, prompt_script):
            return True
    return False


def script_leakage(prompt: str, generated: str, generated_tokens: Sequence[str],
                   default_script: str = "LATIN") -> Leakage:
    """Count characters of ``generated`` whose script differs from the prompt's.

    The prompt's script is :func:`dominant_script` of ``prompt`` (``default_script`` when the
    prompt has no script characters). CJK-family characters are foreign unless the prompt itself
    is CJK-family; ``n_cjk`` counts CJK-family characters regardless. ``generated_tokens`` are the
    decoded strings of the generated tokens (only used for ``leaked_tokens``).
    """
    prompt_script = dominant_script(prompt) or default_script
    n_script = n_foreign = n_cjk = 0
    for ch in generated:
        script = char_script(ch)
        if script is None:
            continue
        n_script += 1
        n_foreign += _is_foreign(script, prompt_script)
        n_cjk += script in CJK_SCRIPTS
    leaked = tuple(dict.fromkeys(t for t in generated_tokens if _has_foreign_char(t, prompt_script)))
    share = n_foreign / n_script if n_script else math.nan
    cjk_share = n_cjk / n_script if n_script else math.nan
    return Leakage(prompt_script=prompt_script, n_script_chars=n_script, n_foreign=n_foreign, share=share,
                   n_cjk=n_cjk, cjk_share=cjk_share, leaked_tokens=leaked)
