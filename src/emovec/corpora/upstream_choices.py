"""Which config choices need which upstream file, read from conf/ itself (never a hand-kept list).

A missing upstream file is reported in terms the user acts on ("corpus=jeong-comprehension needs
data/neural-mri/emotion_comprehension_texts.csv") rather than as a bare path. The map is derived
from the configs, so it can neither name a choice that does not exist nor miss one that reads a
file:

* every choice file ``conf/<group>/<choice>.yaml`` of a Hydra group named in the defaults list of
  ``conf/config.yaml`` is walked: a string value ``data/<path>`` means the choice
  ``<group>=<choice>`` reads ``<path>`` under the data directory, and a value naming a file-backed
  registry entry means it reads that entry's file (an ``emotion_set`` listed in
  :data:`emovec.emotions.EMOTION_SET_FILES`, a ``norms``/``norms_fallback`` naming a norm source of
  origin ``upstream`` in :data:`emovec.corpora.norms.NORM_SOURCES`);
* a norm source is also picked by a Hydra override rather than a choice file, so each upstream
  norm source adds ``valence.norms=<source>`` and ``valence.norms_fallback=<source>``.

:func:`selection_choices` reads a run selection (``conf/selection.yaml``, ``conf/selections/*.yaml``)
into the choices its cells make, so a report can say which selection a missing file rules out.
Nothing is read at import time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from emovec.config.schema import VALENCE_EXPERIMENT
from emovec.corpora.norms import NORM_SOURCES
from emovec.corpora.upstream_files import load_manifest
from emovec.emotions import EMOTION_SET_FILES
from emovec.errors import EmovecInputError
from emovec.paths import CONF_DIR

DATA_PREFIX = "data/"  # how configs write a path under the data directory (repo-relative)
NORM_KEYS = ("norms", "norms_fallback")  # config keys whose value names a norm source
NORM_CONFIG = "valence"  # the config node holding NORM_KEYS (emovec.config.ValenceConfig)
CELL_GROUPS = ("model", "corpus")  # groups a selection sets per cell (models x corpora)

Choice = tuple[str, str]
"""(key, value) of one config choice: ("corpus", "jeong-comprehension"), ("valence.norms", "warriner2013")."""


def label(choice: Choice) -> str:
    """``key=value``, the Hydra override that makes the choice."""
    return f"{choice[0]}={choice[1]}"


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EmovecInputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise EmovecInputError(f"{path}: not valid YAML ({exc})") from exc


def hydra_groups(conf_dir: Path = CONF_DIR) -> dict[str, str]:
    """Config group -> its default choice, from the defaults list of ``conf_dir/config.yaml``
    (Hydra's own groups, ``hydra/...``, are left out: they configure launchers, not the run)."""
    raw = _load_yaml(conf_dir / "config.yaml") or {}
    out: dict[str, str] = {}
    for item in raw.get("defaults") or []:
        if not isinstance(item, dict):
            continue  # "_self_"
        for group, choice in item.items():
            group = str(group).removeprefix("override ").strip()
            if not group.startswith("hydra"):
                out[group] = str(choice)
    return out


def upstream_norm_files() -> dict[str, str]:
    """Norm source name -> its file under the data directory, for every upstream norm source."""
    return {name: src.rel_path for name, src in NORM_SOURCES.items() if src.origin == "upstream"}


def _referenced(node: Any, key: str | None, norms: Mapping[str, str]) -> Iterator[str]:
    """Paths under the data directory that a parsed config node reads (see the module docstring)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _referenced(v, str(k), norms)
    elif isinstance(node, list):
        for v in node:
            yield from _referenced(v, key, norms)
    elif isinstance(node, str):
        if node.startswith(DATA_PREFIX):
            yield node.removeprefix(DATA_PREFIX)
        elif key == "emotion_set" and node in EMOTION_SET_FILES:
            yield EMOTION_SET_FILES[node]
        elif key in NORM_KEYS and node in norms:
            yield norms[node]


def choice_files(conf_dir: Path = CONF_DIR) -> dict[Choice, frozenset[str]]:
    """Every config choice that reads upstream files -> those files (paths under the data directory)."""
    norms = upstream_norm_files()
    out: dict[Choice, frozenset[str]] = {}
    for group in hydra_groups(conf_dir):
        for path in sorted((conf_dir / group).glob("*.yaml")):
            files = frozenset(_referenced(_load_yaml(path), None, norms))
            if files:
                out[(group, path.stem)] = files
    for name, rel in norms.items():
        for key in NORM_KEYS:
            out[(f"{NORM_CONFIG}.{key}", name)] = frozenset({rel})
    return out


def needed_by(conf_dir: Path = CONF_DIR, manifest: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Upstream file (path under the data directory) -> the choices that need it, as ``key=value``.

    Keys: every file of the manifest (``conf_dir/data/upstream.yaml`` unless ``manifest`` is
    given), in manifest order, with ``()`` for a file no choice reads; then any file a config
    reads that the manifest does not list (a config error, which tests/corpora/test_upstream_choices.py
    turns into a failure).
    """
    entries = load_manifest(manifest if manifest is not None else conf_dir / "data" / "upstream.yaml")
    out: dict[str, list[str]] = {e.path: [] for e in entries}
    for choice, files in choice_files(conf_dir).items():
        for rel in files:
            out.setdefault(rel, []).append(label(choice))
    return {rel: tuple(sorted(labels)) for rel, labels in out.items()}


def _overrides(node: Any) -> list[str]:
    return [str(o) for o in node] if isinstance(node, list) else []


def _parse_override(override: str) -> Choice | None:
    key, sep, value = override.lstrip("+~").partition("=")
    return (key.strip(), value.strip()) if sep else None


def selection_choices(path: Path, conf_dir: Path = CONF_DIR) -> set[Choice]:
    """The choices the cells of a run selection make, together: each selected model and corpus,
    the experiments, the defaults of ``conf_dir/config.yaml`` not replaced by a selection-wide
    override, and every override (selection-wide, per cell and the steering check's)."""
    sel = _load_yaml(path) or {}
    if not isinstance(sel, dict):
        raise EmovecInputError(f"{path}: expected a mapping (a run selection)")
    wide = [c for c in map(_parse_override, _overrides(sel.get("overrides"))) if c is not None]
    replaced = {key for key, _ in wide}
    choices = {(g, c) for g, c in hydra_groups(conf_dir).items() if g not in CELL_GROUPS and g not in replaced}
    choices |= set(wide)
    choices |= {("model", str(m)) for m in sel.get("models") or []}
    story = [str(c) for c in sel.get("story_corpora") or []]
    choices |= {("corpus", c) for c in [*map(str, sel.get("corpora") or []), *story]}
    if sel.get("experiment") is not None:
        choices.add(("experiment", str(sel["experiment"])))
    if story:
        choices.add(("experiment", VALENCE_EXPERIMENT))
    more = _overrides((sel.get("steering_check") or {}).get("overrides"))
    cell_overrides = sel.get("cell_overrides") or {}
    for node in cell_overrides.values() if isinstance(cell_overrides, dict) else ():
        more += _overrides(node)
    choices |= {c for c in map(_parse_override, more) if c is not None}
    return choices


def selection_files(conf_dir: Path = CONF_DIR) -> list[Path]:
    """The run selections: ``conf_dir/selection.yaml`` (the default run), then ``selections/*.yaml``."""
    found = [conf_dir / "selection.yaml", *sorted((conf_dir / "selections").glob("*.yaml"))]
    return [p for p in found if p.is_file()]


def needed_by_selections(files: Iterable[str], conf_dir: Path = CONF_DIR,
                         needed: Mapping[str, tuple[str, ...]] | None = None) -> dict[Path, list[str]]:
    """For each run selection (:func:`selection_files`), which of ``files`` (paths under the data
    directory) its choices need, in the order given; ``needed`` defaults to :func:`needed_by`."""
    table = needed if needed is not None else needed_by(conf_dir)
    files = list(files)
    out: dict[Path, list[str]] = {}
    for path in selection_files(conf_dir):
        made = {label(c) for c in selection_choices(path, conf_dir)}
        out[path] = [rel for rel in files if made & set(table.get(rel, ()))]
    return out
