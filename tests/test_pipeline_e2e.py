"""End-to-end: the whole DVC pipeline on a shrunken toy selection, in a copy of the working tree.

Checks that ``dvc repro`` builds the paper's tables and figure, that a second look finds
everything up to date, and that config edits re-run exactly the stages whose config slice
changed: an edit to a model outside the selection re-runs only ``compose``; a separation
setting re-runs only ``compose``, ``separation@*``, ``analyses``, ``paper``, ``claims`` and ``findings``; one
cell's override in the
valence study's model x story-corpus grid re-runs that cell alone (plus ``cka`` and ``paper``).

Slow (minutes): deselected by default, run with ``make test-slow`` / ``pytest -m slow``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]

# What a fresh clone holds that the pipeline needs (data/ is DVC-tracked upstream input; the toy
# selection reads none of it, so the copy gets an empty placeholder instead of data.dvc).
COPY_DIRS = ("conf", "src")
COPY_FILES = ("dvc.yaml", "Makefile", "pyproject.toml", ".dvc/config", ".dvc/.gitignore", ".dvcignore", ".gitignore",
              "paper/claims.yaml", "paper/findings.yaml")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache")

MODELS = ["toy-base", "toy-instruct"]
CORPORA = ["toy-comprehension", "toy-generation"]
STORY_CORPORA = ["toy-stories", "toy-instruct-stories"]
BASE_OVERRIDES = [
    "toy.n_per_category=20",
    "model.toy.steps=30",
    "model.toy.batch_size=8",
    # "++": the passage corpora's YAML has no generation keys (the schema fills in defaults), and
    # selection overrides apply to every cell, so plain "key=value" would be refused there.
    "++corpus.n_per_emotion=2",
    "++corpus.n_neutral=2",
    "++corpus.decoding.max_new_tokens=24",
    "++corpus.stories.n_per_emotion=3",
    "++corpus.stories.calls_per_emotion=3",
    "++corpus.stories.n_neutral=6",
    "valence.n_boot=50",
    "valence.n_perm=50",
    "steering.n_random=2",
    "steering.decoding.max_new_tokens=16",
]


def _selection(n_permutations: int, cell_overrides: str = "{}", extra: tuple[str, ...] = ()) -> str:
    overrides = [*BASE_OVERRIDES, f"separation.n_permutations={n_permutations}", *extra]
    quoted = ", ".join(f'"{o}"' for o in overrides)
    return (
        "# shrunken selection for the end-to-end test\n"
        "experiment: separation\n"
        f"models: [{', '.join(MODELS)}]\n"
        f"corpora: [{', '.join(CORPORA)}]\n"
        f"story_corpora: [{', '.join(STORY_CORPORA)}]\n"
        "base_model_generation: true\n"  # every path, as the toy selection (conf/selections/toy.yaml)
        "steering_vectors: {toy-base: toy-generation, toy-instruct: toy-generation}\n"
        "steering_check: {label: median token norm, overrides: [\"steering.norm_reference=prompt_median_norm\", "
        "\"steering.strengths=[0.005,0.05]\"]}\n"
        f"overrides: [{quoted}]\n"
        f"cell_overrides: {cell_overrides}\n"
    )


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env.update({
        "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
        "PYTHONPATH": str(root / "src"),
        "EMOVEC_PROGRESS": "0",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "emovec-test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "emovec-test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
    })
    env.pop("VIRTUAL_ENV", None)
    # The stages' matrices are tiny: one BLAS/OpenMP thread per stage is about as fast on an idle
    # machine and several times faster on a busy one (spinning threads fight over the cores).
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    return env


def _run(args: list[str], root: Path, timeout: int = 1200) -> str:  # a hang guard, not a speed goal
    proc = subprocess.run(args, cwd=root, env=_env(root), capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(args)} exited {proc.returncode}:\n{out[-6000:]}"
    return out


def _dvc(root: Path, *args: str) -> str:
    dvc = Path(sys.executable).parent / "dvc"
    cmd = [str(dvc)] if dvc.is_file() else [sys.executable, "-m", "dvc"]
    t0 = time.monotonic()
    out = _run([*cmd, *args], root)
    print(f"dvc {' '.join(args)}: {time.monotonic() - t0:.1f} s")
    return out


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def project() -> Iterator[Path]:
    """A git repo holding a copy of the working tree. Not under pytest's tmp_path: pytest keeps only
    the last few base temp dirs, so a concurrent pytest run could delete it during this long test."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    base = Path(tempfile.mkdtemp(prefix="emovec-e2e-"))
    root = base / "repo"
    root.mkdir()
    try:
        for d in COPY_DIRS:
            shutil.copytree(REPO / d, root / d, ignore=IGNORE)
        for f in COPY_FILES:
            if (REPO / f).is_file():
                (root / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / f, root / f)
        assert (root / ".dvc" / "config").is_file()
        (root / "data").mkdir()
        (root / "data" / "README").write_text("placeholder: the toy selection reads no upstream data\n")
        (root / "conf" / "selection.yaml").write_text(_selection(20))
        # The findings ledger's RSA settings, shrunken like the selection's (a tracked input edit).
        ledger = root / "paper" / "findings.yaml"
        ledger.write_text(re.sub(r"n_perm: \d+, n_boot: \d+", "n_perm: 199, n_boot: 50", ledger.read_text()))
        assert "n_perm: 199, n_boot: 50" in ledger.read_text()
        _run(["git", "init", "-q"], root)
        _run(["git", "add", "-A"], root)
        _run(["git", "commit", "-q", "-m", "copy of the working tree"], root)
        yield root
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_pipeline_end_to_end(project: Path):
    root = project
    stages = {"compose", "toy_corpus", "toy_train_base", "toy_train_instruct", "cka", "analyses", "paper", "claims",
              "findings"}
    cells = [f"{m}-{c}" for m in MODELS for c in CORPORA]
    story_cells = [f"{m}-{c}" for m in MODELS for c in STORY_CORPORA]

    # 1. the full pipeline
    out = _dvc(root, "repro")
    ran = _ran(out)
    assert stages <= ran, sorted(ran)
    for stage in ("stimuli", "extract", "vectors", "separation"):
        assert sum(r.startswith(f"{stage}@") for r in ran) == len(cells), (stage, sorted(ran))
    assert sum(r.startswith("model@") for r in ran) == len(MODELS)
    assert {r for r in ran if r.startswith("story_corpus@")} == {f"story_corpus@{c}" for c in STORY_CORPORA}
    for stage in ("story_extract", "valence"):
        assert {r for r in ran if r.startswith(f"{stage}@")} == {f"{stage}@{c}" for c in story_cells}, sorted(ran)
    for stage in ("steer", "steer_classify", "steer_check"):
        assert {r for r in ran if r.startswith(f"{stage}@")} == {f"{stage}@{m}" for m in MODELS}, sorted(ran)

    tables = sorted(p.name for p in (root / "paper" / "tables").glob("*.tex"))
    assert tables == ["anisotropy.tex", "gen_vs_comp.tex", "layer_sweep.tex", "norm_coverage.tex", "rlhf_deltas.tex",
                      "rlhf_separation.tex", "script_leakage.tex", "separation_by_model.tex", "steering_agreement.tex",
                      "steering_deltas.tex", "steering_norm_scale.tex", "steering_regimes.tex", "valence_arousal.tex",
                      "valence_by_corpus.tex", "valence_identification.tex", "valence_projection.tex"], tables
    assert all((root / "paper" / "figures" / f"dose_response_{m}.png").stat().st_size > 0 for m in MODELS)
    assert all((root / "paper" / "tables" / t).stat().st_size > 0 for t in tables)
    assert (root / "paper" / "figures" / "u_curve.png").stat().st_size > 0
    # the shrunken settings reached the stages
    toy_cfg = (root / "build" / "config" / "models" / "toy-base.yaml").read_text()
    assert re.search(r"steps: 30\b", toy_cfg) and re.search(r"batch_size: 8\b", toy_cfg), toy_cfg
    assert "n_per_category: 20" in (root / "build" / "config" / "toy.yaml").read_text()
    # resume dirs are removed once each cache is written
    partial = root / "build" / "partial" / "extract"
    assert not partial.exists() or not any(partial.iterdir())

    assert all("Provenance: emovec git " in (root / "paper" / "tables" / t).read_text() for t in tables)
    claims = (root / "paper" / "claims" / "claims.csv").read_text()
    assert "not run: needs weights" in claims and ",replicated," in claims
    findings = sorted(p.name for p in (root / "paper" / "findings").iterdir())
    assert findings == ["findings.json", "findings.tex", "findings_forest.png", "provenance.json", "rsa.json",
                        "rsa.tex", "rsa_heatmap.png"], findings
    # the toy models are one family's base and instruct: the within-family geometry claim applies
    assert "base instruct" in (root / "paper" / "findings" / "rsa.tex").read_text()
    # the toy selection's steering check ran: its regime and norm scale reach the table and the findings
    assert (root / "build" / "steering_check" / MODELS[0] / "norms.csv").is_file()
    assert "median token norm" in (root / "paper" / "tables" / "steering_norm_scale.tex").read_text()
    rows = json.loads((root / "paper" / "findings" / "findings.json").read_text())
    shift = [r for r in (rows["rows"] if isinstance(rows, dict) else rows)
             if r["id"] == "jeong.regimes.depend_on_norm_reference"]
    assert len(shift) == len(MODELS) and all(r["verdict"] != "not applicable" for r in shift), shift

    # 2. nothing left to do, and `make verify` passes: outputs match dvc.lock, the tables
    # regenerate byte-identically, the claims table is summarised
    assert "Data and pipelines are up to date" in _dvc(root, "status")
    verify = subprocess.run([sys.executable, "-m", "emovec.verify"], cwd=root, env=_env(root), capture_output=True,
                            text=True, timeout=1200)
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-2000:]
    assert "verify: passed" in verify.stdout and "claims:" in verify.stdout

    # 2b. one changed number in a tracked output: verify fails and names the file; restoring it passes
    table = root / "paper" / "tables" / "separation_by_model.tex"
    original = table.read_bytes()
    text = original.decode()
    number = re.search(r" & (\d\.\d{3}) & ", text).group(1)
    table.write_text(text.replace(number, f"{float(number) + 0.001:.3f}", 1))
    verify = subprocess.run([sys.executable, "-m", "emovec.verify"], cwd=root, env=_env(root), capture_output=True,
                            text=True, timeout=1200)
    assert verify.returncode == 1
    assert "tampered  paper/tables/separation_by_model.tex" in verify.stdout, verify.stdout[-3000:]
    assert "differs   paper/tables/separation_by_model.tex" in verify.stdout
    table.write_bytes(original)

    # 3. a model outside the selection: compose re-runs, its outputs are unchanged, nothing else runs
    with open(root / "conf" / "model" / "gpt2.yaml", "a", encoding="utf-8") as fh:
        fh.write("# an edit outside the selection\n")
    out = _dvc(root, "repro")
    assert _ran(out) == {"compose"}, out[-3000:]
    assert "Data and pipelines are up to date" in _dvc(root, "status")

    # 4. a separation setting: only compose, separation@*, analyses, paper, claims and findings re-run (no
    # extraction, no training)
    (root / "conf" / "selection.yaml").write_text(_selection(10))
    out = _dvc(root, "repro")
    ran = _ran(out)
    assert "compose" in ran
    assert {r for r in ran if r.startswith("separation@")} == {f"separation@{c}" for c in cells}, sorted(ran)
    assert ran <= {"compose", "analyses", "paper", "claims", "findings", *(f"separation@{c}" for c in cells)}, sorted(ran)
    assert (root / "paper" / "figures" / "u_curve.png").is_file()
    assert "Data and pipelines are up to date" in _dvc(root, "status")

    # 5. one cell of the model x story-corpus grid: it re-runs alone (then the per-model CKA and paper)
    (root / "conf" / "selection.yaml").write_text(
        _selection(10, cell_overrides='{toy-base__toy-stories: ["valence.n_boot=40"]}'))
    out = _dvc(root, "repro")
    assert _ran(out) == {"compose", "valence@toy-base-toy-stories", "cka", "analyses", "paper", "claims", "findings"}, \
        sorted(_ran(out))
    summary = (root / "build" / "valence" / "toy-base__toy-stories" / "summary.json").read_text()
    assert '"n_boot": 40' in summary
    assert "Data and pipelines are up to date" in _dvc(root, "status")
    cell_override = '{toy-base__toy-stories: ["valence.n_boot=40"]}'

    # 6. a steering regime threshold is a table choice: only compose, analyses, paper, claims and findings
    # re-run (they read the paper config, whose provenance hash every edit changes)
    (root / "conf" / "selection.yaml").write_text(
        _selection(10, cell_override, extra=("steering.regimes.explosive_min_ratio=3.0",)))
    out = _dvc(root, "repro")
    assert _ran(out) == {"compose", "analyses", "paper", "claims", "findings"}, sorted(_ran(out))
    assert "explosive if ratio $\\ge$ 3" in (root / "paper" / "tables" / "steering_regimes.tex").read_text()

    # 7. the classifier's smoothing: the classifier re-reads the generations, nothing is regenerated
    (root / "conf" / "selection.yaml").write_text(
        _selection(10, cell_override, extra=("steering.regimes.explosive_min_ratio=3.0", "steering.classifiers.0.alpha=1.0")))
    out = _dvc(root, "repro")
    ran = _ran(out)
    # paper and claims re-run too: every table states the config hash, which the edit changed
    assert {"compose", "paper", *(f"steer_classify@{m}" for m in MODELS)} <= ran, sorted(ran)
    assert ran <= {"compose", "analyses", "paper", "claims", "findings", *(f"steer_classify@{m}" for m in MODELS)}, \
        sorted(ran)
    assert "Data and pipelines are up to date" in _dvc(root, "status")
