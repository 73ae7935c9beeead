"""The steering study: steer one model with its emotion vectors (Jeong 2026 §5-6) and measure every generation.

Reads the vectors from a cell's activation cache (any corpus and baseline the package extracts:
Jeong's generation/comprehension vectors, or van der Ben's story contrast vectors), runs the
scenario x strength x condition grid (see :mod:`emovec.steering.experiment`) in one seeded,
batched, KV-cached generation, then reads every generation back twice: inside the steered model
(the target projection the steering produced) and under the unsteered model (perplexity of the
generated tokens, and the projection the text alone carries). Everything that can be wrong with
the inputs (scenario, emotion, strength, vector width) is checked before the model generates.

Writes ``<out>/generations.jsonl`` (ids and text), ``<out>/measures.csv`` (one row per
generation), ``<out>/norms.csv`` (per steered layer: the norm reference against the typical
token's norm, i.e. what a strength adds in this model) and ``<out>/summary.json`` (every axis
value), atomically as one directory.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from emovec.artefacts.declarations import STEERING_MEASURES, STEERING_NORMS, STEERING_SUMMARY, csv_text, json_text
from emovec.config.schema import ModelConfig, SteeringConfig, VectorsConfig, as_dataclass, resolve_layer
from emovec.corpora.emotion_sets import emotion_set
from emovec.corpora.scenarios import Scenario, load_scenarios
from emovec.corpora.upstream_files import verify_upstream_file
from emovec.errors import EmovecInputError
from emovec.io import atomic_path
from emovec.paths import PACKAGE_DIR, REPO_ROOT
from emovec.progress import progress_enabled


def scenario_file(cfg: SteeringConfig) -> Path:
    """Upstream scenario files live under the repo's data/, project ones in the package."""
    return REPO_ROOT / cfg.scenario_path if cfg.scenario_source == "upstream" else PACKAGE_DIR / cfg.scenario_path


def steering_vectors(activations: str | Path, pooling: str, emotions: tuple[str, ...],
                     vc: VectorsConfig) -> tuple[np.ndarray, tuple[str, ...]]:
    """Emotion vectors [n_emotions, n_layers, d] from a cell's cache, under that cell's baseline."""
    from emovec.activations.cache import cell_activations
    from emovec.vectors import compute_emotion_vectors

    acts, labels, _, _ = cell_activations(activations, pooling)
    ev = compute_emotion_vectors(acts, labels, emotions, vc.baseline, vc.normalise, vc.variance_threshold)
    return np.asarray(ev.vectors, dtype=np.float64), tuple(ev.emotions)


def check_before_generation(scenarios: list[Scenario], vector_emotions: tuple[str, ...], vectors: np.ndarray,
                            d_model: int, n_layers: int, model: str, vectors_from: str) -> None:
    """Refuse a vector from a model of another shape, or a scenario emotion without a vector."""
    if vectors.shape[1] != n_layers or vectors.shape[2] != d_model:
        raise EmovecInputError(f"vectors from {vectors_from} have {vectors.shape[1]} layers x width {vectors.shape[2]}, "
                               f"but model {model!r} has {n_layers} layers x d_model {d_model}: they come from "
                               "another model")
    missing = sorted({s.emotion for s in scenarios} - set(vector_emotions))
    if missing:
        raise EmovecInputError(f"scenario emotion(s) {missing} have no vector in {vectors_from} "
                               f"(it has {list(vector_emotions)})")


def encode_prompts(loaded: Any, prompts: list[str], prompt_format: str) -> list[list[int]]:
    """Token ids of each prompt: plain text (Jeong steers the raw prompt, BOS as the tokenizer adds
    it) or the chat rendering with the assistant header."""
    from emovec.generate import encode_prompt, use_chat_format

    has_chat = getattr(loaded.tokenizer, "chat_template", None) is not None
    chat = use_chat_format(prompt_format, has_chat, loaded.spec.name)
    cache: dict[str, list[int]] = {}
    return [cache.setdefault(p, encode_prompt(loaded.tokenizer, p, chat)) for p in prompts]


