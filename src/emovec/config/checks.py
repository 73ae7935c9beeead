"""The checks a composed cell config must pass beyond its field types: every choice among its
allowed values, every count and level in range, and the rules that tie fields together (a
generation pooling needs a generation corpus, a chat prompt a chat template, ...). The numeric
ranges are declared beside each field in :mod:`emovec.config.schema` (``ranged``) and checked here
by one walk over the config (:func:`check_ranges`).

Only what the schema itself knows is checked here: a value that names a registry entry (a
pooling, a baseline, norms, a classifier, ...) is checked by :func:`emovec.compose.cells.validate_cell`,
which imports the registries (this module imports none of them, so it stays near the ground).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from emovec.config.schema import (
    ATTN_IMPLEMENTATIONS,
    CORPUS_KINDS,
    DTYPES,
    ON_MISSING_NORMS,
    ON_UNPARSED,
    PC_MATCHINGS,
    PROMPT_FORMATS,
    STORY_SOURCES,
    STORY_SPLITS,
    VARIANTS,
    WEIGHTINGS,
    CellConfig,
    CorpusConfig,
    SteeringConfig,
    resolve_layer,
)
from emovec.errors import EmovecInputError
from emovec.paths import converted_weights_dir

__all__ = ["SCENARIO_SOURCES", "STEERING_PROMPT_FORMATS", "check_cell_schema", "check_ranges"]


def _check_choice(value: Any, allowed: tuple[str, ...], key: str, where: str) -> None:
    if value not in allowed:
        raise EmovecInputError(f"{where}: {key}={value!r} is not one of {list(allowed)}")


def check_ranges(node: Any, where: str, prefix: str = "") -> None:
    """Every numeric field of ``node`` (a config dataclass, nested ones and lists of them included)
    within the range its schema field declares (:class:`emovec.config.schema.Range`): one error
    naming the dotted key, the value and the range. ``None`` (an unset optional) is not checked."""
    for f in dataclasses.fields(node):
        value, key = getattr(node, f.name), f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            check_ranges(value, where, f"{key}.")
            continue
        if isinstance(value, list) and any(dataclasses.is_dataclass(v) for v in value):
            for i, v in enumerate(value):
                check_ranges(v, where, f"{key}[{i}].")
            continue
        allowed = f.metadata.get("range")
        if allowed is None or value is None:
            continue
        for i, x in enumerate(value) if isinstance(value, list) else ((None, value),):
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not allowed.contains(float(x)):
                shown = key if i is None else f"{key}[{i}]"
                raise EmovecInputError(f"{where}: {shown}={x!r} is out of range: must be {allowed}")


def check_cell_schema(raw: DictConfig | dict, where: str = "config") -> CellConfig:
    """Merge a composed config into the schema; unknown keys and bad values raise, naming them
    (see the module docstring for what is checked where)."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(CellConfig), raw)
    except (ConfigKeyError, ValidationError) as exc:
        key = getattr(exc, "full_key", None) or "?"
        raise EmovecInputError(f"{where}: invalid key {key!r}: {exc.msg}") from None
    missing = sorted(OmegaConf.missing_keys(merged))
    if missing:
        raise EmovecInputError(f"{where}: required keys missing: {missing}")
    cell: CellConfig = OmegaConf.to_object(merged)  # type: ignore[assignment]
    check_ranges(cell, where)
    m, c = cell.model, cell.corpus
    _check_choice(m.variant, VARIANTS, "model.variant", where)
    _check_choice(m.dtype, DTYPES, "model.dtype", where)
    _check_choice(m.attn_implementation, ATTN_IMPLEMENTATIONS, "model.attn_implementation", where)
    if m.weights is not None:
        if m.local_dir and m.local_dir != converted_weights_dir(m.name):
            raise EmovecInputError(f"{where}: model {m.name!r} sets both weights (a {m.weights.source} source) and "
                                   f"local_dir={m.local_dir!r}; the model@ stage writes the weights to "
                                   f"{converted_weights_dir(m.name)}: drop one of the two")
        # The one loading path reads the safetensors directory the model@ stage writes.
        m.local_dir = converted_weights_dir(m.name)
    _check_choice(c.kind, CORPUS_KINDS, "corpus.kind", where)
    _check_choice(c.prompt_format, PROMPT_FORMATS, "corpus.prompt_format", where)
    _check_choice(cell.extraction.cache_dtype, DTYPES, "extraction.cache_dtype", where)
    if c.kind != "generation" and c.pooling == "mid_generation":
        raise EmovecInputError(f"{where}: corpus {c.name!r} has no generated part; "
                               "corpus.pooling=mid_generation needs a generation corpus")
    if c.kind == "stories":
        _validate_stories(c, where)
    v = cell.valence
    _check_choice(v.on_missing, ON_MISSING_NORMS, "valence.on_missing", where)
    _check_choice(v.weighting, WEIGHTINGS, "valence.weighting", where)
    _check_choice(v.pc_matching, PC_MATCHINGS, "valence.pc_matching", where)
    if v.on_missing == "fallback" and not v.norms_fallback:
        raise EmovecInputError(f"{where}: valence.on_missing=fallback needs valence.norms_fallback")
    if v.norms_fallback and v.on_missing != "fallback":
        raise EmovecInputError(f"{where}: valence.norms_fallback={v.norms_fallback!r} is only used with "
                               f"valence.on_missing=fallback (got {v.on_missing!r})")
    _validate_steering(cell.steering, m.n_layers, where)
    if c.kind == "generation" and c.prompt_format == "chat" and not m.chat_template:
        raise EmovecInputError(
            f"{where}: model {m.name!r} is a {m.variant} model without a chat template, but "
            f"corpus {c.name!r} asks for chat-template generation (corpus.prompt_format=chat); "
            "use corpus.prompt_format=plain or auto")
    resolve_layer(cell.vectors.layer, m.n_layers, where)
    return cell


