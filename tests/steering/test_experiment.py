"""The steering grid and read-back (emovec.steering.experiment, build_row_steering): the grid's
shape, matched-norm random controls, per-row steering, perplexity over generated tokens only
and the target projection, against hand computations on the tiny GPT-2."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from emovec.config.schema import ModelConfig
from emovec.corpora.scenarios import Scenario
from emovec.errors import EmovecInputError
from emovec.generate import encode_prompt, generate_ids
from emovec.models.loading import load_model
from emovec.steering.additions import build_row_steering
from emovec.steering.experiment import (
    plan_rows,
    random_unit_directions,
    row_directions,
    score_generations,
    token_pieces,
    unit_per_layer,
)
from emovec.steering.generation import steered_generate
from emovec.steering.hooks import Steering
from emovec.steering.measures import perplexity

N_LAYERS, D = 3, 32
SCENARIOS = [Scenario(0, "up", "She sat alone.", "happy", 0.03),
             Scenario(1, "down", "He poured the tea.", "calm", -0.02, induction_prompt="He poured the tea. He felt anxious.")]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    spec = ModelConfig(name="tiny", hf_id=None, local_dir=str(tiny_model_dir), family="toy", variant="instruct",
                       n_layers=N_LAYERS, d_model=D, chat_template=True)
    loaded = load_model(spec)
    with torch.no_grad():  # sharper logits, so greedy text depends on the input
        loaded.hf_model.transformer.wpe.weight.mul_(30)
        loaded.hf_model.transformer.wte.weight.mul_(5)
    return loaded


def test_plan_rows_grid_signs_and_protocol_flags():
    rows = plan_rows(SCENARIOS, [0.005, 0.05], n_random=2, n_samples=1,
                     induction_template="Feel {emotion}. {prompt}", induction_template_negative="Not {emotion}. {prompt}")
    # per scenario: unsteered + induction + |{0.005, 0.05, protocol}| x (emotion + 2 random)
    assert len(rows) == 2 * (2 + 3 * 3)
    assert len({r.id for r in rows}) == len(rows)
    up = [r for r in rows if r.scenario.name == "up"]
    assert sorted({r.strength for r in up if r.condition == "emotion"}) == [0.005, 0.03, 0.05]
    down = [r for r in rows if r.scenario.name == "down"]
    assert sorted({r.strength for r in down if r.condition == "random"}) == [-0.05, -0.02, -0.005]
    assert {r.strength for r in rows if r.is_protocol} == {0.03, -0.02}
    assert all(r.strength == 0 for r in rows if r.condition in ("unsteered", "induction"))
    induced = {r.scenario.name: r.prompt for r in rows if r.condition == "induction"}
    assert induced == {"up": "Feel happy. She sat alone.", "down": "He poured the tea. He felt anxious."}


def test_random_directions_unit_deterministic_and_per_scenario():
    a = random_unit_directions(N_LAYERS, D, seed=0, scenario_index=1, n_random=3)
    assert a.shape == (3, N_LAYERS, D)
    np.testing.assert_allclose(np.linalg.norm(a, axis=-1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(a, random_unit_directions(N_LAYERS, D, seed=0, scenario_index=1, n_random=3))
    # adding a direction never changes the earlier ones; another scenario gets other directions
    np.testing.assert_array_equal(a[:2], random_unit_directions(N_LAYERS, D, 0, 1, 2))
    assert not np.allclose(a, random_unit_directions(N_LAYERS, D, 0, 0, 3))


def test_unit_per_layer_and_zero_vector_error():
    v = np.arange(6, dtype=float).reshape(2, 3) + 1
    np.testing.assert_allclose(unit_per_layer(v, "x"), v / np.linalg.norm(v, axis=1, keepdims=True))
    with pytest.raises(EmovecInputError, match=r"layer\(s\) \[1\]"):
        unit_per_layer(np.array([[1.0, 0.0], [0.0, 0.0]]), "vector of 'happy'")


def test_row_steering_matched_norm_and_zero_rows(tiny):
    rows = plan_rows(SCENARIOS[:1], [0.05], n_random=1, n_samples=1, induction_template="{emotion} {prompt}",
                     induction_template_negative="{emotion} {prompt}")
    units = {"happy": unit_per_layer(np.random.default_rng(3).standard_normal((N_LAYERS, D)), "happy")}
    dirs = row_directions(rows, units, {0: random_unit_directions(N_LAYERS, D, 0, 0, 1)}, N_LAYERS, D)
    prompts = [encode_prompt(tiny.tokenizer, r.prompt, chat=False) for r in rows]
    st = build_row_steering(tiny, dirs, [r.strength for r in rows], "all", "dataset_mean_norm",
                            dataset_norms=[2.0, 3.0, 4.0])
    for layer, ref in zip(range(N_LAYERS), (2.0, 3.0, 4.0)):
        add = st.additions[layer]
        for i, r in enumerate(rows):
            expected = 0.0 if r.condition in ("unsteered", "induction") else abs(r.strength) * ref
            assert float(add[i].norm()) == pytest.approx(expected, rel=1e-6)
        emo = [i for i, r in enumerate(rows) if r.condition == "emotion" and r.strength == 0.05][0]
        np.testing.assert_allclose(add[emo].numpy(), units["happy"][layer] * 0.05 * ref, rtol=1e-6)
    assert prompts  # encoded without error


def test_row_steering_rejects_non_unit_rows(tiny):
    dirs = np.zeros((2, N_LAYERS, D))
    dirs[1, :, 0] = 2.0
    with pytest.raises(EmovecInputError, match="row 1 has norm 2"):
        build_row_steering(tiny, dirs, [0.0, 0.01], "all", "dataset_mean_norm", dataset_norms=[1.0] * N_LAYERS)
    with pytest.raises(EmovecInputError, match="strengths has 1"):
        build_row_steering(tiny, np.zeros((2, N_LAYERS, D)), [0.0], "all", "dataset_mean_norm",
                           dataset_norms=[1.0] * N_LAYERS)


def test_zero_rows_in_a_mixed_batch_generate_like_unsteered(tiny):
    prompts = [encode_prompt(tiny.tokenizer, p, chat=False) for p in ("She sat alone.", "He poured the tea slowly.")]
    dirs = np.zeros((4, N_LAYERS, D))
    dirs[1] = dirs[3] = unit_per_layer(np.random.default_rng(5).standard_normal((N_LAYERS, D)), "v")
    ids = [prompts[0], prompts[0], prompts[1], prompts[1]]
    st = build_row_steering(tiny, dirs, [0.0, 2.0, 0.0, 2.0], "all", "prompt_mean_norm", prompt_ids=ids)
    steered = steered_generate(tiny, ids, st, max_new_tokens=6, do_sample=False, temperature=1.0, top_p=1.0,
                               seed=0, batch_size=4)
    plain = generate_ids(tiny.hf_model, tiny.tokenizer, ids, max_new_tokens=6, do_sample=False, temperature=1.0,
                         top_p=1.0, seed=0, batch_size=4, progress=False)
    assert steered[0] == plain[0] and steered[2] == plain[2]
    assert steered[1] != plain[1] or steered[3] != plain[3]  # a large addition changes the text


def _hand_nll(tiny, prompt: list[int], gen: list[int]) -> np.ndarray:
    with torch.no_grad():
        logits = tiny.hf_model(torch.tensor([prompt + gen])).logits[0].double()
    logp = torch.log_softmax(logits, dim=-1)
    return np.array([-float(logp[len(prompt) - 1 + k, t]) for k, t in enumerate(gen)])


def test_perplexity_is_exp_mean_nll_over_generated_tokens_only(tiny):
    tok = tiny.tokenizer
    prompts = [encode_prompt(tok, p, chat=False) for p in ("She sat alone on the bed.", "Hi")]
    gens = [tok("He smiled")["input_ids"][1:], tok("and then the rain came down hard")["input_ids"][1:]]
    nlls, proj = score_generations(tiny, prompts, gens, batch_size=2)  # left padding: lengths differ
    for p, g, got in zip(prompts, gens, nlls):
        np.testing.assert_allclose(got, _hand_nll(tiny, p, g), rtol=1e-5, atol=1e-5)
    assert np.isnan(proj).all()  # no layer asked for
    all_nll = np.concatenate([_hand_nll(tiny, p, g) for p, g in zip(prompts, gens)])
    assert perplexity(nlls) == pytest.approx(math.exp(all_nll.mean()), rel=1e-5)
    # an empty generation scores nothing and does not count
    nlls2, _ = score_generations(tiny, prompts, [gens[0], []], batch_size=2)
    assert len(nlls2[1]) == 0
    assert perplexity(nlls2) == pytest.approx(math.exp(_hand_nll(tiny, prompts[0], gens[0]).mean()), rel=1e-5)


def test_projection_is_mean_over_generated_positions_and_shifts_by_the_addition(tiny):
    tok = tiny.tokenizer
    prompts = [encode_prompt(tok, "She sat alone.", chat=False), encode_prompt(tok, "A long prompt here", chat=False)]
    gens = [tok("He smiled at her")["input_ids"][1:], tok("rain")["input_ids"][1:]]
    u = unit_per_layer(np.random.default_rng(0).standard_normal((1, D)), "u")[0]
    layer = 1
    _, proj = score_generations(tiny, prompts, gens, batch_size=2, layer=layer, unit_vector=u)
    for i, (p, g) in enumerate(zip(prompts, gens)):
        with torch.no_grad():
            hs = tiny.hf_model(torch.tensor([p + g]), output_hidden_states=True).hidden_states[layer + 1][0].double()
        assert proj[i] == pytest.approx(float((hs[len(p):] @ torch.tensor(u)).mean()), rel=1e-5, abs=1e-6)
    # steering only this layer by v: the projection moves by exactly <v, u>
    v = torch.tensor(np.random.default_rng(1).standard_normal(D), dtype=torch.float32)
    _, proj_s = score_generations(tiny, prompts, gens, batch_size=2, layer=layer, unit_vector=u,
                                  steering=Steering(additions={layer: v}))
    np.testing.assert_allclose(proj_s - proj, float(v.double() @ torch.tensor(u)), rtol=1e-5, atol=1e-5)


def test_token_pieces_keep_multibyte_characters_whole(tiny):
    tok = tiny.tokenizer
    ids = tok("sad 快乐 day")["input_ids"][1:]
    assert len(ids) > 4  # byte-level pieces: the CJK characters span several tokens
    pieces = token_pieces(tok, ids)
    assert "".join(pieces) == tok.decode(ids, skip_special_tokens=True)
    assert not any("\ufffd" in p for p in pieces)
    assert any("快" in p for p in pieces)
