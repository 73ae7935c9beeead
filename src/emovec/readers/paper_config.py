"""The composed paper config (``build/config/paper.yaml``, written by the compose stage): its one
typed reader, used by the paper, claims and findings stages alike.

It has four parts: the separation cells (``digits``, ``experiment``, ``cells``;
:mod:`emovec.readers.paper_separation`), the valence cells (``valence_cells``, may be absent;
:mod:`emovec.readers.paper_valence`), the steering models, classifiers and regime rule
(``steering``, may be absent; :mod:`emovec.readers.paper_steering`) and the provenance the
tables print (``provenance``, checked by ``emovec.report.provenance``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from emovec.config.values import read_config_mapping
from emovec.readers.paper_separation import PaperSpec, parse_separation_spec
from emovec.readers.paper_steering import SteeringSpec, load_steering_spec
from emovec.readers.paper_valence import ValenceSpec, parse_valence_spec

__all__ = ["PaperConfig", "load_paper_config", "parse_paper_config"]


@dataclass(frozen=True)
class PaperConfig:
    """The paper config, validated: one spec per experiment, plus the provenance mapping (checked
    when the provenance line is made), the model families compose recorded (``None`` when absent)
    and the whole config as plain containers."""

    separation: PaperSpec
    valence: ValenceSpec
    steering: SteeringSpec
    provenance: Mapping[str, Any]
    raw: Mapping[str, Any]

    @property
    def digits(self) -> int:
        """Decimals every table prints."""
        return self.separation.digits

    @property
    def model_families(self) -> Any:
        return self.raw.get("model_families")


def parse_paper_config(raw: Mapping[str, Any], path: str | Path, container: Mapping[str, Any] | None = None
                       ) -> PaperConfig:
    """Validate every part of a paper config already read: ``raw`` as PyYAML reads it (the cells),
    ``container`` as OmegaConf resolves it (steering, provenance; ``raw`` when not given). Errors
    name ``path`` and the key."""
    container = raw if container is None else container
    separation = parse_separation_spec(raw, Path(path))
    valence = parse_valence_spec(raw, Path(path))
    steering = load_steering_spec(container.get("steering"), separation.digits, str(path))
    return PaperConfig(separation=separation, valence=valence, steering=steering,
                       provenance=container.get("provenance") or {}, raw=container)


def load_paper_config(path: str | Path) -> PaperConfig:
    """Read and validate the paper config at ``path`` (see the module docstring)."""
    path = Path(path)
    raw = read_config_mapping(path)
    container: dict[str, Any] = OmegaConf.to_container(OmegaConf.load(path))  # type: ignore[assignment]
    return parse_paper_config(raw, path, container)
