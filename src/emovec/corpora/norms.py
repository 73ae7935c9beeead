"""Human valence/arousal norms for emotion words, put on one stated scale, with every fallback recorded.

The common scale is **bipolar [-1, 1]** for both valence (-1 most unpleasant, +1 most pleasant)
and arousal (-1 calmest, +1 most activated). Each source is rescaled linearly from its own raw
scale ``(lo, hi)`` by ``(x - mid) / half`` with ``mid = (lo + hi) / 2`` and ``half = (hi - lo) / 2``:

* Warriner et al. (2013), 1-9 ratings:   ``(x - 5) / 4``
* NRC-VAD v1 (Mohammad 2018), 0-1 scores: ``(x - 0.5) / 0.5 = 2x - 1``
* sources already on [-1, 1] (NRC values shipped by van der Ben's emotion_experiment, the toy
  coordinates): unchanged, ``x / 1``.

Sources are registered by name (:data:`NORM_SOURCES`): adding one is one reader function plus
``@register_norm_source(...)``. A reader returns a DataFrame indexed by word with float columns
``valence_raw, arousal_raw`` (on the source's raw scale) and a str column ``note``. Every value is
checked: it must parse as a finite float and lie inside the source's raw scale, so a file on the
wrong scale (a 1-9 table handed to a [-1, 1] reader) fails loudly instead of producing vectors
correlated with garbage.

Looking each emotion up in these tables is :mod:`emovec.corpora.norm_resolution`'s.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    # pandas is imported where a table is built, so reading the registry (config validation at
    # compose does) stays light.
    import pandas as pd

from emovec.errors import EmovecInputError
from emovec.paths import PACKAGE_DIR
from emovec.registry import Registry

# ------------------------------------------------------------------------------ the common scale

COMMON_SCALE_LABEL = "[-1,1]"
SCALE_CAPTION = (
    "Valence and arousal on one bipolar scale [-1, 1] (valence: -1 most unpleasant, +1 most pleasant; "
    "arousal: -1 calmest, +1 most activated). Warriner et al. (2013) 1-9 means are rescaled as (x-5)/4, "
    "NRC-VAD v1 0-1 scores as 2x-1; sources already on [-1, 1] are used unchanged."
)


def scale_label(raw_scale: tuple[float, float]) -> str:
    """Short label of a raw scale: ``"1-9"``, ``"0-1"``, or ``"[-1,1]"`` when it has a negative end
    (where a dash would read as a minus sign)."""
    lo, hi = raw_scale
    return f"[{lo:g},{hi:g}]" if lo < 0 else f"{lo:g}-{hi:g}"


def rescale(x: float | np.ndarray, raw_scale: tuple[float, float]) -> float | np.ndarray:
    """Map values from ``raw_scale`` linearly onto [-1, 1]: ``(x - mid) / half``.

    Written with the midpoint so the documented special cases come out bit-exact:
    1-9 gives ``(x - 5) / 4``, 0-1 gives ``(x - 0.5) / 0.5`` (== ``2x - 1`` in floating point,
    as doubling is exact), [-1, 1] gives ``x``.
    """
    lo, hi = raw_scale
    if not hi > lo:
        raise EmovecInputError(f"raw scale {raw_scale} must have hi > lo")
    return (x - (lo + hi) / 2) / ((hi - lo) / 2)


# ------------------------------------------------------------------------------ the registry

Origin = Literal["project", "upstream"]
NormReader = Callable[[Path, "NormSource"], "pd.DataFrame"]


@dataclass(frozen=True)
class NormSource:
    """One norm table: where it lives, its raw scale, and how to read it."""

    name: str
    rel_path: str
    """POSIX path under the data root (``origin="upstream"``) or under the package (``"project"``)."""
    raw_scale: tuple[float, float]
    """(lo, hi) of the raw values in the file; every value is checked against it."""
    reader: NormReader
    origin: Origin
    description: str

    def path(self, data_root: str | Path) -> Path:
        """Absolute location of the file: package files ship with emovec, upstream ones are
        materialised into the data root by the manifest (never committed)."""
        base = PACKAGE_DIR if self.origin == "project" else Path(data_root)
        return base / self.rel_path

    @property
    def scale_label(self) -> str:
        return scale_label(self.raw_scale)


NORM_SOURCES: Registry[NormSource] = Registry("norm source")


def register_norm_source(*, name: str, rel_path: str, raw_scale: tuple[float, float], origin: Origin,
                         description: str) -> Callable[[NormReader], NormReader]:
    """Decorator: register ``reader`` as the norm source ``name``."""
    if origin not in ("project", "upstream"):
        raise ValueError(f"norm source {name!r}: origin must be 'project' or 'upstream', got {origin!r}")

    def deco(reader: NormReader) -> NormReader:
        raw = (float(raw_scale[0]), float(raw_scale[1]))
        NORM_SOURCES.add(name, NormSource(name=name, rel_path=rel_path, raw_scale=raw, reader=reader, origin=origin,
                                          description=description))
        return reader
    return deco


def get_norm_source(name: str) -> NormSource:
    """The registered source ``name``; unknown names raise, listing the known ones."""
    return NORM_SOURCES.lookup(name)


def read_norms(name: str, data_root: str | Path) -> pd.DataFrame:
    """Read the norm source ``name``: DataFrame indexed by word (``word``), columns
    ``valence_raw, arousal_raw`` (float, raw scale) and ``note`` (str)."""
    source = get_norm_source(name)
    return source.reader(source.path(data_root), source)


# ------------------------------------------------------------------------------ shared checks


def _require_file(path: Path, source: NormSource) -> None:
    if path.is_file():
        return
    if source.origin == "upstream":
        hint = ("an upstream file: run `make data` with UPSTREAM_ROOT set, or see conf/data/upstream.yaml")
    else:
        hint = "a file shipped with the emovec package: the installation is incomplete, reinstall it"
    raise EmovecInputError(f"norm file {path} (source {source.name!r}) does not exist ({hint})")


def _csv_records(path: Path, source: NormSource, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, record)`` for every data row, after checking the header.

    The csv module (not pandas) reads the file, for two reasons: every cell stays a string, so
    there is no NA guessing at all (the Warriner lemma "null" survives, which with pandas needs
    ``keep_default_na=False``), and ``line_num`` gives the true 1-based line for error messages.
    """
    _require_file(path, source)
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        missing = [c for c in required if c not in fields]
        if missing:
            raise EmovecInputError(f"{path}: missing column(s) {missing} needed by norm source "
                                   f"{source.name!r}; found {fields}")
        for rec in reader:
            if None in rec:  # more cells than header columns: the row is misaligned
                raise EmovecInputError(f"{path}: line {reader.line_num}: more cells than the "
                                       f"{len(fields)} header columns")
            yield reader.line_num, rec


