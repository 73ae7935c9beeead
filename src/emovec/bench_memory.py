"""The memory measurement of ``make bench`` (:func:`bench_memory`, item 3 of :mod:`emovec.bench`
and item 5 of :mod:`emovec.bench_real`): the peak memory of extracting a story corpus at all
layers, above the loaded model, measured in a fresh child process (``python -m
emovec.bench_memory``, :func:`child`), vs the pooled cache it writes, vs all token activations
and vs one bare HF forward of the extraction's most demanding batch. Bytes throughout."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emovec.bench_common import REPO, bench_spec, corpus_texts, load_real_spec

__all__ = ["bench_memory", "child"]


def _run_child(args: list[str]) -> dict[str, Any]:
    """Run ``python -m emovec.bench_memory ...`` (:func:`child`) in a fresh process; return its JSON report."""
    res = subprocess.run([sys.executable, "-m", "emovec.bench_memory", *args], capture_output=True, text=True,
                         env={**os.environ, "EMOVEC_PROGRESS": "0"})
    if res.returncode != 0:
        raise RuntimeError(f"bench child {args} failed: {res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def bench_memory(model_dir: Path | None, n_stories: int, batch_size: int, device: str, work: Path,
                 model_name: str | None = None) -> dict[str, Any]:
    """Peak memory of an all-layer extraction above the memory of the loaded model, vs the cache size.

    On Linux the child resets its peak-RSS mark (``/proc/self/clear_refs``) once the model is
    loaded, the corpus tokenised and one short stimulus run (which faults the memory-mapped
    weights in), so the peak is that of extraction alone: loading's own transient peak would
    otherwise hide it. Elsewhere the peak RSS of a load-only child is subtracted instead, which
    mixes both and can under- or over-state it."""
    common = [*(["--model-name", model_name] if model_name else ["--model-dir", str(model_dir)]),
              "--stories", str(n_stories), "--batch-size", str(batch_size), "--device", device]
    info = _run_child(["--out", str(work / "cache"), *common])
    if info["peak_reset"]:
        extra, method = info["peak_rss_bytes"] - info["rss_before_bytes"], "peak RSS reset after loading"
    else:
        load = _run_child(["--load-only", *common])
        extra, method = info["peak_rss_bytes"] - load["peak_rss_bytes"], "peak RSS above a load-only process"
    cache_bytes = (work / "cache" / "pooled.safetensors").stat().st_size
    return {"stories": info["stories"], "tokens": info["tokens"], "peak_extra_bytes": extra,
            "hf_longest_batch_extra_bytes": info.get("hf_longest_batch_extra_bytes"),
            "longest_batch": info.get("longest_batch"),
            "cache_bytes": cache_bytes, "all_token_bytes": info["all_token_bytes"],
            "ratio_cache": extra / cache_bytes, "ratio_all_tokens": extra / info["all_token_bytes"],
            "corpus": info["corpus"], "method": method}


def _status_bytes(field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status, in bytes (the file says kB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak_rss() -> bool:
    """Reset this process's peak-RSS mark (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child(argv: Sequence[str]) -> None:
    """The measured child: load the model (and, unless --load-only, extract and write a cache)."""
    import torch

    from emovec.activations.cache import write_cache
    from emovec.activations.extract import extract_pooled, pad_batch, plan_batches, tokenise_stimuli
    from emovec.models.loading import load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir")
    ap.add_argument("--model-name", help="a real model: build/config/models/<name>.yaml (emovec.bench_real)")
    ap.add_argument("--stories", type=int, required=True)
    ap.add_argument("--batch-size", type=int, required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out")
    ap.add_argument("--load-only", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if a.model_name:
        loaded = load_model(load_real_spec(a.model_name, REPO))
    else:
        loaded = load_model(bench_spec(Path(a.model_dir), a.device))
    texts, corpus = corpus_texts(a.stories, REPO / "data")
    stimuli = tokenise_stimuli(loaded.tokenizer, [{"id": str(i), "text": t} for i, t in enumerate(texts)], 1024)
    tokens = sum(len(s.ids) for s in stimuli)
    info: dict[str, Any] = {"stories": len(stimuli), "tokens": tokens, "corpus": corpus,
                            "all_token_bytes": tokens * loaded.n_layers * loaded.d_model * 4, "peak_reset": False}
    if not a.load_only:
        # One short forward first: safetensors weights are memory-mapped, so the first pass
        # faults the whole model in (~500 MB here), which is the model's memory, not extraction's.
        shortest = min(stimuli, key=lambda s: len(s.ids))
        extract_pooled(loaded.bridge, loaded.n_layers, [shortest], ["mean_from_offset"], batch_size=1,
                       mean_offset=0, pad_id=loaded.tokenizer.pad_token_id, progress=False)
        info["peak_reset"] = _reset_peak_rss()
        if info["peak_reset"]:
            info["rss_before_bytes"] = _status_bytes("VmRSS")
        pooled = extract_pooled(loaded.bridge, loaded.n_layers, stimuli, ["mean_from_offset"],
                                batch_size=a.batch_size, mean_offset=0, pad_id=loaded.tokenizer.pad_token_id,
                                progress=False)
        write_cache(a.out, pooled, {"ids": [str(i) for i in range(len(stimuli))]}, "float32")
    info["peak_rss_bytes"] = (_status_bytes("VmHWM") if info["peak_reset"]
                              else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)  # Linux: KiB
    if info["peak_reset"]:
        # The yardstick: one bare HF forward (as in 1.) of the extraction's most demanding batch
        # alone. Memory grows with rows x width and with width^2 (attention), so both the batch
        # with the most padded tokens and the one with the longest row are run; the larger peak counts.
        plan = plan_batches([len(s.ids) for s in stimuli], a.batch_size)
        width = {k: max(len(stimuli[i].ids) for i in b) for k, b in enumerate(plan)}
        candidates = {max(width, key=lambda k: len(plan[k]) * width[k]), max(width, key=lambda k: width[k])}
        peaks = []
        for k in sorted(candidates):
            ids, mask, _ = pad_batch([stimuli[i] for i in plan[k]], loaded.tokenizer.pad_token_id)
            _reset_peak_rss()
            before = _status_bytes("VmRSS")
            with torch.no_grad():
                loaded.hf_model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
            peaks.append((_status_bytes("VmHWM") - before, [len(plan[k]), width[k]]))
        info["hf_longest_batch_extra_bytes"], info["longest_batch"] = max(peaks)
    print(json.dumps(info))


if __name__ == "__main__":
    child(sys.argv[1:])
