"""Stimulus rows: the one schema every corpus is turned into, with strict validation.

A stimulus row is ``{"id", "emotion", "role", "text"}`` plus, for generated stories,
``"prompt_ids"`` and ``"generated_ids"`` (token ids, so extraction reads exactly what was
generated). ``role`` is "emotion", "neutral" (the baseline) or "anisotropy" (neutral factual
sentences). Readers are registered by format name: adding a corpus format is one function.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from emovec.emotions import NEUTRAL
from emovec.errors import EmovecInputError
from emovec.registry import Registry

PASSAGE_READERS: Registry[Callable[[Path], list[dict[str, Any]]]] = Registry("passage format")
TEMPLATE_READERS: Registry[Callable[[Path], dict[str, Any]]] = Registry("template format")
register_passage_reader = PASSAGE_READERS.register  # decorator: @register_passage_reader("name")
register_template_reader = TEMPLATE_READERS.register


def _require_file(path: Path) -> None:
    if not path.is_file():
        hint = (" (an upstream file: run `make data` with UPSTREAM_ROOT set, or see conf/data/upstream.yaml)"
                if "data" in path.parts else "")
        raise EmovecInputError(f"stimulus file {path} does not exist{hint}")


@register_passage_reader("project_csv")
def read_project_csv(path: Path) -> list[dict[str, Any]]:
    """The project's CSV: header ``id,emotion,text``."""
    _require_file(path)
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("id", "emotion", "text") if c not in (reader.fieldnames or [])]
        if missing:
            raise EmovecInputError(f"{path}: missing column(s) {missing}; found {reader.fieldnames}")
        return [{"id": r["id"], "emotion": r["emotion"], "text": r["text"], "_row": i + 2}
                for i, r in enumerate(reader)]


@register_passage_reader("jeong_csv")
def read_jeong_csv(path: Path) -> list[dict[str, Any]]:
    """Jeong's upstream CSV: ``#`` comment lines, no header, rows ``emotion,passage_id,text``."""
    _require_file(path)
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for lineno, rec in enumerate(csv.reader(fh), start=1):
            if not rec or not "".join(rec).strip() or rec[0].lstrip().startswith("#"):
                continue
            if len(rec) != 3:
                raise EmovecInputError(f"{path}: row {lineno} has {len(rec)} columns, expected 3 "
                                       "(emotion, passage_id, text)")
            emotion, pid, text = (x.strip() for x in rec)
            rows.append({"id": f"{emotion}-{pid}", "emotion": emotion, "text": text, "_row": lineno})
    return rows


@register_template_reader("templates_json")
def read_templates_json(path: Path) -> dict[str, Any]:
    """The project's generation templates: templates, neutral_template, neutral_topics."""
    _require_file(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in ("templates", "neutral_template", "neutral_topics"):
        if key not in data:
            raise EmovecInputError(f"{path}: missing key {key!r}")
    for i, t in enumerate(data["templates"]):
        if "{emotion}" not in t:
            raise EmovecInputError(f"{path}: templates[{i}] has no {{emotion}} placeholder")
    if "{topic}" not in data["neutral_template"]:
        raise EmovecInputError(f"{path}: neutral_template has no {{topic}} placeholder")
    return {k: data[k] for k in ("templates", "neutral_template", "neutral_topics")}


@register_template_reader("jeong_protocol")
def read_jeong_protocol(path: Path) -> dict[str, Any]:
    """Jeong's protocol (compiled from the upstream scripts): 5 templates, neutral template, 10 topics."""
    _require_file(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        return {"templates": data["generation_templates"],
                "neutral_template": data["neutral_generation_template"],
                "neutral_topics": data["neutral_topics_10"]}
    except KeyError as exc:
        raise EmovecInputError(f"{path}: missing key {exc.args[0]!r}") from None


def read_passages(path: Path, fmt: str) -> list[dict[str, Any]]:
    try:
        reader = PASSAGE_READERS[fmt]
    except KeyError:
        raise EmovecInputError(f"unknown passage format {fmt!r}; known: {sorted(PASSAGE_READERS)}") from None
    return reader(path)


def read_templates(path: Path, fmt: str) -> dict[str, Any]:
    try:
        reader = TEMPLATE_READERS[fmt]
    except KeyError:
        raise EmovecInputError(f"unknown template format {fmt!r}; known: {sorted(TEMPLATE_READERS)}") from None
    return reader(path)


def read_anisotropy(path: Path) -> list[dict[str, Any]]:
    """Neutral factual sentences (``id,text``) for the anisotropy baseline."""
    _require_file(path)
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("id", "text") if c not in (reader.fieldnames or [])]
        if missing:
            raise EmovecInputError(f"{path}: missing column(s) {missing}; found {reader.fieldnames}")
        return [{"id": r["id"], "emotion": NEUTRAL, "role": "anisotropy", "text": r["text"], "_row": i + 2}
                for i, r in enumerate(reader)]


def validate_rows(rows: Sequence[dict[str, Any]], emotions: Iterable[str], source: str) -> list[dict[str, Any]]:
    """Check every row (known emotion, non-empty text, unique id) and set its role.

    Errors name the file and row. Every emotion of the set must have at least one row, so a
    missing emotion is caught here rather than as a NaN vector three stages later.
    """
    allowed = set(emotions)
    seen: dict[str, int] = {}
    out = []
    for r in rows:
        where = f"{source}: row {r.get('_row', '?')}"
        for key in ("id", "emotion", "text"):
            if r.get(key) is None:
                raise EmovecInputError(f"{where}: missing value for column {key!r}")
        if r["emotion"] != NEUTRAL and r["emotion"] not in allowed:
            raise EmovecInputError(f"{where}: unknown emotion {r['emotion']!r} (id {r['id']!r}); "
                                   "expected one of the emotion set or 'neutral'")
        if not str(r["text"]).strip():
            raise EmovecInputError(f"{where}: empty text (id {r['id']!r})")
        if r["id"] in seen:
            raise EmovecInputError(f"{where}: duplicate id {r['id']!r} (first at row {seen[r['id']]})")
        seen[r["id"]] = r.get("_row", -1)
        row = {k: v for k, v in r.items() if not k.startswith("_")}
        row.setdefault("role", NEUTRAL if r["emotion"] == NEUTRAL else "emotion")
        out.append(row)
    present = {r["emotion"] for r in out}
    absent = [e for e in emotions if e not in present]
    if absent:
        raise EmovecInputError(f"{source}: no stimuli for emotion(s) {absent}")
    return out