def dataset_norms(loaded: Any, prompt_ids: list[list[int]]) -> np.ndarray:
    """Anthropic's reference, made concrete here: per layer, the mean residual norm over every
    token of the distinct scenario prompts (token-weighted), unsteered."""
    from emovec.steering.norm_reference import block_outputs_mean_norm

    unique = [list(p) for p in dict.fromkeys(tuple(p) for p in prompt_ids)]
    per_prompt = block_outputs_mean_norm(loaded, unique, list(range(loaded.n_layers))).double().numpy()
    lengths = np.array([len(p) for p in unique], dtype=np.float64)
    return (per_prompt * lengths[:, None]).sum(axis=0) / lengths.sum()


def measures_csv(rows: list[dict[str, Any]]) -> str:
    """``measures.csv`` text: one row per generation (``emovec.artefacts.STEERING_MEASURES``)."""
    return csv_text(rows, STEERING_MEASURES.names, STEERING_MEASURES.float_format, "measures.csv")


def steering_norm_rows(loaded: Any, prompt_ids: list[list[int]], layers: list[int], norm_reference: str,
                       dataset_norms: Any = None) -> list[dict[str, Any]]:
    """The rows of ``norms.csv`` (:data:`emovec.artefacts.STEERING_NORMS`): per steered layer, the
    reference a strength multiplies against the typical (median) token norm, over the distinct
    prompts of the run, from the same unsteered forward passes the references use."""
    from emovec.steering.norm_reference import NORM_REFERENCES, block_output_token_norms

    distinct = [list(p) for p in dict.fromkeys(tuple(p) for p in prompt_ids)]
    stats = block_output_token_norms(loaded, distinct, layers)
    ref = NORM_REFERENCES[norm_reference](loaded, layers, prompt_ids=distinct, dataset_norms=dataset_norms)
    ref = ref.double().expand(len(distinct), len(layers)).numpy()
    typical, first = stats["median"].double().numpy(), stats["first"].double().numpy()
    ratio = ref / typical
    return [{"model": loaded.spec.name, "layer": layer, "norm_reference": norm_reference, "n_prompts": len(distinct),
             "reference_norm": float(ref[:, j].mean()), "typical_norm": float(typical[:, j].mean()),
             "first_token_norm": float(first[:, j].mean()), "ratio_mean": float(ratio[:, j].mean()),
             "ratio_min": float(ratio[:, j].min()), "ratio_max": float(ratio[:, j].max())}
            for j, layer in enumerate(layers)]


