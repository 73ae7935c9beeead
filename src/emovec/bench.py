"""``make bench``: the package's cost against the model's own forward passes, as ratios measured
in one run on one machine (never as timed tests).

Four measurements, on a random-weight GPT-2-small-shaped model (12 layers, d_model 768, 12
heads, vocabulary 50,257) built and saved locally, loaded through the package's one loading
path (safetensors -> HF -> TransformerBridge):

1. extraction throughput (real tokens/s) of ``extract_pooled`` (all layers, pooled on the fly)
   vs a bare HF batched forward with ``output_hidden_states=True`` over the same batches;
2. steered generation (``steered_generate``: per-row vectors added at every layer, KV cache)
   vs unsteered HF ``generate`` on the same left-padded batch, greedy, same new tokens;
3. peak memory of extracting a story corpus at all layers (the 1,539 Gemma stories from data/
   when materialised, else as many toy stories) in a child process, above its memory once the
   model is loaded and has run one short stimulus (Linux: the peak-RSS mark is reset there),
   vs the size of the pooled cache it
   writes, and vs the size all token activations would have (what pooling on the fly avoids
   holding);
4. an incremental ``dvc repro`` after a statistics-only edit (separation.n_permutations; the
   median of three such edits) vs the full ``dvc repro``, in a temporary clone of the committed
   pipeline, or (``--dvc-built DIR --full-s S``) in a checkout already built by a timed full run.

Ratios are "package / baseline" for throughput (goal >= 0.9) and "incremental / full" for
time (goal <= 0.02). Timings take the best of ``--repeats`` runs after one warm-up batch.

CLI: ``python -m emovec.bench [--stories N] [--repeats R] [--only extraction|generation|memory|dvc]
[--skip-dvc] [--device cpu|cuda]``. Measurement 3 lives in :mod:`emovec.bench_memory` (its child
process runs there), the model and corpus helpers both benchmarks share in
:mod:`emovec.bench_common`, the real models' measurements in :mod:`emovec.bench_real`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from emovec.bench_common import GPT2_SMALL, REPO, bench_spec, build_bench_model, corpus_texts, load_real_spec
from emovec.bench_memory import bench_memory
from emovec.errors import EmovecInputError

__all__ = ["GPT2_SMALL", "REPO", "bench_dvc", "bench_extraction", "bench_generation", "bench_memory",
           "build_bench_model", "corpus_texts", "load_real_spec", "main"]


def _best(fn: Callable[[], Any], repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``fn`` (CUDA synchronised around each)."""
    import torch

    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_extraction(loaded: Any, texts: Sequence[str], batch_size: int, repeats: int) -> dict[str, float]:
    """Tokens/s of extract_pooled (mean_from_offset, all layers) vs HF forward + hidden states."""
    import torch

    from emovec.activations.extract import extract_pooled, pad_batch, plan_batches, tokenise_stimuli

    stimuli = tokenise_stimuli(loaded.tokenizer, [{"id": str(i), "text": t} for i, t in enumerate(texts)], 1024)
    tokens = sum(len(s.ids) for s in stimuli)
    plan = plan_batches([len(s.ids) for s in stimuli], batch_size)
    pad = loaded.tokenizer.pad_token_id
    device = next(loaded.hf_model.parameters()).device
    batches = [pad_batch([stimuli[i] for i in idx], pad)[:2] for idx in plan]

    def package() -> None:
        extract_pooled(loaded.bridge, loaded.n_layers, stimuli, ["mean_from_offset"], batch_size=batch_size,
                       mean_offset=0, pad_id=pad, progress=False)

    def bare_hf() -> None:
        with torch.no_grad():
            for ids, mask in batches:
                loaded.hf_model(ids.to(device), attention_mask=mask.to(device), output_hidden_states=True)

    package(), bare_hf()  # warm-up (allocator, kernels)
    t_pkg, t_hf = _best(package, repeats), _best(bare_hf, repeats)
    return {"tokens": tokens, "package_tok_s": tokens / t_pkg, "hf_tok_s": tokens / t_hf,
            "ratio": (tokens / t_pkg) / (tokens / t_hf)}