def _cell(rec: dict[str, str], column: str, path: Path, line: int) -> str:
    value = rec.get(column)
    if value is None:  # fewer cells than header columns
        raise EmovecInputError(f"{path}: line {line}, column {column!r}: missing value (short row)")
    return value.strip()


def _parse_value(cell: str, path: Path, line: int, column: str, source: NormSource) -> float:
    """A finite float inside the source's raw scale, or an error naming file, line and column."""
    try:
        x = float(cell)
    except ValueError:
        raise EmovecInputError(f"{path}: line {line}, column {column!r}: value {cell!r} is not a number") from None
    if not math.isfinite(x):
        raise EmovecInputError(f"{path}: line {line}, column {column!r}: value {cell!r} is not a finite number")
    lo, hi = source.raw_scale
    if not lo <= x <= hi:
        raise EmovecInputError(
            f"{path}: line {line}, column {column!r}: value {x:g} is outside {source.scale_label}: "
            f"unexpected scale (norm source {source.name!r} expects raw values in {source.scale_label}; "
            "is this file on a different scale?)")
    return x


def _norm_table(path: Path, source: NormSource, *, word_col: str, valence_col: str, arousal_col: str,
                note: Callable[[dict[str, str], int], str] | None = None,
                extra_required: Sequence[str] = (), empty_means_absent: bool = False) -> pd.DataFrame:
    """Read a one-word-per-row CSV into the reader DataFrame, with every check.

    ``empty_means_absent``: a row whose valence AND arousal cells are both empty says the source
    has no entry for the word (how the merged 171-emotion table marks gaps), so the word is left
    out of the table and a lookup reports it missing. One empty cell of the two is an error.
    Words are kept as written (stripped, not lowercased): Warriner lists case pairs such as
    "aids"/"AIDS" and "president"/"President" as different entries, and lookups use the
    lowercase emotion word, so only the lowercase entry can ever match.
    """
    words: list[str] = []
    values: list[tuple[float, float]] = []
    notes: list[str] = []
    first_line: dict[str, int] = {}
    for line, rec in _csv_records(path, source, (word_col, valence_col, arousal_col, *extra_required)):
        word = _cell(rec, word_col, path, line)
        if not word:
            raise EmovecInputError(f"{path}: line {line}, column {word_col!r}: empty word")
        if word in first_line:
            raise EmovecInputError(f"{path}: line {line}, column {word_col!r}: duplicate word {word!r} "
                                   f"(first at line {first_line[word]})")
        first_line[word] = line
        v_cell, a_cell = _cell(rec, valence_col, path, line), _cell(rec, arousal_col, path, line)
        if empty_means_absent and not v_cell and not a_cell:
            continue
        if empty_means_absent and not (v_cell and a_cell):
            empty = valence_col if not v_cell else arousal_col
            raise EmovecInputError(f"{path}: line {line}, column {empty!r}: empty while the other "
                                   f"dimension is given for {word!r} (a half-rated word is ambiguous)")
        # The note first: it may check a stated scale, which explains a bad value better.
        notes.append(note(rec, line) if note is not None else "")
        values.append((_parse_value(v_cell, path, line, valence_col, source),
                       _parse_value(a_cell, path, line, arousal_col, source)))
        words.append(word)
    import pandas as pd

    arr = np.asarray(values, dtype=float).reshape(-1, 2)
    return pd.DataFrame({"valence_raw": arr[:, 0], "arousal_raw": arr[:, 1],
                         "note": np.asarray(notes, dtype=object)},
                        index=pd.Index(words, name="word", dtype=object))


