"""Each emotion's valence/arousal norm, resolved from the registered sources (:mod:`emovec.corpora.norms`).

:func:`resolve_norms` looks each emotion up by its lowercase word, exactly: no lemmatisation,
because silently mapping "loving" to "love" would change what was rated. A missing word is an
error, a recorded fallback to a second source, or a recorded exclusion, never a silent drop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from emovec.artefacts.declarations import VALENCE_NORMS
from emovec.corpora.norms import COMMON_SCALE_LABEL, SCALE_CAPTION, NormSource, get_norm_source, rescale
from emovec.errors import EmovecInputError

__all__ = ["ON_MISSING", "RESOLVED_COLUMNS", "resolve_norms"]

ON_MISSING = ("error", "fallback", "exclude")
RESOLVED_COLUMNS = VALENCE_NORMS.names  # the valence stage writes this frame as norms.csv


def _found_row(emotion: str, lemma: str, source: NormSource, entry: pd.Series, status: str,
               note: str) -> dict[str, object]:
    v_raw, a_raw = float(entry["valence_raw"]), float(entry["arousal_raw"])
    return {"emotion": emotion, "valence": float(rescale(v_raw, source.raw_scale)),
            "arousal": float(rescale(a_raw, source.raw_scale)), "norm": source.name, "lemma": lemma,
            "valence_raw": v_raw, "arousal_raw": a_raw, "raw_scale": source.scale_label,
            "status": status, "note": note}


def _check_request(emotions: Sequence[str], primary: str, fallback: str | None, on_missing: str) -> None:
    if on_missing not in ON_MISSING:
        raise EmovecInputError(f"norms on_missing must be one of {list(ON_MISSING)}, got {on_missing!r}")
    get_norm_source(primary)
    if fallback is not None:
        get_norm_source(fallback)
        if on_missing != "fallback":
            # A configured fallback that is never consulted would read as if it had been used.
            raise EmovecInputError(f"norms fallback={fallback!r} is only used with on_missing='fallback', "
                                   f"got on_missing={on_missing!r}; set fallback to null or change on_missing")
        if fallback == primary:
            raise EmovecInputError(f"norms fallback {fallback!r} is the same source as the primary")
    if not emotions:
        raise EmovecInputError("resolve_norms: no emotions given")
    seen: set[str] = set()
    for e in emotions:
        if e.lower() in seen:
            raise EmovecInputError(f"resolve_norms: emotion {e!r} is listed twice")
        seen.add(e.lower())


def resolve_norms(emotions: Sequence[str], primary: str, *, fallback: str | None, on_missing: str,
                  data_root: str | Path) -> pd.DataFrame:
    """Valence/arousal on [-1, 1] for each emotion, in input order, with provenance per row.

    Columns (:data:`RESOLVED_COLUMNS`): ``emotion``; ``valence, arousal`` on [-1, 1]; ``norm`` (the
    source that supplied the values, "" when excluded); ``lemma`` (the word looked up: the
    lowercase emotion, no lemmatisation); ``valence_raw, arousal_raw`` and ``raw_scale`` (e.g.
    "1-9") as in the file; ``status`` ("found" | "fallback" | "excluded"); ``note`` (the source's
    note, plus why a fallback or exclusion happened).

    ``on_missing`` decides what a word absent from ``primary`` does:
    "error" raises, listing every missing emotion and the norm file; "fallback" takes it from
    ``fallback`` (an error if that is None or lacks the word too, naming both); "exclude" keeps the
    row with NaN values and status "excluded", an explicit record the caller then filters on.
    """
    _check_request(emotions, primary, fallback, on_missing)
    src = get_norm_source(primary)
    src_path = src.path(data_root)
    table = src.reader(src_path, src)
    rows: list[dict[str, object] | None] = []
    missing: list[str] = []
    for emotion in emotions:
        lemma = emotion.lower()
        if lemma in table.index:
            entry = table.loc[lemma]
            rows.append(_found_row(emotion, lemma, src, entry, "found", str(entry["note"])))
        else:
            rows.append(None)
            missing.append(emotion)

    if missing and on_missing == "error":
        raise EmovecInputError(
            f"norm source {primary!r} ({src_path}) has no entry for {len(missing)} emotion(s): {missing}; "
            "set on_missing to 'fallback' (with a fallback source) or 'exclude' to record them explicitly")
    if missing and on_missing == "fallback":
        rows = _fill_from_fallback(rows, emotions, missing, src, src_path, fallback, data_root)
    if missing and on_missing == "exclude":
        rows = [r if r is not None else _excluded_row(e, src) for r, e in zip(rows, emotions)]

    import pandas as pd

    out = pd.DataFrame([r for r in rows if r is not None], columns=list(RESOLVED_COLUMNS))
    out.attrs["scale"] = COMMON_SCALE_LABEL
    out.attrs["scale_caption"] = SCALE_CAPTION
    return out


def _fill_from_fallback(rows: list[dict[str, object] | None], emotions: Sequence[str], missing: list[str],
                        src: NormSource, src_path: Path, fallback: str | None,
                        data_root: str | Path) -> list[dict[str, object] | None]:
    if fallback is None:
        raise EmovecInputError(f"norm source {src.name!r} ({src_path}) has no entry for {missing} and "
                               "on_missing='fallback' but no fallback source is set")
    fb = get_norm_source(fallback)
    fb_path = fb.path(data_root)
    fb_table = fb.reader(fb_path, fb)
    lacking = [e for e in missing if e.lower() not in fb_table.index]
    if lacking:
        raise EmovecInputError(f"emotion(s) {lacking} are in neither the primary norm source {src.name!r} "
                               f"({src_path}) nor the fallback {fallback!r} ({fb_path})")
    out = list(rows)
    for i, emotion in enumerate(emotions):
        if out[i] is None:
            lemma = emotion.lower()
            entry = fb_table.loc[lemma]
            note = f"no lemma {lemma!r} in {src.name}; value from fallback {fb.name}"
            if str(entry["note"]):
                note += f" ({entry['note']})"
            out[i] = _found_row(emotion, lemma, fb, entry, "fallback", note)
    return out


def _excluded_row(emotion: str, src: NormSource) -> dict[str, object]:
    lemma = emotion.lower()
    return {"emotion": emotion, "valence": math.nan, "arousal": math.nan, "norm": "", "lemma": lemma,
            "valence_raw": math.nan, "arousal_raw": math.nan, "raw_scale": "", "status": "excluded",
            "note": f"no lemma {lemma!r} in {src.name}; excluded (on_missing='exclude'): drop this emotion"}