def bench_generation(loaded: Any, prompts: Sequence[str], max_new_tokens: int, repeats: int) -> dict[str, float]:
    """Generated tokens/s of steered_generate (random per-row vectors at every layer) vs plain
    HF generate on the same left-padded batch (greedy, EOS disabled so both make every token)."""
    import numpy as np
    import torch

    from emovec.generate import left_pad
    from emovec.steering.generation import steered_generate
    from emovec.steering.hooks import Steering

    ids = [loaded.tokenizer(p)["input_ids"] for p in prompts]
    rng = np.random.default_rng(0)
    vecs = torch.tensor(rng.normal(size=(len(ids), loaded.d_model)) * 0.01, dtype=torch.float32)
    steering = Steering(additions={layer: vecs for layer in range(loaded.n_layers)})
    gen_cfg = loaded.hf_model.generation_config
    saved_eos, gen_cfg.eos_token_id = gen_cfg.eos_token_id, None
    eos_tok, loaded.tokenizer.eos_token_id = loaded.tokenizer.eos_token_id, None
    pad = loaded.tokenizer.pad_token_id
    device = next(loaded.hf_model.parameters()).device
    batch, mask = left_pad(ids, pad)
    try:
        def steered() -> None:
            steered_generate(loaded, ids, steering, max_new_tokens=max_new_tokens, do_sample=False, temperature=1.0,
                             top_p=1.0, seed=0, batch_size=len(ids))

        def plain_hf() -> None:
            with torch.no_grad():
                loaded.hf_model.generate(input_ids=batch.to(device), attention_mask=mask.to(device),
                                         max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens,
                                         pad_token_id=pad, do_sample=False)

        steered(), plain_hf()
        t_steer, t_hf = _best(steered, repeats), _best(plain_hf, repeats)
    finally:
        gen_cfg.eos_token_id, loaded.tokenizer.eos_token_id = saved_eos, eos_tok
    n = len(ids) * max_new_tokens
    return {"tokens": n, "steered_tok_s": n / t_steer, "hf_tok_s": n / t_hf, "ratio": t_hf / t_steer}


