"""Hydra sweeps on existing launchers (emovec.sweep): a 2-job local multirun with the joblib
launcher on the toy model config (weights: the tiny local model), and the SLURM launcher config
composing without a cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "EMOVEC_PROGRESS": "0", "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
def test_two_job_local_multirun_with_joblib(tiny_model_dir: Path, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "emovec.sweep", "-m", "model=toy-base", "corpus=toy-comprehension,toy-generation",
           f"model.local_dir={tiny_model_dir}", "model.n_layers=3", "model.d_model=32",
           "++corpus.n_per_emotion=2", "++corpus.n_neutral=2", "++corpus.decoding.max_new_tokens=8",
           "separation.n_permutations=5", "separation.n_boot=10",
           "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep_dir}"]
    res = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in res.stdout  # Hydra's joblib launcher ran the two jobs
    results = {}
    for job in ("0", "1"):
        rec = json.loads((sweep_dir / job / "result.json").read_text())
        results[rec["corpus"]] = rec
        # Each job holds the cell's whole chain, written by the same stage code DVC runs.
        for name in ("model.json", "stimuli.jsonl", "vectors.npz", "separation.csv", "separation.resampling.json",
                     "activations/pooled.safetensors", "config/separation.yaml"):
            assert (sweep_dir / job / name).is_file(), (job, name)
        sep = pd.read_csv(sweep_dir / job / "separation.csv")
        reported = sep[sep["is_reported_layer"]].iloc[0]
        assert int(reported["layer"]) == 1 == rec["layer"]  # middle of 3 blocks
        assert abs(float(reported["mean_cosine"]) - rec["mean_cosine"]) < 1e-6
    assert set(results) == {"toy-comprehension", "toy-generation"}
    assert {r["cell"] for r in results.values()} == {"toy-base__toy-comprehension", "toy-base__toy-generation"}
    assert (sweep_dir / "multirun.yaml").is_file()


def test_slurm_launcher_config_composes_without_a_cluster() -> None:
    res = subprocess.run([sys.executable, "-m", "emovec.sweep", "--cfg", "hydra", "hydra/launcher=slurm",
                          "hydra.launcher.partition=gpu"], cwd=REPO, env=_env(), capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    out = res.stdout
    assert "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher" in out
    assert "partition: gpu" in out and "gpus_per_node: 1" in out and "timeout_min: 240" in out


def test_a_story_corpus_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "emovec.sweep", "model=toy-base", "corpus=toy-stories",
                          f"hydra.run.dir={tmp_path / 'run'}"], cwd=REPO, env=_env(), capture_output=True, text=True,
                         timeout=120)
    assert res.returncode != 0
    assert "is a story corpus" in res.stderr