def run(raw: Any, config_path: str, activations: str | Path, out: str | Path) -> None:
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
    from emovec.steering.measures import distinct_n, longest_repeated_ngram, script_leakage

    t0 = time.perf_counter()
    spec: ModelConfig = as_dataclass(raw.model, ModelConfig, config_path)
    st: SteeringConfig = as_dataclass(raw.steering, SteeringConfig, config_path)
    src = raw.vectors_from
    vc: VectorsConfig = as_dataclass(src.vectors, VectorsConfig, config_path)
    emotions = emotion_set(src.emotion_set)

    # ---- everything checkable before the model is loaded
    path = scenario_file(st)
    if st.scenario_source == "upstream":
        verify_upstream_file(path, str(raw.scenario_sha256))
    scenarios = load_scenarios(path, st.scenario_format, emotions,
                               list(st.scenarios) if st.scenarios is not None else None)
    vectors, vec_emotions = steering_vectors(activations, src.pooling, emotions, vc)
    check_before_generation(scenarios, vec_emotions, vectors, spec.d_model, spec.n_layers, spec.name, src.cell)
    layers = list(range(spec.n_layers)) if st.layers == "all" else [int(x) for x in st.layers]
    proj_layer = resolve_layer(st.projection_layer, spec.n_layers, config_path)
    rows = plan_rows(scenarios, st.strengths, st.n_random, st.n_samples, st.induction_template,
                     st.induction_template_negative)
    units = {e: unit_per_layer(vectors[vec_emotions.index(e)], f"vector of {e!r} from {src.cell}")
             for e in {s.emotion for s in scenarios}}
    randoms = {s.index: random_unit_directions(spec.n_layers, spec.d_model, st.seed, s.index, st.n_random)
               for s in scenarios}
    dirs = row_directions(rows, units, randoms, spec.n_layers, spec.d_model)
    strengths = [r.strength for r in rows]

    from emovec.models.loading import load_model

    loaded = load_model(spec)
    check_before_generation(scenarios, vec_emotions, vectors, loaded.d_model, loaded.n_layers, spec.name, src.cell)
    prompt_ids = encode_prompts(loaded, [r.prompt for r in rows], st.prompt_format)
    ds_norms = dataset_norms(loaded, prompt_ids) if st.norm_reference == "dataset_mean_norm" else None
    steering = build_row_steering(loaded, dirs, strengths, layers, st.norm_reference, prompt_ids=prompt_ids,
                                  dataset_norms=ds_norms)
    norm_rows = steering_norm_rows(loaded, prompt_ids, layers, st.norm_reference, ds_norms)
    d = st.decoding
    progress = progress_enabled()
    gen_ids = steered_generate(loaded, prompt_ids, steering, max_new_tokens=d.max_new_tokens, do_sample=d.do_sample,
                               temperature=d.temperature, top_p=d.top_p, seed=d.seed, batch_size=d.batch_size,
                               progress=progress)

    # ---- read every generation back: steered (projection the run produced), unsteered (PPL, text)
    from tqdm import tqdm

    with tqdm(total=2 * len(rows), desc="steering read-back", disable=not progress) as bar:
        # Grouped by target emotion: the projection is onto that emotion's unit vector.
        proj = np.full(len(rows), np.nan)
        by_emotion: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            by_emotion.setdefault(r.scenario.emotion, []).append(i)
        proj_text = np.full(len(rows), np.nan)
        nlls: list[np.ndarray] = [np.zeros(0)] * len(rows)
        for emotion, idx in sorted(by_emotion.items()):
            u = units[emotion][proj_layer]
            sub_p, sub_g = [prompt_ids[i] for i in idx], [gen_ids[i] for i in idx]
            sub_steer = type(steering)(additions={l: v[idx] for l, v in steering.additions.items()})
            _, p = score_generations(loaded, sub_p, sub_g, batch_size=d.batch_size, steering=sub_steer,
                                     layer=proj_layer, unit_vector=u, with_nll=False, progress=bar.update)
            n_, pt = score_generations(loaded, sub_p, sub_g, batch_size=d.batch_size, layer=proj_layer,
                                       unit_vector=u, progress=bar.update)
            for j, i in enumerate(idx):
                proj[i], proj_text[i], nlls[i] = p[j], pt[j], n_[j]
    scorer_name = "self"
    if st.scoring_model != "self":
        nlls, scorer_name = score_with_external(raw, config_path, loaded, prompt_ids, gen_ids, d.batch_size)

    # ---- per-generation measures
    base = {(r.scenario.name, r.sample): i for i, r in enumerate(rows) if r.condition == "unsteered"}
    out_rows, gen_rows = [], []
    for i, r in enumerate(rows):
        tok = loaded.tokenizer
        text = tok.decode(gen_ids[i], skip_special_tokens=True)
        prompt_text = r.prompt
        leak = script_leakage(prompt_text, text, token_pieces(tok, gen_ids[i]))
        g = gen_ids[i]
        nll_sum = float(np.sum(nlls[i])) if len(nlls[i]) else 0.0
        b = base[(r.scenario.name, r.sample)]
        out_rows.append({
            "id": r.id, "model": spec.name, "scenario": r.scenario.name, "scenario_index": r.scenario.index,
            "emotion": r.scenario.emotion, "direction": r.scenario.direction, "condition": r.condition,
            "strength": r.strength, "magnitude": r.magnitude, "is_protocol": r.is_protocol,
            "random_index": r.random_index, "sample": r.sample, "n_prompt_tokens": len(prompt_ids[i]),
            "n_gen_tokens": len(nlls[i]), "nll_sum": nll_sum,
            "ppl": math.exp(nll_sum / len(nlls[i])) if len(nlls[i]) else None,
            "distinct_1": distinct_n(g, 1), "distinct_2": distinct_n(g, 2), "longest_repeat": longest_repeated_ngram(g),
            "n_script_chars": leak.n_script_chars, "n_foreign_chars": leak.n_foreign, "leak_share": leak.share,
            "cjk_share": leak.cjk_share, "leaked_tokens": json.dumps(list(leak.leaked_tokens), ensure_ascii=False),
            "projection": proj[i], "projection_text": proj_text[i], "delta": proj[i] - proj[b],
            "delta_text": proj_text[i] - proj_text[b],
        })
        gen_rows.append({"id": r.id, "scenario": r.scenario.name, "emotion": r.scenario.emotion,
                         "condition": r.condition, "strength": r.strength, "random_index": r.random_index,
                         "sample": r.sample, "prompt": r.prompt, "prompt_ids": prompt_ids[i], "gen_ids": g,
                         "text": text})
    summary = {
        "model": spec.name, "source": spec.local_dir or spec.hf_id, "revision": spec.revision, "dtype": spec.dtype,
        "scenario_source": st.scenario_source, "scenario_path": st.scenario_path, "scenario_format": st.scenario_format,
        "scenarios": [{"name": s.name, "emotion": s.emotion, "prompt": s.prompt, "strength": s.strength,
                       "direction": s.direction} for s in scenarios],
        "strengths": list(st.strengths), "layers": layers, "norm_reference": st.norm_reference,
        "projection_layer": proj_layer, "vectors_from": src.cell, "vectors_baseline": vc.baseline,
        "vectors_pooling": src.pooling, "prompt_format": st.prompt_format, "n_random": st.n_random,
        "n_samples": st.n_samples, "seed": st.seed,
        "decoding": {"do_sample": d.do_sample, "temperature": d.temperature, "top_p": d.top_p,
                     "max_new_tokens": d.max_new_tokens, "seed": d.seed, "batch_size": d.batch_size},
        "scoring_model": scorer_name, "n_rows": len(rows), "n_empty": int(sum(1 for g in gen_ids if not g)),
        "dataset_norms": None if ds_norms is None else [float(x) for x in ds_norms],
        "mean_addition_norm": {c: float(np.mean([np.linalg.norm(steering.additions[layers[0]][i].numpy())
                                                 for i, r in enumerate(rows) if r.condition == c]))
                               for c in ("emotion", "random")},
    }
    summary_text = json_text(summary, STEERING_SUMMARY, f"{out}/summary.json")
    seconds = round(time.perf_counter() - t0, 1)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        (tmp / "generations.jsonl").write_text(
            "".join(json.dumps(g, ensure_ascii=False, sort_keys=True) + "\n" for g in gen_rows), encoding="utf-8")
        (tmp / "measures.csv").write_text(measures_csv(out_rows), encoding="utf-8")
        (tmp / "norms.csv").write_text(csv_text(norm_rows, STEERING_NORMS.names, STEERING_NORMS.float_format,
                                                "norms.csv"), encoding="utf-8")
        (tmp / "summary.json").write_text(summary_text, encoding="utf-8")
    print(f"steering {spec.name}: {len(scenarios)} scenarios, {len(rows)} generations, "
          f"{summary['n_empty']} empty ({seconds} s)")