def bench_dvc(work: Path, edits: int = 3, built: Path | None = None,
              full_s: float | None = None) -> dict[str, Any]:
    """Full ``dvc repro`` of the default selection in a clone of HEAD, then ``edits`` incremental
    ones, each after one statistics-only edit (separation.n_permutations 200 -> 199 -> 198 ...).

    With ``built`` (a checkout whose ``dvc status`` is clean, e.g. a fresh clone after ``make
    replicate``) the full run is not repeated: its wall time ``full_s`` (seconds, measured by the
    caller on that checkout) is the denominator, the edits run there, and the config is restored
    afterwards (the pipeline is then stale until one more ``dvc repro``).

    Returns seconds of the full run, of each incremental run and their median, the ratio
    median / full, and the stages the first incremental run re-ran. The median of several edits,
    because a short run on a shared machine varies by a few tenths of a second."""
    if built is None:
        clone = work / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        if (REPO / "data").is_dir():
            shutil.copytree(REPO / "data", clone / "data")
        else:
            (clone / "data").mkdir()
    else:
        if full_s is None or full_s <= 0:
            raise EmovecInputError(f"--dvc-built {built}: give the measured full run with --full-s SECONDS")
        clone = built.resolve()
    env = {**os.environ, "PYTHONPATH": str(clone / "src"), "EMOVEC_PROGRESS": "0",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    def repro() -> tuple[float, list[str]]:
        t0 = time.perf_counter()
        # --no-run-cache: an edit value seen before (199, 198, ...) must be recomputed, not
        # restored from dvc's run cache, or the ratio would measure a checkout.
        res = subprocess.run(["dvc", "repro", "--no-run-cache"], cwd=clone, env=env,
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"dvc repro failed: {res.stdout[-1500:]}{res.stderr[-1500:]}")
        return time.perf_counter() - t0, [ln.split("'")[1] for ln in res.stdout.splitlines()
                                          if ln.startswith("Running stage")]

    cfg = clone / "conf" / "separation" / "default.yaml"
    text = cfg.read_text()
    setting = re.compile(r"^n_permutations: 200\b", re.MULTILINE)
    if not setting.search(text):
        raise EmovecInputError(f"{cfg}: expected a line 'n_permutations: 200' to edit")
    if built is None:
        full, _ = repro()
    else:
        status = subprocess.run(["dvc", "status", "-q"], cwd=clone, env=env, capture_output=True, text=True)
        if status.returncode != 0:
            raise EmovecInputError(f"--dvc-built {clone}: dvc status is not clean; run dvc repro there first")
        full = float(full_s)
    times, first_ran = [], []
    try:
        for k in range(1, edits + 1):
            cfg.write_text(setting.sub(f"n_permutations: {200 - k}", text, count=1))
            seconds, ran = repro()
            times.append(seconds)
            first_ran = first_ran or ran
    finally:
        cfg.write_text(text)
    median = statistics.median(times)
    return {"full_s": full, "incremental_s": times, "median_s": median, "ratio": median / full, "stages": first_ran}


def main(argv: list[str] | None = None) -> int:
    """``python -m emovec.bench``: print the ratios of the module docstring that ``argv`` selects."""
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stories", type=int, default=1539, help="stories in the memory measurement (default 1539)")
    ap.add_argument("--throughput-stories", type=int, default=64, help="stories in the extraction ratio")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--gen-batch", type=int, default=16)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--device", default="cuda" if _cuda() else "cpu")
    ap.add_argument("--skip-dvc", action="store_true", help="skip the incremental dvc repro measurement")
    ap.add_argument("--dvc-built", type=Path, default=None,
                    help="measure the incremental edits in this already-built checkout instead of a fresh "
                         "clone's full repro (needs --full-s)")
    ap.add_argument("--full-s", type=float, default=None,
                    help="wall seconds of the full run that built --dvc-built (the ratio's denominator)")
    ap.add_argument("--only", choices=["extraction", "generation", "memory", "dvc"], action="append",
                    help="run only these measurements (repeatable); default: all four")
    args = ap.parse_args(argv)
    only = set(args.only or ["extraction", "generation", "memory", "dvc"]) - ({"dvc"} if args.skip_dvc else set())
    import torch

    from emovec.models.loading import load_model

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    print(f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__} threads {torch.get_num_threads()}, "
          f"device {args.device}" + (f" ({torch.cuda.get_device_name(0)})" if args.device == "cuda" else ""))
    with tempfile.TemporaryDirectory(prefix="emovec-bench-") as tmp:
        work = Path(tmp)
        texts, corpus = corpus_texts(max(args.stories, args.throughput_stories), REPO / "data")
        if only & {"extraction", "generation", "memory"}:
            model_dir = build_bench_model(work / "model", texts[:400])
            loaded = load_model(bench_spec(model_dir, args.device))
            print(f"model: random-weight GPT-2-small shape {GPT2_SMALL}; corpus: {corpus}")
        if "extraction" in only:
            ex = bench_extraction(loaded, texts[:args.throughput_stories], args.batch_size, args.repeats)
            print(f"1. extraction: package {ex['package_tok_s']:.0f} tok/s vs bare HF forward+hidden_states "
                  f"{ex['hf_tok_s']:.0f} tok/s over {ex['tokens']} tokens -> ratio {ex['ratio']:.3f} (goal >= 0.9)")
        if "generation" in only:
            prompts = [t.split(".")[0] + "." for t in texts[:args.gen_batch]]
            ge = bench_generation(loaded, prompts, args.new_tokens, args.repeats)
            print(f"2. steered generation: {ge['steered_tok_s']:.1f} tok/s vs unsteered HF generate "
                  f"{ge['hf_tok_s']:.1f} tok/s ({args.gen_batch} prompts x {args.new_tokens} new tokens) -> "
                  f"ratio {ge['ratio']:.3f} (goal >= 0.9)")
        if "memory" in only:
            me = bench_memory(model_dir, args.stories, args.batch_size, args.device, work)
            print(f"3. memory: extracting {me['stories']} stories ({me['tokens']} tokens) at all 12 layers took "
                  f"{me['peak_extra_bytes'] / 2**20:.0f} MiB above the loaded model ({me['method']}); pooled cache "
                  f"{me['cache_bytes'] / 2**20:.1f} MiB -> ratio {me['ratio_cache']:.2f}; all token activations "
                  f"would be {me['all_token_bytes'] / 2**20:.0f} MiB -> ratio {me['ratio_all_tokens']:.3f}")
            if me["hf_longest_batch_extra_bytes"]:
                rows, width = me["longest_batch"]
                print(f"   one bare HF forward of its most demanding batch alone ({rows} x {width} tokens) took "
                      f"{me['hf_longest_batch_extra_bytes'] / 2**20:.0f} MiB -> extraction / that = "
                      f"{me['peak_extra_bytes'] / me['hf_longest_batch_extra_bytes']:.2f}")
        if "dvc" in only:
            dv = bench_dvc(work, built=args.dvc_built, full_s=args.full_s)
            runs = ", ".join(f"{t:.1f}" for t in dv["incremental_s"])
            print(f"4. incremental dvc repro after an edit of separation.n_permutations (200 -> 199, 198, ...): "
                  f"median {dv['median_s']:.1f} s of {len(dv['incremental_s'])} edits ({runs} s) vs full "
                  f"{dv['full_s']:.1f} s -> ratio {dv['ratio']:.3f} (goal <= 0.02); each re-ran: "
                  f"{', '.join(dv['stages'])}")
        else:
            print("4. incremental dvc repro: skipped")
    return 0


def _cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover
        return False


if __name__ == "__main__":
    raise SystemExit(main())
