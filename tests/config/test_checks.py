"""Config composition (emovec.compose.cells.compose_cell into emovec.config.schema's schema).

Every file of every Hydra group under conf/ is composed at least once; misspelled keys, unknown
names and out-of-range layers fail naming the culprit. What the compose stage writes from the
run selection is tested in compose/test_selection.py.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from emovec.compose.cells import compose_cell
from emovec.compose.selection import slices
from emovec.config.schema import CellConfig, resolve_layer
from emovec.errors import EmovecInputError
from emovec.paths import CONF_DIR, converted_weights_dir

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
    selections such as the toy smoke run, tested in compose/test_selection.py)."""
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


# ---------------------------------------------------------------- valence and steering choices


def test_generated_corpus_without_generator_is_rejected():
    with pytest.raises(EmovecInputError, match="generator"):
        compose_cell("toy-base", "toy-instruct-stories", "valence", ["corpus.stories.generator=null"])


@pytest.mark.parametrize("override,message", [
    ("valence.norms=anew", "valence.norms='anew'"),
    ("valence.norms_fallback=nrc_vad_v1", "only used with"),
    ("valence.orientation=by_ratings", "valence.orientation"),
    ("valence.weighting=char", "valence.weighting"),
    ("valence.pc_matching=procrustes", "valence.pc_matching"),
    ("valence.max_swap_rate=1.5", "valence.max_swap_rate=1.5 is out of range: must be in [0, 1]"),
])
def test_bad_valence_choices_are_rejected_at_compose(override: str, message: str):
    with pytest.raises(EmovecInputError, match=re.escape(message)):
        compose_cell("toy-base", "toy-stories", "valence", [override])


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


@pytest.mark.parametrize("override,message", [
    ("separation.n_permutations=-5", "separation.n_permutations=-5 is out of range: must be >= 1"),
    ("steering.strengths=[0.005,0.05,-0.02]", "steering.strengths[2]=-0.02 is out of range: must be > 0"),
    ("valence.ci_level=1.0", "valence.ci_level=1.0 is out of range: must be in (0, 1)"),
    ("steering.decoding.top_p=0", "steering.decoding.top_p=0.0 is out of range: must be in (0, 1]"),
    ("extraction.mean_offset=-1", "extraction.mean_offset=-1 is out of range: must be >= 0"),
    ("steering.classifiers.0.batch_size=0", "steering.classifiers[0].batch_size=0 is out of range: must be >= 1"),
    ("vectors.variance_threshold=nan", "vectors.variance_threshold=nan is out of range: must be in (0, 1]"),
    ("steering.regimes.explosive_min_ratio=inf", "steering.regimes.explosive_min_ratio=inf is out of range"),
])
def test_a_value_outside_its_declared_range_stops_compose_in_one_line(override: str, message: str):
    with pytest.raises(EmovecInputError, match=re.escape(message)) as err:
        compose_cell("toy-base", "toy-comprehension", "separation", [override])
    assert "\n" not in str(err.value)