def score_with_external(raw: Any, config_path: str, loaded: Any, prompt_ids: list[list[int]],
                        gen_ids: list[list[int]], batch_size: int) -> tuple[list[np.ndarray], str]:
    """Perplexity under another model (steering.scoring_model): the prompt and generated text are
    re-tokenised by the scorer; tokens past the longest common prefix of prompt-only and
    prompt+generation are scored (the tokenisation boundary may move by a token)."""
    from emovec.models.loading import load_model
    from emovec.steering.experiment import score_generations

    if raw.get("scorer") is None:
        raise EmovecInputError(f"{config_path}: steering.scoring_model is not 'self' but no scorer model spec was composed")
    scorer_spec: ModelConfig = as_dataclass(raw.scorer, ModelConfig, config_path)
    scorer = load_model(scorer_spec)
    tok = loaded.tokenizer
    s_prompts, s_gens = [], []
    for p, g in zip(prompt_ids, gen_ids):
        p_text = tok.decode(p, skip_special_tokens=True)
        full = scorer.tokenizer(p_text + tok.decode(g, skip_special_tokens=True))["input_ids"]
        pre = scorer.tokenizer(p_text)["input_ids"]
        k = 0
        while k < min(len(pre), len(full)) and pre[k] == full[k]:
            k += 1
        k = max(k, 1)
        s_prompts.append(list(full[:k]))
        s_gens.append(list(full[k:]) if g else [])
    nlls, _ = score_generations(scorer, s_prompts, s_gens, batch_size=batch_size)
    return nlls, scorer_spec.name


def run_steering(config: str | Path, activations: str | Path, out: str | Path) -> None:
    """The steer stage: ``config`` is the model's steer slice (build/config/steering/<m>/steer.yaml),
    ``activations`` the cache of the cell whose vectors steer, ``out`` the output directory."""
    run(OmegaConf.load(config), str(config), activations, out)
