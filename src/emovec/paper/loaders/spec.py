"""The composed paper config (``build/config/paper.yaml``, written by the compose stage), read
and validated in one place.

It has four parts: the separation cells (``digits``, ``experiment``, ``cells``;
:mod:`emovec.paper.loaders.separation_spec`), the valence cells (``valence_cells``, may be absent;
:mod:`emovec.paper.loaders.valence_spec`), the steering models, classifiers and regime rule
(``steering``, may be absent; :mod:`emovec.paper.loaders.steering_spec`) and the provenance the
tables print (``provenance``, checked by ``emovec.paper.provenance``). ``load_paper_config``
reads all of them; the per-part readers are public for callers (and tests) that hold only one
part. The parts' public names are re-exported here, so ``from emovec.paper.loaders.spec import
...`` keeps working for every name this module used to define.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from emovec.config import VARIANTS
from emovec.paper.loaders.checks import read_config_mapping
from emovec.paper.loaders.separation_spec import (
    CELL_KEYS,
    METHODS,
    CellSpec,
    PaperSpec,
    load_paper_spec,
    parse_separation_spec,
    sort_key,
)
from emovec.paper.loaders.steering_spec import (
    REGIME_KEYS,
    ClassifierSpec,
    SteeringModelSpec,
    SteeringSpec,
    load_steering_spec,
    steering_sort_key,
)
from emovec.paper.loaders.valence_spec import (
    VALENCE_CELL_KEYS,
    ValenceCellSpec,
    ValenceSpec,
    load_valence_spec,
    parse_valence_spec,
    valence_sort_key,
)

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
    raw = read_config_mapping(path)
    separation = parse_separation_spec(raw, path)
    valence = parse_valence_spec(raw, path)
    container: dict[str, Any] = OmegaConf.to_container(OmegaConf.load(path))  # type: ignore[assignment]
    steering = load_steering_spec(container.get("steering"), separation.digits, where)
    return PaperConfig(separation=separation, valence=valence, steering=steering,
                       provenance=container.get("provenance") or {}, raw=container)
