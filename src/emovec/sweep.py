"""Hydra sweeps beyond one machine: one (model, corpus) cell per job, on an existing launcher.

``dvc repro`` runs the tracked selection on one machine. For a sweep over many models (the
papers' 15), each Hydra job composes one cell from ``conf/`` exactly as the compose stage does
and runs the cell's chain (model card -> stimuli -> activations -> vectors -> separation) into
its own job directory, using the same stage code, so a job's outputs are the files a DVC run
would write for that cell. Launchers are Hydra's own: ``hydra/launcher=joblib`` (local
processes, hydra-joblib-launcher) or ``hydra/launcher=slurm`` (conf/hydra/launcher/slurm.yaml,
hydra-submitit-launcher). Examples::

    python -m emovec.sweep -m model=gpt2,qwen2.5-1.5b corpus=jeong-generation,jeong-comprehension \\
        hydra/launcher=joblib hydra.launcher.n_jobs=2
    python -m emovec.sweep -m model=llama-3.1-8b,mistral-7b corpus=jeong-generation hydra/launcher=slurm

Each job writes under its Hydra output directory: ``config/`` (the composed slices),
``model.json``, ``stimuli.jsonl``, ``activations/``, ``vectors.npz``, ``separation.csv`` and
``separation.resampling.json``, plus ``result.json`` (the reported layer's mean cosine). The
job returns that mean cosine, so a multirun's return values line up with its overrides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from emovec.compose.cells import validate_cell
from emovec.errors import EmovecInputError
from emovec.io import write_json_atomic, write_text_atomic
from emovec.paths import CONF_DIR

__all__ = ["run_cell"]


def run_cell(cfg: DictConfig, out: Path) -> dict[str, Any]:
    """Compose and run one cell into ``out``; return its result record."""
    from emovec.activations.extract import run_extraction
    from emovec.artefacts.declarations import cell_name
    from emovec.compose.selection import slices
    from emovec.config.schema import to_yaml
    from emovec.geometry.separation_study import run_resampling, run_separation
    from emovec.models.card import write_model_card
    from emovec.stimulus_corpus import run_stimuli
    from emovec.vectors import run_vectors

    cell = validate_cell(cfg, "sweep job")
    if cell.corpus.kind == "stories":
        raise EmovecInputError(f"corpus {cell.corpus.name!r} is a story corpus (valence study); the sweep runs "
                               "the separation chain, whose corpora are passages or generation")
    name = cell_name(cell.model.name, cell.corpus.name)
    cfg_dir = out / "config"
    for stage_name, content in slices(cell).items():
        write_text_atomic(cfg_dir / f"{stage_name}.yaml", to_yaml(content))
    write_text_atomic(cfg_dir / "model.yaml", to_yaml(cell.model))
    write_model_card(cell.model, out / "model.json", out / "weights")
    run_stimuli(cfg_dir / "stimuli.yaml", out / "stimuli.jsonl", out / "stimuli.summary.json")
    run_extraction(cfg_dir / "extract.yaml", out / "stimuli.jsonl", out / "model.json", out / "activations",
                   partial_root=out / "partial")
    run_vectors(cfg_dir / "vectors.yaml", out / "activations", out / "vectors.npz")
    run_separation(cfg_dir / "separation.yaml", out / "activations", out / "separation.csv")
    run_resampling(cfg_dir / "resampling.yaml", out / "activations", out / "separation.resampling.json")
    resampling = json.loads((out / "separation.resampling.json").read_text())
    result = {"cell": name, "model": cell.model.name, "corpus": cell.corpus.name, "layer": resampling["layer"],
              "mean_cosine": resampling["mean_cosine"], "n_per_emotion": resampling["n_per_emotion"]}
    write_json_atomic(out / "result.json", result)
    return result


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float:
    out = Path(HydraConfig.get().runtime.output_dir)
    result = run_cell(cfg, out)
    print(f"sweep {result['cell']}: mean cosine {result['mean_cosine']:.3f} at layer {result['layer']} -> {out}")
    return float(result["mean_cosine"])


if __name__ == "__main__":
    main()
