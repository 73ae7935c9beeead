"""Any Hugging Face sequence classifier with the EKMAN7 labels (j-hartmann's, Jeong's
classifier), from a local ``save_pretrained`` directory or the hub (registered here; the
catalogue: :mod:`emovec.steering.classifiers`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emovec.config.schema import ClassifierConfig
from emovec.errors import EmovecInputError
from emovec.paths import REPO_ROOT
from emovec.steering.classifier_registry import EKMAN7, empty_scores, register_classifier

# ---------------------------------------------------------------------------------- HF sequence classifier


def _hf_display(cfg: ClassifierConfig) -> str:
    # Tables name the classifier as configured (hub id or local_dir as written), not by a
    # machine-specific absolute path.
    return cfg.local_dir or cfg.model_id or cfg.name


def _hf_source(cfg: ClassifierConfig) -> str:
    """A local directory (relative paths from the repo root, like model.local_dir) or the hub id."""
    if cfg.local_dir:
        path = Path(cfg.local_dir)
        return str(path if path.is_absolute() else REPO_ROOT / path)
    if cfg.model_id:
        return cfg.model_id
    raise EmovecInputError("steering.classifiers[] entry hf_sequence_classifier sets neither local_dir nor model_id")


def _how_to_provide(source: str) -> str:
    return (f"could not load the emotion classifier from {source}; set steering.classifiers[].local_dir to "
            "a directory with config.json, *.safetensors and the tokenizer files (save_pretrained), or "
            "list only offline classifiers (vader, nrc_lexicon; toy_lexicon for the toy)")


def _column_order(id2label: Mapping[Any, str], source: str) -> list[int]:
    """Model output index of each EKMAN7 label, in EKMAN7 order."""
    index = {str(label).lower(): int(i) for i, label in id2label.items()}
    if len(index) != len(id2label) or set(index) != set(EKMAN7):
        raise EmovecInputError(f"emotion classifier {source}: labels {sorted(map(str, id2label.values()))} "
                               f"are not exactly {list(EKMAN7)}")
    return [index[label] for label in EKMAN7]


class HFSequenceClassifier:
    """A Hugging Face sequence classifier (CPU, eval mode) with the 7 EKMAN7 labels."""

    name = "hf_sequence_classifier"
    labels = EKMAN7

    def __init__(self, model: Any, tokenizer: Any, source: str, batch_size: int, max_length: int,
                 display_name: str | None = None) -> None:
        for key, value in (("batch_size", batch_size), ("max_length", max_length)):
            if not isinstance(value, int) or value < 1:
                raise EmovecInputError(f"steering.classifiers[].{key}={value!r} must be an integer >= 1")
        if tokenizer.pad_token_id is None:
            raise EmovecInputError(f"emotion classifier {source}: the tokenizer has no pad token, "
                                   "which batched classification needs")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.display_name = display_name or source
        self.batch_size = batch_size
        self.max_length = max_length
        self.columns = _column_order(model.config.id2label, source)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """float64 [len(texts), 7] softmax probabilities, EKMAN7 order; texts are truncated to
        ``max_length`` tokens and classified ``batch_size`` at a time."""
        import torch

        if len(texts) == 0:
            return empty_scores(EKMAN7)
        out: list[np.ndarray] = []
        device = next(self.model.parameters()).device
        with torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                batch = list(texts[start: start + self.batch_size])
                enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                                     return_tensors="pt").to(device)
                # Softmax in float64: tiny differences between steered conditions must not be
                # float32 rounding.
                logits = self.model(**enc).logits.to(torch.float64)
                out.append(torch.softmax(logits, dim=-1)[:, self.columns].cpu().numpy())
        return np.concatenate(out, axis=0)


@register_classifier("hf_sequence_classifier", score_kind="softmax probability of the target label",
                     display=_hf_display)
def build_hf_sequence_classifier(cfg: ClassifierConfig) -> HFSequenceClassifier:
    """Load tokenizer + safetensors weights now (no remote code), failing with how to fix it."""
    source = _hf_source(cfg)
    if cfg.local_dir and not Path(source).is_dir():
        raise EmovecInputError(f"steering.classifiers[].local_dir {source} does not exist; {_how_to_provide(source)}")
    try:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(source, revision=cfg.revision, trust_remote_code=False)
        model = AutoModelForSequenceClassification.from_pretrained(
            source, revision=cfg.revision, use_safetensors=True, trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001 - any loading failure (offline, missing files) gets one clear message
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise EmovecInputError(f"{_how_to_provide(source)} ({type(exc).__name__}: {first_line})") from exc
    return HFSequenceClassifier(model, tokenizer, source, cfg.batch_size, cfg.max_length, _hf_display(cfg))
