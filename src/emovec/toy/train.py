"""Train the embedded default models: a byte-level BPE tokenizer and small GPT-2-shaped LMs.

``toy-base`` learns the synthetic stories as plain text; ``toy-instruct`` continues from it on
instruction -> story pairs rendered through a chat template, mirroring the papers' base vs
instruct contrast. Both are saved with ``save_pretrained`` (config + safetensors + tokenizer)
and are then loaded through the same path as any hub model. :func:`run_toy_training` trains one
toy model from its config and the toy corpus (the toy_train stage).

Importing this module imports neither torch nor transformers (each function imports what it
needs), so a stage that decides not to train stays fast.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emovec.config.schema import ModelConfig, ToyConfig, load_yaml_dataclass
from emovec.errors import EmovecInputError
from emovec.io import atomic_path, read_jsonl
from emovec.progress import progress_enabled

BOS = "<|endoftext|>"
PAD = "<|pad|>"
USER, ASSISTANT, END = "<|user|>", "<|assistant|>", "<|end|>"
# Rendered chat: BOS <|user|> instruction <|end|> <|assistant|> story <|end|>
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> Any:
    """Byte-level BPE (any text encodes; nothing is unknown) that prepends BOS like Llama/Gemma."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  special_tokens=[BOS, PAD, USER, ASSISTANT, END],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, tok.token_to_id(BOS))])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=END, pad_token=PAD,
                                   additional_special_tokens=[USER, ASSISTANT])


def chat_prompt(instruction: str) -> str:
    """The chat rendering of one user turn plus the assistant header (what generation continues)."""
    return f"{BOS}{USER}{instruction}{END}{ASSISTANT}"


def build_model(tokenizer: Any, n_layer: int, n_embd: int, n_head: int, n_positions: int, seed: int) -> Any:
    """A freshly initialised GPT-2-architecture causal LM sized for CPU training in seconds."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                     n_head=n_head, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                     pad_token_id=tokenizer.pad_token_id, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    return GPT2LMHeadModel(cfg)


def _encode_examples(tokenizer: Any, examples: Sequence[tuple[str, str]], max_len: int) -> list[tuple[list[int], int]]:
    """(prefix, target) pairs -> (ids, n_prefix_tokens): loss is taken on the target part only."""
    out = []
    for prefix, target in examples:
        p = tokenizer(prefix, add_special_tokens=False)["input_ids"]
        t = tokenizer(target, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids = (p + t)[:max_len]
        out.append((ids, len(p)))
    return out


def train_lm(model: Any, tokenizer: Any, examples: Sequence[tuple[str, str]], *, steps: int, batch_size: int,
             lr: float, seed: int, progress: bool = True, desc: str = "train") -> list[float]:
    """Train on (prefix, target) pairs with AdamW and a cosine schedule; returns the loss curve.

    Deterministic on CPU for a fixed seed: batches come from ``random.Random(seed)``.
    """
    import torch
    from tqdm import tqdm

    torch.manual_seed(seed)
    rng = random.Random(seed)
    encoded = _encode_examples(tokenizer, examples, model.config.n_positions)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 20) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    model.train()
    losses: list[float] = []
    bar = tqdm(range(steps), desc=desc, disable=not progress, mininterval=2.0)
    for _ in bar:
        batch = [encoded[rng.randrange(len(encoded))] for _ in range(batch_size)]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((batch_size, width), tokenizer.pad_token_id, dtype=torch.long)
        labels = torch.full((batch_size, width), -100, dtype=torch.long)
        mask = torch.zeros((batch_size, width), dtype=torch.long)
        for row, (ids, n_prefix) in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = 1
            labels[row, n_prefix: len(ids)] = torch.tensor(ids[n_prefix:])
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    model.eval()
    return losses


def save_model_dir(model: Any, tokenizer: Any, out_dir: str | Path, chat_template: str | None) -> None:
    """save_pretrained (safetensors) + tokenizer into ``out_dir`` atomically."""
    tokenizer.chat_template = chat_template
    with atomic_path(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)


def run_toy_training(model_config: str | Path, toy_config: str | Path, corpus_dir: str | Path,
                     models_dir: str | Path) -> str:
    """The toy_train stage: train the toy model of ``model_config`` (build/config/models/<name>.yaml)
    on the toy corpus in ``corpus_dir`` (stories.jsonl, instruct.jsonl) with the architecture and
    thread count of ``toy_config``, and save it to ``models_dir/<name>``. A model with
    ``toy.init_from`` continues from that toy's saved weights and tokenizer (trained first, under
    ``models_dir``); otherwise a tokenizer is trained and the model built from scratch. Returns a
    one-line summary (first and final loss)."""
    import torch

    spec: ModelConfig = load_yaml_dataclass(model_config, ModelConfig)
    toy: ToyConfig = load_yaml_dataclass(toy_config, ToyConfig)
    if toy.train_threads < 1:
        raise EmovecInputError(f"{toy_config}: train_threads={toy.train_threads} must be >= 1")
    torch.set_num_threads(toy.train_threads)  # the weights depend on it: see ToyConfig.train_threads
    if spec.toy is None:
        raise EmovecInputError(f"{model_config}: model {spec.name!r} has no toy: block; only toy models are trained")
    corpus = Path(corpus_dir)
    stories = read_jsonl(corpus / "stories.jsonl")
    if spec.toy.init_from is None:
        from transformers import AutoTokenizer  # noqa: F401  (import early: fail before training)

        pairs = read_jsonl(corpus / "instruct.jsonl")
        # The tokenizer sees instructions too, so both variants share one vocabulary.
        tokenizer = train_tokenizer([s["text"] for s in stories] + [p["instruction"] for p in pairs],
                                    toy.vocab_size)
        model = build_model(tokenizer, toy.n_layer, toy.n_embd, toy.n_head, toy.n_positions, spec.toy.seed)
    else:
        from transformers import AutoTokenizer, GPT2LMHeadModel

        parent = Path(models_dir) / spec.toy.init_from
        if not (parent / "config.json").is_file():
            raise EmovecInputError(f"toy model {spec.name!r} continues from {parent}, which has not been trained")
        tokenizer = AutoTokenizer.from_pretrained(parent)
        model = GPT2LMHeadModel.from_pretrained(parent, use_safetensors=True)
    if spec.toy.data == "stories":
        examples = [(BOS, s["text"]) for s in stories]
        template = None
    elif spec.toy.data == "instruct":
        examples = [(chat_prompt(p["instruction"]), p["story"]) for p in read_jsonl(corpus / "instruct.jsonl")]
        template = CHAT_TEMPLATE
    else:
        raise EmovecInputError(f"{model_config}: toy.data={spec.toy.data!r} is not 'stories' or 'instruct'")
    n_layers = model.config.n_layer
    if n_layers != spec.n_layers or model.config.n_embd != spec.d_model:
        raise EmovecInputError(f"model {spec.name!r}: conf says n_layers={spec.n_layers}, d_model={spec.d_model} "
                               f"but conf/toy builds n_layer={n_layers}, n_embd={model.config.n_embd}")
    losses = train_lm(model, tokenizer, examples, steps=spec.toy.steps, batch_size=spec.toy.batch_size,
                      lr=spec.toy.lr, seed=spec.toy.seed, progress=progress_enabled(), desc=f"train {spec.name}")
    out = Path(models_dir) / spec.name
    save_model_dir(model, tokenizer, out, template)
    return (f"{spec.name}: loss {losses[0]:.3f} -> {sum(losses[-20:]) / min(20, len(losses)):.3f} "
            f"({spec.toy.steps} steps) -> {out}")
