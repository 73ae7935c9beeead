"""``make bench`` on the real default models (SmolLM2-135M-Instruct, Gemma-3-270M): the package
against bare Hugging Face on the architectures the default run uses, as ratios measured in one
run on one machine (never as timed tests).

Per model, loaded through the package's one loading path from the weights the ``model@<m>``
stage converted (``build/config/models/<m>.yaml`` -> ``build/weights/<m>``; run
``dvc repro model@<m>`` first):

1. extraction of all layers (``extract_pooled``) vs a bare HF forward with
   ``output_hidden_states=True`` over the same batches, under the model's configured attention
   kernel (``sdpa``: the fastest exact kernel HF offers on CPU); tokens/s, goal >= 1.0;
2. steered generation (``steered_generate``: per-row vectors at every layer) vs plain HF
   ``generate`` on the same left-padded batch, greedy, every token made; goal >= 0.95;
3. stimulus generation: generated tokens/s of the package's batched ``generate_ids`` (the
   batch size the ``stimuli`` stage is configured with; length-sorted greedy batches; the
   preallocated KV cache) on the model's own Jeong generation prompts (``build/stimuli``) vs the
   same through HF's DynamicCache, vs one prompt at a time and vs one batch of all of them (the
   package should be no slower than the best), all with identical tokens; and generation as a
   fraction of extracting the same stimuli at the same batch size (goal >= 0.5);
4. bfloat16 vs float32 on this CPU: the speed ratios of 1. and 2., and how far bfloat16 moves the
   pooled activations (max abs and relative difference per layer) and three headline statistics
   on the same stories, each computed from that precision's own activations by the pipeline's
   functions under the choices :mod:`emovec.bench_story_stats` names: the mean pairwise cosine of
   the story emotion vectors (per-emotion means minus the grand mean) at the middle layer
   (separation); |r| of their PC1 with valence (the configured default norms); and a steering
   delta (:func:`steering_delta`: the first emotion's unit vector at every layer, read at the middle
   layer, teacher-forced on the same story tokens in both precisions).

5. the peak memory of extracting ``--stories`` upstream stories at all layers above the loaded
   model vs one bare HF forward of its most demanding batch (goal <= 1.2) and vs the pooled cache
   (:func:`emovec.bench_memory.bench_memory`).

CLI: ``python -m emovec.bench_real [--real MODEL ...]`` (``make bench`` runs it, then
:mod:`emovec.bench` on the GPT-2 shape and the incremental re-run).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emovec.bench_story_stats import (
    STORY_MEAN_OFFSET,
    STORY_POOLING,
    separation_cosine,
    story_vectors,
    valence_pc1_abs_r,
)
from emovec.errors import EmovecInputError

__all__ = ["bench_bf16", "bench_stimulus_generation", "configured_norms", "configured_stimulus_batch", "main",
           "run_real", "run_real_models", "steering_delta", "stimulus_source"]


def steering_delta(loaded: Any, units: np.ndarray, prompt_ids: Sequence[Sequence[int]],
                   gen_ids: Sequence[Sequence[int]], strength: float, layer: int,
                   layers: Sequence[int] | str = "all") -> float:
    """Jeong's steering delta, teacher-forced: the mean over rows of the projection onto
    ``units[layer]`` of block ``layer``'s output over the ``gen_ids`` positions, read inside the
    pass steered by ``strength`` x the prompt's mean token norm x ``units`` at ``layers``, minus the
    same read unsteered (activation units). ``units``: [n_layers, d_model], unit norm per layer.
    Fixed tokens, so two precisions read the same text."""
    from emovec.steering.additions import build_row_steering
    from emovec.steering.experiment import score_generations

    n = len(prompt_ids)
    steering = build_row_steering(loaded, np.repeat(units[None], n, axis=0), [strength] * n, layers,
                                  "prompt_mean_norm", prompt_ids=prompt_ids)
    _, steered = score_generations(loaded, prompt_ids, gen_ids, batch_size=n, steering=steering, layer=layer,
                                   unit_vector=units[layer], with_nll=False)
    _, plain = score_generations(loaded, prompt_ids, gen_ids, batch_size=n, layer=layer,
                                 unit_vector=units[layer], with_nll=False)
    return float(np.mean(steered - plain))


def _timed(fn: Any, repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_stimulus_generation(loaded: Any, prompts: Sequence[Sequence[int]], batch_size: int, max_new_tokens: int,
                              repeats: int) -> dict[str, Any]:
    """Generated tokens/s (greedy, cut at EOS) of ``generate_ids`` at ``batch_size`` vs the same
    through Hugging Face's DynamicCache vs one prompt at a time vs one batch of every prompt (all
    four must produce the same tokens), and the extraction tokens/s of the generated stimuli
    (prompt + generation, as the extract stage reads them) at the same batch size: generation as
    a fraction of extraction is how close decoding runs to what the CPU does for this model."""
    from emovec.activations.extract import TokenisedStimulus, extract_pooled
    from emovec.generate import generate_ids

    def run(bs: int, preallocate: bool = True) -> list[list[int]]:
        return generate_ids(loaded.hf_model, loaded.tokenizer, prompts, max_new_tokens=max_new_tokens,
                            do_sample=False, temperature=1.0, top_p=1.0, seed=0, batch_size=bs, progress=False,
                            preallocate_cache=preallocate)

    run(min(batch_size, len(prompts)))  # warm-up
    results = {}
    outputs = {}
    for label, bs, pre in (("package", batch_size, True), ("dynamic_cache", batch_size, False),
                           ("one_at_a_time", 1, True), ("one_batch", len(prompts), True)):
        seconds, out = _timed(lambda bs=bs, pre=pre: run(bs, pre), repeats)
        outputs[label] = out
        results[label] = sum(len(r) for r in out) / seconds
    same = all(outputs[k] == outputs["package"] for k in outputs)
    stimuli = [TokenisedStimulus(ids=tuple(p) + tuple(g), gen_start=len(p))
               for p, g in zip(prompts, outputs["package"])]
    pad = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else loaded.tokenizer.eos_token_id

    def extract() -> Any:
        return extract_pooled(loaded.bridge, loaded.n_layers, stimuli, ["mid_generation"], batch_size=batch_size,
                              mean_offset=0, pad_id=pad, progress=False)

    extract()  # warm-up
    seconds, _ = _timed(extract, repeats)
    extract_tok_s = sum(len(s.ids) for s in stimuli) / seconds
    return {"prompts": len(prompts), "tokens": sum(len(r) for r in outputs["package"]), "tok_s": results,
            "identical": same, "extract_tok_s": extract_tok_s,
            "gen_over_extract": results["package"] / extract_tok_s,
            "over_dynamic_cache": results["package"] / results["dynamic_cache"],
            "ratio_vs_best": results["package"] / max(results["one_at_a_time"], results["one_batch"])}


def bench_bf16(spec: Any, texts: Sequence[str], labels: Sequence[str], prompts: Sequence[str], batch_size: int,
               new_tokens: int, repeats: int, valence: dict[str, float], arousal: dict[str, float],
               strength: float = 0.05, steer_rows: int = 8) -> dict[str, Any]:
    """bfloat16 vs float32: extraction and steered-generation speed ratios, and the change to the
    pooled activations (``STORY_POOLING`` from ``STORY_MEAN_OFFSET``) and, at the middle layer, to
    the stories' mean pairwise cosine (:func:`separation_cosine`), |r| of PC1 with ``valence``
    (:func:`valence_pc1_abs_r`; emotions need a finite ``valence`` and ``arousal`` rating) and the
    steering delta (:func:`steering_delta` of the first emotion's unit :func:`story_vectors` on the
    first ``steer_rows`` stories: 16 prompt tokens, the next 32 read)."""
    from emovec.activations.extract import extract_pooled, tokenise_stimuli
    from emovec.bench import bench_generation
    from emovec.models.loading import load_model

    out: dict[str, Any] = {}
    pooled: dict[str, np.ndarray] = {}
    for dtype in ("float32", "bfloat16"):
        loaded = load_model(dataclasses.replace(spec, dtype=dtype))
        stimuli = tokenise_stimuli(loaded.tokenizer, [{"id": str(i), "text": t} for i, t in enumerate(texts)], 1024)
        tokens = sum(len(s.ids) for s in stimuli)

        def extract(loaded: Any = loaded, stimuli: Any = stimuli) -> np.ndarray:
            return extract_pooled(loaded.bridge, loaded.n_layers, stimuli, [STORY_POOLING], batch_size=batch_size,
                                  mean_offset=STORY_MEAN_OFFSET, pad_id=loaded.tokenizer.pad_token_id,
                                  progress=False)[STORY_POOLING]

        extract_pooled(loaded.bridge, loaded.n_layers, stimuli[:batch_size], [STORY_POOLING],  # warm-up
                       batch_size=batch_size, mean_offset=STORY_MEAN_OFFSET, pad_id=loaded.tokenizer.pad_token_id,
                       progress=False)
        seconds, pooled[dtype] = _timed(extract, repeats)
        gen = bench_generation(loaded, prompts, new_tokens, repeats)
        middle = loaded.n_layers // 2
        ids = [loaded.tokenizer(t)["input_ids"] for t in texts]
        ids = [x for x in ids if len(x) >= 48][:steer_rows]
        if not ids:
            raise EmovecInputError("the steering delta reads 32 tokens after 16 of prompt: no story has 48 tokens")
        units = story_vectors(pooled[dtype], labels, normalise=True).vectors[0]  # first emotion, [n_layers, d]
        delta = steering_delta(loaded, units, [x[:16] for x in ids], [x[16:48] for x in ids], strength, middle)
        out[dtype] = {"extract_tok_s": tokens / seconds, "steered_gen_tok_s": gen["steered_tok_s"],
                      "steering_delta": delta, "steer_rows": len(ids)}
        del loaded
    a, b = pooled["float32"].astype(np.float64), pooled["bfloat16"].astype(np.float64)
    diff = np.abs(a - b)
    rel = np.linalg.norm(a - b, axis=-1) / np.linalg.norm(a, axis=-1)  # [n, layers]
    middle = a.shape[1] // 2
    cos32, cos16 = separation_cosine(a, labels, middle), separation_cosine(b, labels, middle)
    r32, n_valence = valence_pc1_abs_r(a, labels, middle, valence, arousal)
    r16, _ = valence_pc1_abs_r(b, labels, middle, valence, arousal)
    return {**out, "valence_abs_r_fp32": r32, "valence_abs_r_bf16": r16, "n_valence": n_valence,
            "strength": strength,
            "extract_speedup": out["bfloat16"]["extract_tok_s"] / out["float32"]["extract_tok_s"],
            "gen_speedup": out["bfloat16"]["steered_gen_tok_s"] / out["float32"]["steered_gen_tok_s"],
            "max_abs": float(diff.max()), "max_rel": float(rel.max()), "median_rel": float(np.median(rel)),
            "middle_layer": middle, "cosine_fp32": cos32, "cosine_bf16": cos16}


def _stimulus_prompts(repo: Path, model: str, n: int, tokenizer: Any = None) -> list[list[int]]:
    """The first ``n`` distinct Jeong generation prompts of ``model``'s stimuli, as token ids; with
    ``tokenizer``, their text re-encoded by it as plain prompts (a model whose own generation cell
    is not run reads another model's prompts)."""
    path = repo / "build" / "stimuli" / f"{model}__jeong-generation.jsonl"
    if not path.is_file():
        raise EmovecInputError(f"{path} is missing: run `dvc repro stimuli@{model}-jeong-generation` first")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r.get("prompt_ids")]  # neutral anisotropy rows have none
    if tokenizer is not None:
        texts = list(dict.fromkeys(r["prompt"] for r in rows))[:n]
        return [list(tokenizer(t)["input_ids"]) for t in texts]
    return [list(p) for p in list(dict.fromkeys(tuple(r["prompt_ids"]) for r in rows))[:n]]


