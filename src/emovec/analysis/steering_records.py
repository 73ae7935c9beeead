"""The steering analyses' results as frozen records (the regime records: :mod:`emovec.analysis.regime_records`) (``build/analyses/<name>.json``, written and
read by :mod:`emovec.analysis.json_records`). Only built-in types: they round-trip through JSON
exactly. Computed by :mod:`emovec.analysis.steering` and :mod:`emovec.analysis.agreement`
(via :mod:`emovec.analysis.catalogue_steering`); the tables and the claims only read them.

Every table record lists ``models``: the steered models it covers, in ``steering_sort_key``
order (family, base before instruct, name). Lookups of a model or key that is absent raise
``LookupError`` (the reader names the file).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "AgreementCount", "AgreementTable", "ClassifierAgreement", "DeltasTable", "LabelMeans", "LeakageRow",
    "LeakageTable", "MethodSeparation", "ModelCount", "ModelDeltas", "ModelLeakage", "ModelPPL", "NoHit",
    "NoHitTable", "PPLTable", "RLHFPair", "RLHFTable", "ScenarioDelta", "ScenarioInfo",
    "ScoreTable", "Sensitivity", "StrengthPPL", "find",
]

R = TypeVar("R")


def find(rows: Iterable[R], what: str, **key: object) -> R:
    """The first of ``rows`` whose attributes equal ``key``; ``LookupError`` naming ``what`` and the key."""
    for row in rows:
        if all(getattr(row, k) == v for k, v in key.items()):
            return row
    raise LookupError(f"{what} has no entry for {', '.join(f'{k}={v!r}' for k, v in key.items())}")


# ---------------------------------------------------------------------------- rlhf_steering


@dataclass(frozen=True)
class Sensitivity:
    """Steering sensitivity of an instruct model relative to its base (Jeong 2026, §5.5).

    Attributes:
        mean, low, high: mean, min and max over the scenarios both models ran of
            |mean delta instruct| / |mean delta base| at each model's protocol strength (NaN
            when no scenario is usable).
        n: scenarios in the mean; n_dropped: scenarios left out for a zero or missing base delta.
    """

    mean: float
    low: float
    high: float
    n: int
    n_dropped: int


@dataclass(frozen=True)
class MethodSeparation:
    """Mean pairwise cosine at the reported layer of one method: base, instruct and instruct -
    base (None where a model has no separation cell of the method)."""

    method: str
    base: float | None
    instruct: float | None
    delta: float | None


@dataclass(frozen=True)
class RLHFPair:
    """One base/instruct pair: the instruct model's family, both names, separation per method
    (``RLHFTable.methods`` order) and the instruct model's steering sensitivity."""

    family: str
    base: str
    instruct: str
    separation: tuple[MethodSeparation, ...]
    sensitivity: Sensitivity


@dataclass(frozen=True)
class RLHFTable:
    """Analysis ``rlhf_steering``: the separation methods present and one row per pair, in
    ``steering_sort_key`` order of the instruct model."""

    models: tuple[str, ...]
    methods: tuple[str, ...]
    pairs: tuple[RLHFPair, ...]

    def pair(self, base: str, instruct: str) -> RLHFPair:
        return find(self.pairs, "rlhf_steering", base=base, instruct=instruct)


# ---------------------------------------------------------------------------- agreement_counts, no_hit_count


@dataclass(frozen=True)
class AgreementCount:
    """Successes of one comparison in one scope, all models pooled: k of n units, k/n, its
    Clopper-Pearson interval and the mean direction-signed shift (NaN when n = 0)."""

    scope: str
    comparison: str
    k: int
    n: int
    proportion: float
    ci_low: float
    ci_high: float
    mean_shift: float


@dataclass(frozen=True)
class ModelCount:
    """k of n units of one model in one (scope, comparison): the pooled counts are their sums."""

    model: str
    scope: str
    comparison: str
    k: int
    n: int


@dataclass(frozen=True)
class ClassifierAgreement:
    """One classifier's counts, pooled (``SCOPES`` x ``COMPARISONS`` order) and per model."""

    classifier: str
    counts: tuple[AgreementCount, ...]
    per_model: tuple[ModelCount, ...]

    def count(self, scope: str, comparison: str) -> AgreementCount:
        return find(self.counts, f"agreement_counts ({self.classifier})", scope=scope, comparison=comparison)


@dataclass(frozen=True)
class AgreementTable:
    """Analysis ``agreement_counts``: one block per classifier (config order)."""

    models: tuple[str, ...]
    ci_level: float
    classifiers: tuple[ClassifierAgreement, ...]

    def of(self, classifier: str) -> ClassifierAgreement:
        return find(self.classifiers, "agreement_counts", classifier=classifier)


@dataclass(frozen=True)
class NoHit:
    """Generations the classifier found no lexicon hit in, of those with a hit count (0, 0 for a
    classifier without a lexicon), all models pooled."""

    classifier: str
    no_hit: int
    with_count: int


