"""The composed paper config (``build/config/paper.yaml``, written by the compose stage), read
and validated in one place.

It has four parts: the separation cells (``digits``, ``experiment``, ``cells``), the valence
cells (``valence_cells``, may be absent), the steering models, classifiers and regime rule
(``steering``, may be absent) and the provenance the tables print (``provenance``, checked by
``emovec.paper.provenance``). ``load_paper_config`` reads all of them; the per-part readers
are public for callers (and tests) that hold only one part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf

from emovec.config import RegimeConfig, as_dataclass
from emovec.errors import EmovecInputError
from emovec.paper.loaders.checks import SAFE_NAME, require_int, require_mapping, require_number, require_str
from emovec.steering.classifiers import classifier_info

__all__ = [
    "CELL_KEYS",
    "METHODS",
    "REGIME_KEYS",
    "VALENCE_CELL_KEYS",
    "VARIANTS",
    "CellSpec",
    "ClassifierSpec",
    "PaperConfig",
    "PaperSpec",
    "SteeringModelSpec",
    "SteeringSpec",
    "ValenceCellSpec",
    "ValenceSpec",
    "load_paper_config",
    "load_paper_spec",
    "load_steering_spec",
    "load_valence_spec",
    "sort_key",
    "steering_sort_key",
    "valence_sort_key",
]

METHODS: tuple[str, ...] = ("generation", "comprehension")
VARIANTS: tuple[str, ...] = ("base", "instruct")
CELL_KEYS: tuple[str, ...] = (
    "cell", "model", "corpus", "method", "variant", "family", "partner", "n_layers", "layer",
    "pooling", "baseline", "normalised",
)
VALENCE_CELL_KEYS: tuple[str, ...] = (
    "cell", "model", "corpus", "generator", "variant", "family", "n_layers", "norms", "emotion_set",
)
# The regime thresholds; every one must be given (RegimeConfig's defaults are not applied here:
# the compose stage writes all five, so a missing one means a stale or hand-edited config).
REGIME_KEYS: tuple[str, ...] = tuple(RegimeConfig.__dataclass_fields__)
MAX_DIGITS = 10


# --------------------------------------------------------------------------------------------
# Separation cells
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellSpec:
    """One (model, corpus) cell as listed in the composed paper config."""

    cell: str
    model: str
    corpus: str
    method: str  # generation | comprehension
    variant: str  # base | instruct
    family: str
    partner: str | None
    n_layers: int
    layer: int  # the reported layer: 0-based transformer block index
    pooling: str
    baseline: str
    normalised: bool


@dataclass(frozen=True)
class PaperSpec:
    """The composed paper config: float digits, experiment name and the cells to report."""

    digits: int
    experiment: str
    cells: tuple[CellSpec, ...]


def sort_key(spec: CellSpec) -> tuple[str, int, str, int]:
    """Deterministic cell order: family, base before instruct, model, generation first."""
    return (spec.family, VARIANTS.index(spec.variant), spec.model, METHODS.index(spec.method))


def _separation_cell(raw: Any, where: str) -> CellSpec:
    if not isinstance(raw, dict):
        raise EmovecInputError(f"{where} must be a mapping; got {type(raw).__name__}")
    missing = [k for k in CELL_KEYS if k not in raw]
    if missing:
        raise EmovecInputError(f"{where}: missing key(s) {missing}")
    cell = require_str(raw["cell"], f"{where}.cell")
    if not SAFE_NAME.match(cell):
        raise EmovecInputError(f"{where}.cell={cell!r} must match {SAFE_NAME.pattern} (used in file names)")
    method = require_str(raw["method"], f"{where}.method")
    if method not in METHODS:
        raise EmovecInputError(f"{where}.method={method!r}; expected one of {list(METHODS)}")
    variant = require_str(raw["variant"], f"{where}.variant")
    if variant not in VARIANTS:
        raise EmovecInputError(f"{where}.variant={variant!r}; expected one of {list(VARIANTS)}")
    partner = raw["partner"]
    if partner is not None:
        partner = require_str(partner, f"{where}.partner")
    n_layers = require_int(raw["n_layers"], f"{where}.n_layers", minimum=1)
    layer = require_int(raw["layer"], f"{where}.layer", minimum=0)
    if layer >= n_layers:
        raise EmovecInputError(f"{where}.layer={layer} is out of range for n_layers={n_layers}")
    if not isinstance(raw["normalised"], bool):
        raise EmovecInputError(f"{where}.normalised must be true/false; got {raw['normalised']!r}")
    return CellSpec(
        cell=cell, model=require_str(raw["model"], f"{where}.model"),
        corpus=require_str(raw["corpus"], f"{where}.corpus"), method=method, variant=variant,
        family=require_str(raw["family"], f"{where}.family"), partner=partner,
        n_layers=n_layers, layer=layer, pooling=require_str(raw["pooling"], f"{where}.pooling"),
        baseline=require_str(raw["baseline"], f"{where}.baseline"), normalised=raw["normalised"],
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise EmovecInputError(f"paper config {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise EmovecInputError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise EmovecInputError(f"{path}: expected a mapping at the top level")
    return raw


def _digits(value: Any, where: str) -> int:
    """Decimals of every printed float: 0..MAX_DIGITS."""
    digits = require_int(value, f"{where}: digits", minimum=0)
    if digits > MAX_DIGITS:
        raise EmovecInputError(f"{where}: digits={digits} is implausibly large (max {MAX_DIGITS})")
    return digits


def _separation_spec(raw: Mapping[str, Any], path: Path) -> PaperSpec:
    for key in ("digits", "experiment", "cells"):
        if key not in raw:
            raise EmovecInputError(f"{path}: missing key {key!r}")
    digits = _digits(raw["digits"], str(path))
    experiment = require_str(raw["experiment"], f"{path}: experiment")
    if not isinstance(raw["cells"], list) or not raw["cells"]:
        raise EmovecInputError(f"{path}: cells must be a non-empty list")
    cells = tuple(_separation_cell(c, f"{path}: cells[{i}]") for i, c in enumerate(raw["cells"]))
    seen: set[str] = set()
    by_model_method: dict[tuple[str, str], str] = {}
    for c in cells:
        if c.cell in seen:
            raise EmovecInputError(f"{path}: cell {c.cell!r} is listed twice")
        seen.add(c.cell)
        key = (c.model, c.method)
        if key in by_model_method:
            raise EmovecInputError(
                f"{path}: cells {by_model_method[key]!r} and {c.cell!r} are both "
                f"{c.method} cells of model {c.model!r}; the per-model tables need one per method")
        by_model_method[key] = c.cell
    return PaperSpec(digits=digits, experiment=experiment, cells=cells)


def load_paper_spec(path: str | Path) -> PaperSpec:
    """Read and validate the separation part of the paper config.

    Raises:
        EmovecInputError: missing file, bad YAML, missing/ill-typed key, duplicate cell, or two
            cells with the same (model, method) (the per-model tables would be ambiguous).
    """
    path = Path(path)
    return _separation_spec(_read_yaml(path), path)


# --------------------------------------------------------------------------------------------
# Valence cells
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValenceCellSpec:
    """One (model, corpus) valence cell as listed under ``valence_cells`` in the paper config."""

    cell: str
    model: str
    corpus: str
    generator: str  # who wrote the corpus: a model name, "project", "upstream:<model>", ...
    variant: str  # base | instruct
    family: str
    n_layers: int
    norms: str
    emotion_set: str


@dataclass(frozen=True)
class ValenceSpec:
    """The valence part of the composed paper config."""

    digits: int
    cells: tuple[ValenceCellSpec, ...]


def valence_sort_key(spec: ValenceCellSpec) -> tuple[str, int, str, str]:
    """Deterministic cell order: family, base before instruct, model, corpus."""
    return (spec.family, VARIANTS.index(spec.variant), spec.model, spec.corpus)


def _valence_cell(raw: Any, where: str) -> ValenceCellSpec:
    if not isinstance(raw, dict):
        raise EmovecInputError(f"{where} must be a mapping; got {type(raw).__name__}")
    missing = [k for k in VALENCE_CELL_KEYS if k not in raw]
    if missing:
        raise EmovecInputError(f"{where}: missing key(s) {missing}")
    values = {k: require_str(raw[k], f"{where}.{k}") for k in VALENCE_CELL_KEYS if k != "n_layers"}
    for key in ("cell", "model"):  # used in file names (cell directories, cka/<model>.npz, figures)
        if not SAFE_NAME.match(values[key]):
            raise EmovecInputError(
                f"{where}.{key}={values[key]!r} must match {SAFE_NAME.pattern} (used in file names)")
    if values["variant"] not in VARIANTS:
        raise EmovecInputError(f"{where}.variant={values['variant']!r}; expected one of {list(VARIANTS)}")
    n_layers = require_int(raw["n_layers"], f"{where}.n_layers", minimum=1)
    return ValenceCellSpec(n_layers=n_layers, **values)


def _valence_spec(raw: Mapping[str, Any], path: Path) -> ValenceSpec:
    if "digits" not in raw:
        raise EmovecInputError(f"{path}: missing key 'digits'")
    digits = _digits(raw["digits"], str(path))
    entries = raw.get("valence_cells")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise EmovecInputError(f"{path}: valence_cells must be a list; got {type(entries).__name__}")
    cells = tuple(_valence_cell(c, f"{path}: valence_cells[{i}]") for i, c in enumerate(entries))
    names: set[str] = set()
    pairs: dict[tuple[str, str], str] = {}
    per_model: dict[str, ValenceCellSpec] = {}
    for c in cells:
        if c.cell in names:
            raise EmovecInputError(f"{path}: valence cell {c.cell!r} is listed twice")
        names.add(c.cell)
        if (c.model, c.corpus) in pairs:
            raise EmovecInputError(
                f"{path}: valence cells {pairs[(c.model, c.corpus)]!r} and {c.cell!r} are both model "
                f"{c.model!r} on corpus {c.corpus!r}")
        pairs[(c.model, c.corpus)] = c.cell
        first = per_model.setdefault(c.model, c)
        for key in ("n_layers", "variant", "family"):
            if getattr(first, key) != getattr(c, key):
                raise EmovecInputError(
                    f"{path}: valence cells {first.cell!r} and {c.cell!r} give model {c.model!r} "
                    f"different {key} ({getattr(first, key)!r} vs {getattr(c, key)!r})")
    return ValenceSpec(digits=digits, cells=cells)


def load_valence_spec(path: str | Path) -> ValenceSpec:
    """Read the ``digits`` and ``valence_cells`` keys of the paper config.

    ``valence_cells`` may be absent, null or empty: then ``cells`` is empty and no valence
    outputs are made. Other keys of the config are ignored here.

    Raises:
        EmovecInputError: missing file, bad YAML, missing/ill-typed key, a cell listed twice, two
            cells with the same (model, corpus), or one model listed with different n_layers,
            variant or family.
    """
    path = Path(path)
    return _valence_spec(_read_yaml(path), path)


# --------------------------------------------------------------------------------------------
# Steering models, classifiers and regime rule
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SteeringModelSpec:
    """One steered model as listed under ``steering.models`` in the paper config."""

    model: str
    variant: str  # base | instruct
    family: str
    partner: str | None  # the other variant of the same family, for the RLHF comparison


@dataclass(frozen=True)
class ClassifierSpec:
    """One emotion classifier whose scores the tables report (``steering.classifiers[]``).

    ``labels``, the score range and ``score_kind`` come from the classifier registry
    (``emovec.steering.classifiers.CLASSIFIER_INFO``), not from the paper config.
    """

    name: str  # registry name, as written in the classify CSV's ``classifier`` column
    display_name: str  # how captions and axis labels name it (and the CSV's ``display_name``)
    labels: tuple[str, ...] = ()
    score_min: float = 0.0
    score_max: float = 1.0
    score_kind: str = "probability"
    no_hit: str | None = None  # lexicon classifiers: what a text without a lexicon hit scores


@dataclass(frozen=True)
class SteeringSpec:
    """The ``steering`` part of the composed paper config.

    ``models`` may be empty (a selection without steering); then ``classifiers`` may be empty,
    ``regimes`` and ``ci_level`` None, and no steering table or figure is made. With models they
    are always set (at least one classifier, names distinct, in config order). ``regimes`` is the
    steering config's own ``RegimeConfig`` (strengths are unsigned magnitudes).
    """

    digits: int
    models: tuple[SteeringModelSpec, ...]
    classifiers: tuple[ClassifierSpec, ...]
    regimes: RegimeConfig | None
    ci_level: float | None


def steering_sort_key(spec: SteeringModelSpec) -> tuple[str, int, str]:
    """Deterministic model order: family, base before instruct, model name."""
    return (spec.family, VARIANTS.index(spec.variant), spec.model)


def _model_spec(raw: Any, where: str) -> SteeringModelSpec:
    raw = require_mapping(raw, where)
    missing = [k for k in ("model", "variant", "family") if k not in raw]
    if missing:
        raise EmovecInputError(f"{where}: missing key(s) {missing}")
    model = require_str(raw["model"], f"{where}.model")
    if not SAFE_NAME.match(model):  # a directory, a CSV and a figure are named after it
        raise EmovecInputError(f"{where}.model={model!r} must match {SAFE_NAME.pattern} (used in file names)")
    variant = require_str(raw["variant"], f"{where}.variant")
    if variant not in VARIANTS:
        raise EmovecInputError(f"{where}.variant={variant!r}; expected one of {list(VARIANTS)}")
    partner = raw.get("partner")
    if partner is not None:
        partner = require_str(partner, f"{where}.partner")
        if partner == model:
            raise EmovecInputError(f"{where}.partner names the model itself ({model!r})")
    return SteeringModelSpec(model=model, variant=variant, family=require_str(raw["family"], f"{where}.family"),
                             partner=partner)


def _classifier_spec(raw: Any, where: str) -> ClassifierSpec:
    raw = require_mapping(raw, where)
    missing = [k for k in ("name", "display_name") if k not in raw]
    if missing:
        raise EmovecInputError(f"{where}: missing key(s) {missing}")
    name = require_str(raw["name"], f"{where}.name")
    try:
        info = classifier_info(name)
    except EmovecInputError as exc:
        raise EmovecInputError(f"{where}.name: {exc}") from None
    return ClassifierSpec(name=name, display_name=require_str(raw["display_name"], f"{where}.display_name"),
                          labels=info.labels, score_min=info.score_min, score_max=info.score_max,
                          score_kind=info.score_kind, no_hit=info.no_hit)


def _classifier_specs(raw: Any, where: str) -> tuple[ClassifierSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise EmovecInputError(f"{where} must be a non-empty list of {{name, display_name}}; got {raw!r}")
    specs = tuple(_classifier_spec(c, f"{where}[{i}]") for i, c in enumerate(raw))
    names = [c.name for c in specs]
    if len(set(names)) != len(names):
        raise EmovecInputError(f"{where} lists a classifier twice: {names}")
    return specs


def _regime_spec(raw: Any, where: str) -> RegimeConfig:
    raw = require_mapping(raw, where)
    missing = [k for k in REGIME_KEYS if k not in raw]
    if missing:
        raise EmovecInputError(f"{where}: missing key(s) {missing}")
    v = {k: require_number(raw[k], f"{where}.{k}", positive=True) for k in REGIME_KEYS}
    if v["high_strength"] <= v["low_strength"]:
        raise EmovecInputError(
            f"{where}: high_strength={v['high_strength']:g} must exceed low_strength={v['low_strength']:g}")
    if v["collapse_max_distinct2"] > 1:
        raise EmovecInputError(
            f"{where}.collapse_max_distinct2={v['collapse_max_distinct2']:g} must be in (0, 1] (a share)")
    # The types (e.g. collapse_min_repeat a whole number of tokens) are the config schema's.
    return as_dataclass(dict(raw), RegimeConfig, where)


def load_steering_spec(raw: Mapping | None, digits: int, where: str) -> SteeringSpec:
    """Validate the ``steering`` mapping of the paper config (``where`` names it in errors).

    ``raw`` None or ``models`` empty/absent: a spec without models (nothing to report); other
    keys are then checked only when present. With models, ``classifiers`` (a non-empty list of
    {name, display_name}, registered names, no repeats), ``regimes`` (the five thresholds,
    high_strength > low_strength) and ``ci_level`` in (0, 1) are required. The old single
    ``classifier`` key is refused (re-compose).

    Raises:
        EmovecInputError: a missing/ill-typed key, a model listed twice, a bad threshold.
    """
    digits = _digits(digits, where)
    if raw is None:
        raw = {}
    raw = require_mapping(raw, where)
    entries = raw.get("models")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise EmovecInputError(f"{where}.models must be a list; got {type(entries).__name__}")
    models = tuple(_model_spec(m, f"{where}.models[{i}]") for i, m in enumerate(entries))
    seen: set[str] = set()
    for m in models:
        if m.model in seen:
            raise EmovecInputError(f"{where}.models lists {m.model!r} twice")
        seen.add(m.model)
    required = bool(models)
    if raw.get("classifier") is not None:
        raise EmovecInputError(f"{where}: key 'classifier' is the old single-classifier form; the paper config "
                               "lists 'classifiers' (re-run the compose stage)")
    for key in ("classifiers", "regimes", "ci_level"):
        if required and raw.get(key) is None:
            raise EmovecInputError(f"{where}: missing key {key!r} (needed when models are listed)")
    classifiers = _classifier_specs(raw["classifiers"], f"{where}.classifiers") \
        if raw.get("classifiers") is not None else ()
    regimes = _regime_spec(raw["regimes"], f"{where}.regimes") if raw.get("regimes") is not None else None
    ci_level = None
    if raw.get("ci_level") is not None:
        ci_level = require_number(raw["ci_level"], f"{where}.ci_level")
        if not 0 < ci_level < 1:
            raise EmovecInputError(f"{where}.ci_level={ci_level:g} must be in (0, 1)")
    return SteeringSpec(digits=digits, models=models, classifiers=classifiers, regimes=regimes, ci_level=ci_level)


# --------------------------------------------------------------------------------------------
# The whole config
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperConfig:
    """The paper config, validated: one spec per experiment, plus the provenance mapping (checked
    when the provenance line is made) and the whole config as plain containers."""

    separation: PaperSpec
    valence: ValenceSpec
    steering: SteeringSpec
    provenance: Mapping[str, Any]
    raw: Mapping[str, Any]


def load_paper_config(path: str | Path) -> PaperConfig:
    """Read and validate every part of the paper config (see the module docstring).

    The steering and provenance parts are read through OmegaConf, as the compose stage wrote
    them; the cells through PyYAML. Errors name ``path`` and the key.
    """
    where = str(path)
    path = Path(path)
    raw = _read_yaml(path)
    separation = _separation_spec(raw, path)
    valence = _valence_spec(raw, path)
    container: dict[str, Any] = OmegaConf.to_container(OmegaConf.load(path))  # type: ignore[assignment]
    steering = load_steering_spec(container.get("steering"), separation.digits, where)
    return PaperConfig(separation=separation, valence=valence, steering=steering,
                       provenance=container.get("provenance") or {}, raw=container)