def _validate_stories(c: CorpusConfig, where: str) -> None:
    s = c.stories
    _check_choice(c.source, STORY_SOURCES, "corpus.source", where)
    _check_choice(s.split, STORY_SPLITS, "corpus.stories.split", where)
    _check_choice(s.on_unparsed, ON_UNPARSED, "corpus.stories.on_unparsed", where)
    _check_choice(s.preamble, ("error", "discard"), "corpus.stories.preamble", where)
    _check_choice(s.neutral_source, ("project", "upstream"), "corpus.stories.neutral_source", where)
    if c.source == "generated" and not s.generator:
        raise EmovecInputError(f"{where}: corpus {c.name!r} is generated but names no corpus.stories.generator")
    if s.neutral_source == "upstream" and not s.neutral_path:
        raise EmovecInputError(f"{where}: corpus {c.name!r}: neutral_source=upstream needs corpus.stories.neutral_path")


STEERING_PROMPT_FORMATS = ("plain", "chat", "auto")
SCENARIO_SOURCES = ("project", "upstream")


def _validate_steering(st: SteeringConfig, n_layers: int, where: str) -> None:
    """Steering choices that can be checked without loading anything (the stage checks the rest,
    e.g. emotions against the vectors and the scenario file, before generating)."""
    _check_choice(st.scenario_source, SCENARIO_SOURCES, "steering.scenario_source", where)
    _check_choice(st.prompt_format, STEERING_PROMPT_FORMATS, "steering.prompt_format", where)
    if not st.classifiers:
        raise EmovecInputError(f"{where}: steering.classifiers must list at least one classifier")
    names = [c.name for c in st.classifiers]
    if len(set(names)) != len(names):
        raise EmovecInputError(f"{where}: steering.classifiers names a classifier twice: {names}")
    if not st.strengths or len(set(st.strengths)) != len(st.strengths):  # each positive: its declared range
        raise EmovecInputError(f"{where}: steering.strengths must be distinct positive magnitudes (a scenario's "
                               f"sign says toward/away), got {list(st.strengths)}")
    r = st.regimes
    missing = [x for x in (r.low_strength, r.high_strength) if x not in st.strengths]
    if missing:
        raise EmovecInputError(f"{where}: steering.regimes strengths {missing} are not in steering.strengths "
                               f"{list(st.strengths)}; the perplexity ratio needs both")
    if st.n_samples > 1 and not st.decoding.do_sample:
        raise EmovecInputError(f"{where}: steering.n_samples={st.n_samples} with greedy decoding would repeat one "
                               "generation; set steering.decoding.do_sample=true or n_samples=1")
    if st.layers != "all":
        if isinstance(st.layers, str) or not all(isinstance(x, int) and not isinstance(x, bool) for x in st.layers):
            raise EmovecInputError(f"{where}: steering.layers must be 'all' or a list of block indices, got {st.layers!r}")
        bad = [x for x in st.layers if not 0 <= x < n_layers]
        if bad or not st.layers:
            raise EmovecInputError(f"{where}: steering.layers {list(st.layers)} must be non-empty block indices "
                                   f"in 0..{n_layers - 1}")
    try:
        resolve_layer(st.projection_layer, n_layers, where)
    except EmovecInputError as exc:
        raise EmovecInputError(str(exc).replace("vectors.layer", "steering.projection_layer")) from None
