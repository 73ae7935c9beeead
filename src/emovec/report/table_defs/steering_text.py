"""Caption sentences and labels shared by the steering tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from emovec.readers.steering import SteeringData
from emovec.report.latex import fmt_setting, index_ranges, latex_escape, summarise

__all__ = ["direction_sign", "per_model", "protocol_caption", "scoring_model", "settings_caption", "table_label"]


def per_model(data: Sequence[SteeringData], fn: Callable[[SteeringData], str]) -> str:
    """One value when all models agree, else every value with the models it belongs to."""
    return summarise([(latex_escape(d.spec.model), fn(d)) for d in data])


def direction_sign(direction: int) -> str:
    """A scenario's direction as a LaTeX sign: ``$+$`` toward the emotion, ``$-$`` away."""
    return "$+$" if direction > 0 else "$-$"


def scoring_model(d: SteeringData) -> str:
    """Which model scored the perplexity, in words."""
    s = d.summary["scoring_model"]
    return "the unsteered model itself" if s == "self" else f"model {latex_escape(s)}"


def settings_caption(data: Sequence[SteeringData]) -> str:
    """Steering settings shared by the tables: layers, norm reference, vectors, decoding."""
    return (f" Steered blocks (0-based): {per_model(data, lambda d: index_ranges(d.summary['layers']))}; vector "
            f"scaled by {per_model(data, lambda d: fmt_setting(d.summary['norm_reference']))}; emotion vectors "
            f"from {per_model(data, lambda d: latex_escape(d.summary['vectors_from']))}. Decoding: "
            f"{per_model(data, lambda d: fmt_setting(d.summary['decoding']))}; "
            f"{per_model(data, lambda d: str(d.summary['n_samples']))} sample(s) per condition, "
            f"{per_model(data, lambda d: str(d.summary['n_random']))} random directions.")


def protocol_caption(data: Sequence[SteeringData], scenarios: Sequence[str]) -> str:
    """Every scenario's protocol strength (``scenarios``: names, in column order), per model where
    they differ."""
    parts = []
    for name in scenarios:
        holders = [d for d in data if name in set(d.scenarios["scenario"])]
        value = summarise([(latex_escape(d.spec.model), f"{_protocol_of(d, name):g}") for d in holders])
        parts.append(f"{latex_escape(name)} {value}")
    return "; ".join(parts)


def _protocol_of(d: SteeringData, scenario: str) -> float:
    """A scenario's protocol magnitude in ``d``."""
    return float(d.scenarios.set_index("scenario").at[scenario, "protocol"])


def table_label(name: str) -> str:
    """The ``\\\\label`` of a steering table: ``tab:steering-<name>``."""
    return f"tab:steering-{name}"