@dataclass(frozen=True)
class NoHitTable:
    """Analysis ``no_hit_count``: one row per classifier (config order)."""

    models: tuple[str, ...]
    classifiers: tuple[NoHit, ...]

    def of(self, classifier: str) -> NoHit:
        return find(self.classifiers, "no_hit_count", classifier=classifier)


# ---------------------------------------------------------------------------- script_leakage


@dataclass(frozen=True)
class LeakageRow:
    """Foreign-script characters of one model and condition: n generations, mean leak and CJK
    shares (over the generations with script characters; NaN when none), k generations with a
    foreign character and the most frequent leaked tokens as (token, count)."""

    condition: str
    n: int
    leak_share: float
    cjk_share: float
    k_foreign: int
    top_tokens: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ModelLeakage:
    model: str
    rows: tuple[LeakageRow, ...]


@dataclass(frozen=True)
class LeakageTable:
    """Analysis ``script_leakage``: per model, one row per condition (``LEAKAGE_CONDITIONS``)."""

    models: tuple[str, ...]
    high_strength: float
    top: int
    per_model: tuple[ModelLeakage, ...]

    def of(self, model: str) -> ModelLeakage:
        return find(self.per_model, "script_leakage", model=model)


# ---------------------------------------------------------------------------- protocol_deltas


@dataclass(frozen=True)
class ScenarioInfo:
    """A scenario of the union over models: its smallest scenario_index, emotion, direction."""

    scenario: str
    scenario_index: int
    emotion: str
    direction: int


@dataclass(frozen=True)
class ScenarioDelta:
    """One scenario of one model at its protocol strength: mean delta of the emotion rows (over
    samples) and of the random rows (over directions and samples), rows with a delta (n_emotion,
    n_random) and protocol rows without one (n_missing: no generated token)."""

    scenario: str
    emotion: str
    direction: int
    protocol: float
    emotion_delta: float
    random_delta: float
    n_emotion: int
    n_random: int
    n_missing: int
    # The same read by the unsteered model from the generated text alone (``delta_text``): what
    # the text carries, without the added vector itself (which ``delta``, read inside the steered
    # pass, contains). induction: the prompt-induction generations (no steering) of the scenario.
    emotion_delta_text: float = float("nan")
    random_delta_text: float = float("nan")
    induction_delta: float = float("nan")
    induction_delta_text: float = float("nan")
    n_induction: int = 0


@dataclass(frozen=True)
class ModelDeltas:
    model: str
    rows: tuple[ScenarioDelta, ...]

    def of(self, scenario: str) -> ScenarioDelta:
        return find(self.rows, f"protocol_deltas ({self.model})", scenario=scenario)

    def has(self, scenario: str) -> bool:
        return any(r.scenario == scenario for r in self.rows)


@dataclass(frozen=True)
class DeltasTable:
    """Analysis ``protocol_deltas``: the scenarios of all models (scenario_index, then name
    order) and per model one row per scenario it ran."""

    models: tuple[str, ...]
    scenarios: tuple[ScenarioInfo, ...]
    per_model: tuple[ModelDeltas, ...]

    def of(self, model: str) -> ModelDeltas:
        return find(self.per_model, "protocol_deltas", model=model)


# ---------------------------------------------------------------------------- steering_ppl, classifier_scores


@dataclass(frozen=True)
class StrengthPPL:
    """Token-weighted perplexity of a model's emotion rows at one magnitude: n generations,
    n_tokens generated tokens, ppl = exp(sum NLL / n_tokens) (NaN without tokens)."""

    magnitude: float
    n: int
    n_tokens: int
    ppl: float


@dataclass(frozen=True)
class ModelPPL:
    """A model's perplexity per magnitude (ascending) and the largest per-generation perplexity
    of its emotion rows with tokens (None when there is none)."""

    model: str
    strengths: tuple[StrengthPPL, ...]
    max_ppl: float | None


@dataclass(frozen=True)
class PPLTable:
    """Analysis ``steering_ppl``."""

    models: tuple[str, ...]
    per_model: tuple[ModelPPL, ...]

    def of(self, model: str) -> ModelPPL:
        return find(self.per_model, "steering_ppl", model=model)


@dataclass(frozen=True)
class LabelMeans:
    """Mean score per label (the classifier's labels, registry order) of one model's emotion
    rows at one magnitude in one scenario, over its n generations (NaN-skipping)."""

    classifier: str
    model: str
    magnitude: float
    scenario: str
    n: int
    means: tuple[tuple[str, float], ...]

    def mean(self, label: str) -> float:
        for name, value in self.means:
            if name == label:
                return value
        raise LookupError(f"classifier_scores ({self.classifier}) has no label {label!r}")


@dataclass(frozen=True)
class ScoreTable:
    """Analysis ``classifier_scores``: classifier (config order), model, magnitude (ascending),
    scenario (scenario_index order)."""

    models: tuple[str, ...]
    rows: tuple[LabelMeans, ...]