def _required_note(column: str, path: Path) -> Callable[[dict[str, str], int], str]:
    """A note taken from ``column``, which must be non-empty (it records provenance)."""
    def note(rec: dict[str, str], line: int) -> str:
        text = _cell(rec, column, path, line)
        if not text:
            raise EmovecInputError(f"{path}: line {line}, column {column!r}: empty provenance note")
        return text
    return note


# ------------------------------------------------------------------------------ the sources


@register_norm_source(
    name="toy", rel_path="stimuli/toy_norms.csv", raw_scale=(-1.0, 1.0), origin="project",
    description="emovec toy generator coordinates for the 20 Jeong emotions (project-authored; the "
                "affect the synthetic toy stories were written from, not human ratings)")
def read_toy_norms(path: Path, source: NormSource) -> pd.DataFrame:
    """``emotion,valence,arousal,scale,source``; every row must state scale ``[-1,1]``."""
    provenance = _required_note("source", path)

    def note(rec: dict[str, str], line: int) -> str:
        stated = _cell(rec, "scale", path, line)
        if stated != COMMON_SCALE_LABEL:
            raise EmovecInputError(f"{path}: line {line}, column 'scale': {stated!r}: unexpected scale "
                                   f"(norm source {source.name!r} expects {COMMON_SCALE_LABEL!r})")
        return provenance(rec, line)

    return _norm_table(path, source, word_col="emotion", valence_col="valence", arousal_col="arousal",
                       note=note, extra_required=("scale", "source"))


@register_norm_source(
    name="nrc_emotion_experiment", rel_path="emotion_experiment/emotion_valence_arousal_nrc.csv",
    raw_scale=(-1.0, 1.0), origin="upstream",
    description="van der Ben's emotion_experiment table for Anthropic's 171 emotions, already on [-1, 1]; "
                "the note is its `source` column (nrc_vad, nrc_vad_mwe, or estimate_from_<words> where "
                "the value was estimated from other words)")
def read_nrc_emotion_experiment(path: Path, source: NormSource) -> pd.DataFrame:
    """``emotion,valence,arousal,source``; the upstream ``source`` becomes the note so the seven
    estimated values (``estimate_from_*``) stay visible downstream."""
    return _norm_table(path, source, word_col="emotion", valence_col="valence", arousal_col="arousal",
                       note=_required_note("source", path), extra_required=("source",))


@register_norm_source(
    name="nrc_vad_v1", rel_path="norms/valence_arousal_171_all_sources.csv", raw_scale=(0.0, 1.0),
    origin="upstream",
    description="NRC-VAD lexicon v1 (Mohammad 2018) scores on 0-1, from the merged 171-emotion table "
                "(columns nrc_v1_valence_0_1, nrc_v1_arousal_0_1; empty cells = word not in the lexicon)")
def read_nrc_vad_v1(path: Path, source: NormSource) -> pd.DataFrame:
    return _norm_table(path, source, word_col="emotion", valence_col="nrc_v1_valence_0_1",
                       arousal_col="nrc_v1_arousal_0_1", empty_means_absent=True)


@register_norm_source(
    name="warriner2013", rel_path="norms/warriner2013.csv", raw_scale=(1.0, 9.0), origin="upstream",
    description="Warriner, Kuperman & Brysbaert (2013), 13,915 English lemmas; mean ratings "
                "V.Mean.Sum and A.Mean.Sum on 1-9 (CC BY-NC-ND 3.0: never redistributed)")
def read_warriner2013(path: Path, source: NormSource) -> pd.DataFrame:
    """``Word, V.Mean.Sum, A.Mean.Sum`` (the first, unnamed column is a row index and is ignored).

    No NA conversion happens (see :func:`_csv_records`), so the lemma "null" keeps its ratings.
    """
    return _norm_table(path, source, word_col="Word", valence_col="V.Mean.Sum", arousal_col="A.Mean.Sum")