def stimulus_source(repo: Path, model: str) -> str | None:
    """Whose Jeong generation stimuli the stimulus bench reads for ``model``: its own when its
    generation cell runs, else the first other model's that does (None when no model's does)."""
    from emovec.stages.common import not_selected_reason

    cells = repo / "build" / "config" / "cells"
    runs = [d.name.removesuffix("__jeong-generation") for d in sorted(cells.glob("*__jeong-generation"))
            if (d / "stimuli.yaml").is_file() and not_selected_reason(d / "stimuli.yaml") is None]
    return model if model in runs else next(iter(runs), None)


def configured_stimulus_batch(repo: Path, model: str) -> int:
    """The generation batch size the ``stimuli`` stage uses for ``model``'s Jeong generation
    corpus (``build/config/cells/<model>__jeong-generation/stimuli.yaml``, written by compose)."""
    import yaml

    path = repo / "build" / "config" / "cells" / f"{model}__jeong-generation" / "stimuli.yaml"
    if not path.is_file():
        raise EmovecInputError(f"{path} is missing: run `dvc repro compose` first (or pass --stimulus-batch)")
    try:
        return int(yaml.safe_load(path.read_text(encoding="utf-8"))["corpus"]["decoding"]["batch_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise EmovecInputError(f"{path}: no integer corpus.decoding.batch_size") from exc


def configured_norms(repo: Path, model: str) -> str:
    """The valence norms the pipeline uses for ``model``'s upstream stories
    (``build/config/cells/<model>__upstream-gemma-stories/valence.yaml``, written by compose)."""
    import yaml

    path = repo / "build" / "config" / "cells" / f"{model}__upstream-gemma-stories" / "valence.yaml"
    if not path.is_file():
        raise EmovecInputError(f"{path} is missing: run `dvc repro compose` first")
    try:
        return str(yaml.safe_load(path.read_text(encoding="utf-8"))["valence"]["norms"])
    except (KeyError, TypeError) as exc:
        raise EmovecInputError(f"{path}: no valence.norms") from exc


def run_real(model: str, repo: Path, args: Any) -> None:
    """Print the real-model ratios 1-4 of this module's docstring that ``args.items`` names, for ``model``."""
    from emovec.bench import bench_extraction, bench_generation
    from emovec.bench_common import corpus_texts, load_real_spec
    from emovec.corpora.norm_resolution import resolve_norms
    from emovec.corpora.stories import read_stories
    from emovec.models.loading import load_model

    spec = load_real_spec(model, repo)
    texts, corpus = corpus_texts(args.throughput_stories, repo / "data")
    prompts = [t.split(".")[0] + "." for t in texts[:args.gen_batch]]
    if {1, 2, 3} & set(args.items):
        loaded = load_model(spec)
        print(f"model: {model} ({spec.n_layers} layers, d_model {spec.d_model}, vocabulary "
              f"{loaded.hf_model.config.vocab_size}, attention {spec.attn_implementation}, {spec.dtype})")
    if 1 in args.items:
        ex = bench_extraction(loaded, texts, args.batch_size, args.repeats)
        print(f"  1. extraction: package {ex['package_tok_s']:.0f} tok/s vs bare HF forward+hidden_states "
              f"{ex['hf_tok_s']:.0f} tok/s over {ex['tokens']} tokens of {corpus} -> ratio {ex['ratio']:.3f} "
              "(goal >= 1.0)")
    if 2 in args.items:
        ge = bench_generation(loaded, prompts, args.new_tokens, args.repeats)
        print(f"  2. steered generation: {ge['steered_tok_s']:.1f} tok/s vs HF generate {ge['hf_tok_s']:.1f} tok/s "
              f"({args.gen_batch} prompts x {args.new_tokens} new tokens) -> ratio {ge['ratio']:.3f} (goal >= 0.95)")
    source = stimulus_source(repo, model) if 3 in args.items else None
    if 3 in args.items and source is None:
        print("  3. stimulus generation: skipped (no model's Jeong generation cell is run in build/config)")
    elif 3 in args.items:
        batch = args.stimulus_batch or configured_stimulus_batch(repo, source)
        # Twice the batch by default: with no more prompts than one batch holds, the package's
        # batching and "one batch of all" are the same computation and their ratio is noise.
        n_prompts = args.stimulus_prompts or 2 * batch
        if source != model:
            print(f"  ({model}'s generation cell is not run: {source}'s Jeong generation prompts, re-encoded plain by "
                  f"{model}'s tokenizer, at {source}'s batch size)")
        prompts = _stimulus_prompts(repo, source, n_prompts, loaded.tokenizer if source != model else None)
        sg = bench_stimulus_generation(loaded, prompts, batch, args.stimulus_tokens, args.repeats)
        tok = sg["tok_s"]
        same = " (the batch holds every prompt: package and one batch are one computation)" \
            if sg["prompts"] <= batch else ""
        print(f"  3. stimulus generation ({sg['prompts']} of its Jeong generation prompts, greedy, up to "
              f"{args.stimulus_tokens} new tokens, {sg['tokens']} made): package batch {batch} "
              f"{tok['package']:.1f} tok/s (HF DynamicCache {tok['dynamic_cache']:.1f} -> "
              f"x{sg['over_dynamic_cache']:.2f}), one at a time {tok['one_at_a_time']:.1f}, one batch of all "
              f"{tok['one_batch']:.1f} -> package / best {sg['ratio_vs_best']:.3f}; identical tokens: {sg['identical']}"
              f"{same}\n     generation / extraction of the same stimuli at batch {batch}: {tok['package']:.1f} / "
              f"{sg['extract_tok_s']:.1f} tok/s = {sg['gen_over_extract']:.3f} (goal >= 0.5)")
    if {1, 2, 3} & set(args.items):
        del loaded
    if 4 not in args.items:
        return
    rows = read_stories(repo / "data" / "emotion_experiment" / "output_gemma_stories" / "stories.jsonl",
                        "emotion_experiment_jsonl")
    by_emotion: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_emotion.setdefault(r["emotion"], []).append(r)
    picked = [r for e in sorted(by_emotion)[:args.bf16_emotions] for r in by_emotion[e][:args.bf16_per_emotion]]
    norms_name = configured_norms(repo, model)
    norms = resolve_norms(sorted({r["emotion"] for r in picked}), norms_name, fallback=None, on_missing="exclude",
                          data_root=repo / "data")
    valence = {e: float(v) for e, v in zip(norms["emotion"], norms["valence"])}
    arousal = {e: float(v) for e, v in zip(norms["emotion"], norms["arousal"])}
    bf = bench_bf16(spec, [r["text"] for r in picked], [r["emotion"] for r in picked], prompts, args.batch_size,
                    args.new_tokens, args.repeats, valence, arousal)
    print(f"  4. bfloat16 vs float32: extraction x{bf['extract_speedup']:.2f} "
          f"({bf['bfloat16']['extract_tok_s']:.0f} vs {bf['float32']['extract_tok_s']:.0f} tok/s), steered generation "
          f"x{bf['gen_speedup']:.2f}; pooled activations of {len(picked)} stories: max abs diff {bf['max_abs']:.3g}, "
          f"relative (per story and layer) median {bf['median_rel']:.3g}, max {bf['max_rel']:.3g}; mean pairwise "
          f"cosine of {args.bf16_emotions} story emotion vectors at layer {bf['middle_layer']}: "
          f"{bf['cosine_fp32']:.4f} (fp32) vs {bf['cosine_bf16']:.4f} (bf16); |r| of their PC1 with valence "
          f"({norms_name}, {bf['n_valence']} emotions): {bf['valence_abs_r_fp32']:.4f} vs {bf['valence_abs_r_bf16']:.4f}; "
          f"steering delta ({picked[0]['emotion']}, strength {bf['strength']}, every layer, read at layer "
          f"{bf['middle_layer']}, {bf['float32']['steer_rows']} stories): {bf['float32']['steering_delta']:.3f} vs "
          f"{bf['bfloat16']['steering_delta']:.3f}")


def run_real_models(args: Any) -> None:
    """The real-model ratios (:mod:`emovec.bench_real`) and the story extraction's peak memory, per
    model whose converted weights exist."""
    from emovec.bench_common import REPO
    from emovec.bench_memory import bench_memory

    for name in args.real or ["smollm2-135m-instruct", "gemma-3-270m"]:
        if not (REPO / "build" / "weights" / name).is_dir():
            print(f"real model {name}: skipped (no build/weights/{name}: run `dvc repro model@{name}`)")
            continue
        run_real(name, REPO, args)
        if 5 not in args.items:
            continue
        if not {1, 2, 3} & set(args.items):
            print(f"model: {name}")
        with tempfile.TemporaryDirectory(prefix="emovec-bench-mem-") as tmp:
            me = bench_memory(None, args.stories, args.batch_size, args.device, Path(tmp), model_name=name)
        line = (f"  5. memory: extracting {me['stories']} stories ({me['tokens']} tokens) at all layers took "
                f"{me['peak_extra_bytes'] / 2**20:.0f} MiB above the loaded model; pooled cache "
                f"{me['cache_bytes'] / 2**20:.1f} MiB -> ratio {me['ratio_cache']:.2f}")
        if me["hf_longest_batch_extra_bytes"]:
            rows, width = me["longest_batch"]
            line += (f"; one bare HF forward of its most demanding batch ({rows} x {width} tokens) "
                     f"{me['hf_longest_batch_extra_bytes'] / 2**20:.0f} MiB -> extraction / that = "
                     f"{me['peak_extra_bytes'] / me['hf_longest_batch_extra_bytes']:.2f} (goal <= 1.2)")
        print(line)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os

    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", action="append", default=None,
                    help="real models to measure (default: smollm2-135m-instruct and gemma-3-270m, each skipped "
                         "with the stage to run when its converted weights are absent)")
    ap.add_argument("--stories", type=int, default=400, help="stories in the memory measurement")
    ap.add_argument("--throughput-stories", type=int, default=64, help="stories in the extraction ratio")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--gen-batch", type=int, default=16)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--stimulus-prompts", type=int, default=None,
                    help="prompts in the stimulus generation ratio (default: twice the package's batch, "
                         "or every distinct prompt if fewer)")
    ap.add_argument("--stimulus-batch", type=int, default=None,
                    help="the package's generation batch size (default: the one the stimuli stage uses)")
    ap.add_argument("--stimulus-tokens", type=int, default=64, help="new tokens per stimulus prompt")
    ap.add_argument("--bf16-emotions", type=int, default=20, help="story emotions in the bfloat16 comparison")
    ap.add_argument("--bf16-per-emotion", type=int, default=4, help="stories per emotion in it")
    ap.add_argument("--items", type=int, nargs="+", choices=[1, 2, 3, 4, 5], default=[1, 2, 3, 4, 5],
                    help="which of the five measurements to run (default: all)")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    print(f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__} threads {torch.get_num_threads()}, "
          f"device {args.device}")
    run_real_models(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
