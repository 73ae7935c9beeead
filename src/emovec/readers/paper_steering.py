"""The steering part of the composed paper config (``steering`` in ``build/config/paper.yaml``):
the steered models, the emotion classifiers whose scores the tables report (labels and score
range from the classifier registry) and the regime rule with its thresholds.
:func:`steering_entry` is what the compose stage writes; :func:`load_steering_spec` reads it back,
checked, into the same dataclasses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from emovec.config.schema import VARIANTS, RegimeConfig, as_dataclass
from emovec.config.values import SAFE_NAME, require_digits, require_mapping, require_number, require_str
from emovec.errors import EmovecInputError
from emovec.steering.classifiers import classifier_info

__all__ = [
    "REGIME_KEYS",
    "ClassifierSpec",
    "SteeringModelSpec",
    "SteeringSpec",
    "load_steering_spec",
    "steering_entry",
    "steering_sort_key",
]

# The regime thresholds; every one must be given (RegimeConfig's defaults are not applied here:
# the compose stage writes all five, so a missing one means a stale or hand-edited config).
REGIME_KEYS: tuple[str, ...] = tuple(RegimeConfig.__dataclass_fields__)


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


def steering_entry(models: Sequence[SteeringModelSpec], classifiers: Sequence[tuple[str, str]],
                   regimes: RegimeConfig | None, ci_level: float | None) -> dict[str, Any]:
    """The ``steering`` mapping of the paper config as the compose stage writes it (the inverse of
    :func:`load_steering_spec`): ``models`` as :class:`SteeringModelSpec` fields, ``classifiers``
    as (registry name, display name) pairs; without models, just an empty model list."""
    if not models:
        return {"models": []}
    return {"models": [asdict(m) for m in models],
            "classifiers": [{"name": name, "display_name": display} for name, display in classifiers],
            "regimes": None if regimes is None else asdict(regimes), "ci_level": ci_level}


def steering_sort_key(spec: SteeringModelSpec) -> tuple[str, int, str]:
    """Deterministic model order: family, base before instruct, model name."""
    return (spec.family, VARIANTS.index(spec.variant), spec.model)


def _model_spec(raw: Any, where: str) -> SteeringModelSpec:
    """One entry of ``steering.models``, checked."""
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
    """One entry of ``steering.classifiers``, completed from the classifier registry."""
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
    """``steering.classifiers``: a non-empty list, no classifier twice."""
    if not isinstance(raw, list) or not raw:
        raise EmovecInputError(f"{where} must be a non-empty list of {{name, display_name}}; got {raw!r}")
    specs = tuple(_classifier_spec(c, f"{where}[{i}]") for i, c in enumerate(raw))
    names = [c.name for c in specs]
    if len(set(names)) != len(names):
        raise EmovecInputError(f"{where} lists a classifier twice: {names}")
    return specs


def _regime_spec(raw: Any, where: str) -> RegimeConfig:
    """``steering.regimes``: every threshold given and positive, high_strength above low_strength."""
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
    digits = require_digits(digits, where)
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
