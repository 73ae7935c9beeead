"""Everything the paper's tables and figures are made from, loaded and validated before anything
is rendered: the paper config and each experiment's tracked outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emovec.readers.paper_config import load_paper_config
from emovec.readers.paper_separation import PaperSpec
from emovec.readers.paper_steering import SteeringSpec
from emovec.readers.paper_valence import ValenceSpec
from emovec.readers.separation import CellData, load_cells, load_resampling
from emovec.readers.steering import SteeringData, load_steering
from emovec.readers.valence import CKAData, ValenceCellData, load_cka, load_valence_cells

__all__ = ["EXPERIMENTS", "PaperInputs", "add_analyses_argument", "add_input_arguments", "SeparationInputs", "SteeringInputs", "ValenceInputs", "load_paper_inputs"]

# The experiments a table or figure can belong to; PaperInputs has one attribute per experiment.
EXPERIMENTS: tuple[str, ...] = ("separation", "valence", "steering")


@dataclass(frozen=True, eq=False)
class SeparationInputs:
    """The separation cells: config, validated CSV/NPZ data and resampling records, by cell name."""

    spec: PaperSpec
    cells: dict[str, CellData]
    resampling: dict[str, dict[str, Any]]


@dataclass(frozen=True, eq=False)
class ValenceInputs:
    """The valence cells (by cell name) and each of their models' CKA (by model)."""

    spec: ValenceSpec
    cells: dict[str, ValenceCellData]
    cka: dict[str, CKAData]


@dataclass(frozen=True, eq=False)
class SteeringInputs:
    """The steered models' validated outputs, by model name, and the separation the RLHF table
    sets beside them: {(model, method): mean pairwise cosine at the reported layer} (may be empty)."""

    spec: SteeringSpec
    data: dict[str, SteeringData]
    separation: dict[tuple[str, str], float] = field(default_factory=dict)
    # The steering check (the selection's steering_check): the same models steered once more under
    # the check's steering.* overrides, by model name ({} when the run has no check), and its label.
    check: dict[str, SteeringData] = field(default_factory=dict)
    check_label: str = ""


@dataclass(frozen=True, eq=False)
class PaperInputs:
    """All inputs of the paper stage, one attribute per experiment. An experiment is None when
    the run has no outputs for it (the config lists no valence cells, no steered model): its
    tables and figures are not made. The paper stage always has separation cells.
    ``provenance`` is the config's provenance mapping (checked when the line is made).
    ``analyses``: {name: result} of the analyses stage (``emovec.analysis.catalogue``), read from its
    tracked output; tables format them and compute no statistic themselves."""

    separation: SeparationInputs | None = None
    valence: ValenceInputs | None = None
    steering: SteeringInputs | None = None
    provenance: Mapping[str, Any] = field(default_factory=dict)
    analyses: Mapping[str, Any] = field(default_factory=dict)

    def analysis(self, name: str) -> Any:
        """The result of analysis ``name``; an error naming the analyses stage when it was not read."""
        if name not in self.analyses:
            from emovec.errors import EmovecInputError

            raise EmovecInputError(f"analysis {name!r} was not read: the paper stage formats the analyses "
                                   "stage's output (--analyses-dir build/analyses)")
        return self.analyses[name]

    def has(self, experiment: str) -> bool:
        """Whether ``experiment`` (one of ``EXPERIMENTS``) has outputs in this run."""
        if experiment not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {experiment!r}; expected one of {list(EXPERIMENTS)}")
        return getattr(self, experiment) is not None


def load_paper_inputs(config: str | Path, separation_dir: str | Path, vectors_dir: str | Path,
                      valence_dir: str | Path, cka_dir: str | Path, steering_dir: str | Path,
                      classify_dir: str | Path, steering_check_dir: str | Path | None = None) -> PaperInputs:
    """Read and cross-check the paper config and every listed cell's and model's outputs; nothing
    is written. The steering check's outputs are read from ``steering_check_dir`` when the config
    has a ``steering_check`` (an error when it has one and no directory is given). Raises
    ``EmovecInputError`` (naming the file) on the first problem."""
    cfg = load_paper_config(config)
    cells = load_cells(cfg.separation, separation_dir, vectors_dir)
    separation = SeparationInputs(spec=cfg.separation, cells=cells, resampling=load_resampling(cells, separation_dir))
    valence = None
    if cfg.valence.cells:
        valence = ValenceInputs(spec=cfg.valence, cells=load_valence_cells(cfg.valence, valence_dir),
                                cka=load_cka(cfg.valence, cka_dir))
    steering = None
    if cfg.steering.models:
        # The RLHF table compares each model's separation at its reported layer, per method.
        reported = {(c.spec.model, c.spec.method): float(c.reported["mean_cosine"]) for c in cells.values()}
        check_node = cfg.raw.get("steering_check")
        check: dict[str, SteeringData] = {}
        if check_node and steering_check_dir is not None:  # the paper stage formats analyses: it need not read it
            check = load_steering(cfg.steering, steering_check_dir, None)
        steering = SteeringInputs(spec=cfg.steering, data=load_steering(cfg.steering, steering_dir, classify_dir),
                                  separation=reported, check=check,
                                  check_label=str(check_node["label"]) if check_node else "")
    return PaperInputs(separation=separation, valence=valence, steering=steering, provenance=cfg.provenance)


def add_input_arguments(parser: Any) -> None:
    """The command-line flags naming the paper's inputs (the analyses and paper stages read the same):
    --config, --separation-dir, --vectors-dir, --valence-dir, --cka-dir, --steering-dir, --classify-dir,
    --steering-check-dir."""
    parser.add_argument("--config", required=True, help="composed paper config (build/config/paper.yaml)")
    parser.add_argument("--separation-dir", required=True, help="directory of <cell>.csv separation outputs")
    parser.add_argument("--vectors-dir", required=True, help="directory of <cell>.npz emotion vectors")
    parser.add_argument("--valence-dir", default="build/valence", help="directory of <cell>/ valence outputs")
    parser.add_argument("--cka-dir", default="build/cka", help="directory of <model>.npz CKA outputs")
    parser.add_argument("--steering-dir", default="build/steering", help="directory of <model>/ steering outputs")
    parser.add_argument("--classify-dir", default="build/steering_classify",
                        help="directory of <model>.csv classifier outputs")
    parser.add_argument("--steering-check-dir", default="build/steering_check",
                        help="directory of <model>/ outputs of the steering check (the selection's steering_check)")


def add_analyses_argument(parser: Any) -> None:
    """The flag naming the analyses stage's output, which the paper and claims stages read
    (both format its statistics and compute none): --analyses-dir."""
    parser.add_argument("--analyses-dir", required=True, help="the analyses stage's output (build/analyses): the "
                        "statistics the tables and claims report")
