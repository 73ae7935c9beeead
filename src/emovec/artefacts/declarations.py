"""The tabular artefacts stages hand to each other: every CSV column, its type and its unit.

One declaration per file, imported by the stage that writes it (:func:`write_csv`, the only CSV
writer) and by the code that reads it (:meth:`CsvArtefact.numeric` etc. feed the paper's checked
reader), so a column renamed in one place is renamed everywhere and a test that builds a fixture
builds it through the same writer. Config slices are declared in :mod:`emovec.config.schema`; the JSON
summaries are declared here too (:class:`JsonArtefact`, every top-level key), written by
:func:`write_json` and read back by :func:`emovec.readers.checked.read_json_artefact`, which both
refuse a key the declaration lacks or a declared key that is absent.

Cell format (every artefact): columns in declared order, a header row, ``\\n`` line ends, the
csv module's minimal quoting; ``None`` and NaN as an empty cell (a *nullable* column's "nothing to
measure"), ``inf`` as ``inf``; floats in the artefact's ``float_format`` (``".6g"`` for tables
read by people, ``"repr"`` for the shortest string that reads back bit for bit); bools as
``True``/``False``; ``json`` columns hold a JSON-encoded string.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from emovec.emotions import OPPOSITE_PAIRS
from emovec.errors import EmovecInputError
from emovec.io import write_text_atomic

__all__ = [
    "CLAIMS_TABLE", "CLASSIFY_SCORES", "CSV_ARTEFACTS", "JSON_ARTEFACTS", "Column", "CsvArtefact", "JsonArtefact",
    "JsonKey", "RESAMPLING_RECORD", "SEPARATION_LAYERS", "STEERING_MEASURES", "STEERING_NORMS", "STEERING_SUMMARY",
    "VALENCE_LAYERS", "VALENCE_NORMS", "VALENCE_SUMMARY", "cell_name", "csv_text", "json_text", "write_csv",
    "write_json",
]

Kind = Literal["str", "int", "float", "bool", "json"]


@dataclass(frozen=True)
class Column:
    """One CSV column: ``kind`` is its type; ``nullable`` columns may hold an empty cell; ``unit``
    says what a number is measured in ("" for labels and counts whose name says it)."""

    name: str
    kind: Kind
    unit: str = ""
    nullable: bool = False


@dataclass(frozen=True)
class CsvArtefact:
    """A CSV one stage writes and others read: where it lives, one row per what, its columns."""

    name: str
    path: str  # relative to the repository, <...> marks a placeholder
    row: str  # what one row is (the unit the file is organised by)
    columns: tuple[Column, ...]
    float_format: str = ".6g"  # a format spec, or "repr"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def numeric(self) -> tuple[str, ...]:
        """Columns parsed as numbers (int and float)."""
        return tuple(c.name for c in self.columns if c.kind in ("int", "float"))

    @property
    def integer(self) -> tuple[str, ...]:
        """Numeric columns that hold whole numbers in every row (int and not nullable)."""
        return tuple(c.name for c in self.columns if c.kind == "int" and not c.nullable)

    @property
    def nullable(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns if c.nullable)

    @property
    def text(self) -> tuple[str, ...]:
        """String columns that must hold a non-empty string in every row."""
        return tuple(c.name for c in self.columns if c.kind == "str" and not c.nullable)


@dataclass(frozen=True)
class JsonKey:
    """One top-level key of a JSON artefact and what its value holds (type, unit)."""

    name: str
    about: str


@dataclass(frozen=True)
class JsonArtefact:
    """A JSON object one stage writes and others read: where it lives and its top-level keys.
    ``indent`` and ``ensure_ascii`` fix its bytes (keys are always sorted)."""

    name: str
    path: str  # relative to the repository, <...> marks a placeholder
    keys: tuple[JsonKey, ...]
    indent: int = 2
    ensure_ascii: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    def key_mismatch(self, record: Mapping[str, Any], where: str) -> str | None:
        """None when ``record`` holds exactly the declared keys, else the error naming ``where``."""
        missing, extra = sorted(set(self.names) - record.keys()), sorted(record.keys() - set(self.names))
        if not missing and not extra:
            return None
        return (f"{where}: the keys do not match the {self.name} declaration (emovec.artefacts.declarations): "
                f"missing {missing}, undeclared {extra}")


def cell_name(model: str, corpus: str) -> str:
    """The name of a (model, corpus) cell: the ``<cell>`` placeholder of every per-cell path below."""
    return f"{model}__{corpus}"


def _cols(kind: Kind, names: Iterable[str], unit: str = "", nullable: bool = False) -> tuple[Column, ...]:
    return tuple(Column(n, kind, unit, nullable) for n in names)


# build/separation/<cell>.csv (emovec.geometry.separation_study)
SEPARATION_LAYERS = CsvArtefact(
    name="separation layers", path="build/separation/<cell>.csv", row="one layer of one cell",
    columns=(
        Column("layer", "int", "block index (0 = first block)"),
        *_cols("float", ("mean_cosine", "floor", "null_mean", "null_lo", "null_hi"), "cosine"),
        Column("p_null", "float", "p-value (shuffled labels, one-sided)"),
        *_cols("float", ("anisotropy", "gap_to_anisotropy"), "cosine", nullable=True),
        *_cols("float", (f"cos_{a}-{b}" for a, b in OPPOSITE_PAIRS), "cosine"),
        Column("n_emotions", "int"), Column("n_permutations", "int"),
        Column("baseline", "str"), Column("normalised", "bool"),
        Column("removed_k", "int", "principal components", nullable=True),
        Column("n_stimuli", "int"), Column("min_n_per_emotion", "int"), Column("n_neutral", "int"),
        Column("pooling", "str"), Column("is_reported_layer", "bool"),
    ),
)

# build/steering/<model>/measures.csv (emovec.steering.study): one row per generation. Empty when
# there is nothing to measure: no generated token (ppl, distinct-n, projections), no script
# character (shares), not a random row (random_index).
STEERING_MEASURES = CsvArtefact(
    name="steering measures", path="build/steering/<model>/measures.csv", row="one generation", float_format="repr",
    columns=(
        *_cols("str", ("id", "model", "scenario")), Column("scenario_index", "int"), Column("emotion", "str"),
        Column("direction", "int", "+1 toward / -1 away"), Column("condition", "str"),
        Column("strength", "float", "fraction of the reference token norm"),
        Column("magnitude", "float", "|strength|"), Column("is_protocol", "bool"),
        Column("random_index", "int", nullable=True), Column("sample", "int"),
        Column("n_prompt_tokens", "int", "tokens"), Column("n_gen_tokens", "int", "tokens"),
        Column("nll_sum", "float", "nats (scoring model)", nullable=True),
        Column("ppl", "float", "perplexity (token-weighted)", nullable=True),
        *_cols("float", ("distinct_1", "distinct_2"), "fraction of n-grams", nullable=True),
        Column("longest_repeat", "int", "tokens"),
        Column("n_script_chars", "int", "characters"), Column("n_foreign_chars", "int", "characters"),
        *_cols("float", ("leak_share", "cjk_share"), "fraction of script characters", nullable=True),
        Column("leaked_tokens", "json"),
        *_cols("float", ("projection", "projection_text", "delta", "delta_text"),
               "activation units (dot product with the unit emotion vector)", nullable=True),
    ),
)
# build/steering/<model>/summary.json (emovec.steering.study): the run's settings and counts.
STEERING_SUMMARY = JsonArtefact(
    name="steering summary", path="build/steering/<model>/summary.json", indent=1,
    keys=(
        JsonKey("model", "the model config's name"),
        JsonKey("source", "local weights directory or hub id the model was loaded from"),
        JsonKey("revision", "hub revision pinned by the model config (null when local)"),
        JsonKey("dtype", "the precision the model ran in"),
        JsonKey("scenario_source", "where the scenarios come from (steering.scenario_source)"),
        JsonKey("scenario_path", "the scenario file, relative to data/ (null for built-in scenarios)"),
        JsonKey("scenario_format", "the scenario file's format"),
        JsonKey("scenarios", "[{name, emotion, prompt, strength, direction}] in run order"),
        JsonKey("strengths", "the strength grid: magnitudes, multiples of the norm reference"),
        JsonKey("layers", "steered block indices"),
        JsonKey("norm_reference", "what a strength multiplies (steering.norm_reference)"),
        JsonKey("projection_layer", "block index where projections are read"),
        JsonKey("vectors_from", "the cell whose emotion vectors are added"),
        JsonKey("vectors_baseline", "that cell's vector baseline"),
        JsonKey("vectors_pooling", "that cell's pooling"),
        JsonKey("prompt_format", "plain or chat"),
        JsonKey("n_random", "matched-norm random directions per scenario and strength"),
        JsonKey("n_samples", "generations per condition"),
        JsonKey("seed", "seed of the random directions"),
        JsonKey("decoding", "{do_sample, temperature, top_p, max_new_tokens, seed, batch_size}"),
        JsonKey("scoring_model", "the model that scored perplexity ('self' for the steered model)"),
        JsonKey("n_rows", "generations written (rows of measures.csv)"),
        JsonKey("n_empty", "generations with no token"),
        JsonKey("dataset_norms", "per steered layer, the dataset-wide token norm (activation units); null "
                                 "unless the norm reference needs it"),
        JsonKey("mean_addition_norm", "{emotion, random}: mean norm of the added vector at the first steered "
                                      "layer (activation units)"),
    ),
)

# build/steering/<model>/norms.csv (emovec.steering.study): one row per steered layer. What a
# strength means in this model: the reference norm it multiplies against the typical token's norm
# (the median over a prompt's tokens), over the run's distinct prompts. The vector added at strength
# s has norm s x reference, i.e. s x ratio typical-token norms.
STEERING_NORMS = CsvArtefact(
    name="steering norms", path="build/steering/<model>/norms.csv", row="one steered layer", float_format="repr",
    columns=(
        Column("model", "str"), Column("layer", "int", "block index"), Column("norm_reference", "str"),
        Column("n_prompts", "int", "distinct prompts"),
        Column("reference_norm", "float", "mean over prompts of the reference (activation units)"),
        Column("typical_norm", "float", "mean over prompts of the median token norm (activation units)"),
        Column("first_token_norm", "float", "mean over prompts of the first token's norm (activation units)"),
        *_cols("float", ("ratio_mean", "ratio_min", "ratio_max"),
               "reference / median token norm, per prompt (mean, min, max over prompts)"),
    ),
)

# build/steering_classify/<model>.csv (emovec.steering.classify_study): one row per generation
# and classifier, long form.
CLASSIFY_SCORES = CsvArtefact(
    name="classifier scores", path="build/steering_classify/<model>.csv", row="one generation x one classifier",
    float_format="repr",
    columns=(
        *_cols("str", ("id", "classifier", "display_name", "target_label")),
        Column("p_target", "float", "classifier score of the target label (see the classifier's score_kind)"),
        Column("n_hits", "int", "lexicon hits", nullable=True),
        Column("scores", "json", "{label: score}"),
    ),
)

_TARGET_COLUMNS: tuple[Column, ...] = tuple(
    col for t in ("valence", "arousal") for col in (
        Column(f"{t}_pc", "int", "principal component (1-based)"),
        *_cols("float", (f"{t}_r", f"{t}_r_ci_low", f"{t}_r_ci_high"), "Pearson r", nullable=True),
        *_cols("float", (f"{t}_p_perm", f"{t}_p_fdr", f"{t}_p_maxT"), "p-value", nullable=True),
        *_cols("float", (f"{t}_rho", f"{t}_rho_ci_low", f"{t}_rho_ci_high"), "Spearman rho", nullable=True),
        *_cols("float", (f"{t}_rho_p_perm", f"{t}_rho_p_fdr"), "p-value", nullable=True),
        *_cols("float", (f"{t}_R", f"{t}_R_ci_low", f"{t}_R_ci_high"),
               "multiple correlation R on PC1 and PC2 together", nullable=True),
        Column(f"{t}_angle", "float", "degrees between the best axis in the PC1-PC2 plane and the target's PC",
               nullable=True),
    ))

# build/valence/<cell>/layers.csv (emovec.geometry.valence_study): the affect analysis per layer.
VALENCE_LAYERS = CsvArtefact(
    name="valence layers", path="build/valence/<cell>/layers.csv", row="one layer of one cell",
    columns=(
        Column("layer", "int", "block index"), Column("n_emotions", "int"),
        *_cols("float", ("lambda1", "lambda2"), "eigenvalue (variance)", nullable=True),
        Column("lambda_ratio", "float", "lambda1 / lambda2", nullable=True),
        *_cols("float", ("lambda_ratio_ci_low", "lambda_ratio_ci_high"), "lambda1 / lambda2 of the refits",
               nullable=True),
        *_cols("float", ("evr1", "evr2"), "fraction of variance", nullable=True),
        Column("n_boot_valid", "int", "bootstrap draws"),
        Column("swap_rate", "float", "share of valid refits whose PC1 matched the full-sample PC2", nullable=True),
        *_TARGET_COLUMNS,
    ),
)

# build/valence/<cell>/norms.csv (emovec.corpora.norm_resolution.resolve_norms): the norm row each emotion used.
VALENCE_NORMS = CsvArtefact(
    name="resolved norms", path="build/valence/<cell>/norms.csv", row="one emotion",
    columns=(
        Column("emotion", "str"),
        *_cols("float", ("valence", "arousal"), "norm rescaled to [-1, 1]", nullable=True),
        Column("norm", "str", nullable=True), Column("lemma", "str", nullable=True),
        *_cols("float", ("valence_raw", "arousal_raw"), "the norm's own scale (raw_scale)", nullable=True),
        Column("raw_scale", "str", nullable=True), Column("status", "str"), Column("note", "str", nullable=True),
    ),
)
# build/valence/<cell>/summary.json (emovec.geometry.valence_study): settings, counts and the
# post-hoc peak layer per target.
VALENCE_SUMMARY = JsonArtefact(
    name="valence summary", path="build/valence/<cell>/summary.json",
    keys=(
        *(JsonKey(k, "as in the paper config's valence cell") for k in (
            "cell", "model", "corpus", "generator", "norms", "emotion_set", "n_layers")),
        JsonKey("norms_fallback", "the norm used where the first has no row (null: none)"),
        JsonKey("on_missing", "what happened to an emotion no norm covers"),
        JsonKey("n_emotions", "emotions analysed (after exclusions)"),
        JsonKey("emotions", "those emotions, in the order of scores.npz"),
        JsonKey("pooling", "how a story's token activations were pooled"),
        JsonKey("mean_offset", "tokens skipped before mean pooling"),
        JsonKey("baseline", "the emotion vectors' baseline"),
        JsonKey("weighting", "story or token weighting of each emotion's mean"),
        JsonKey("normalise", "whether vectors were scaled to unit norm"),
        JsonKey("n_stories", "{emotion: stories used}"),
        JsonKey("n_neutral", "neutral stories used by the baseline"),
        JsonKey("n_excluded_short", "stories with no token past the offset (excluded)"),
        JsonKey("excluded_short_by_label", "{label: stories excluded as too short}"),
        JsonKey("removed_k", "per layer, the principal components the baseline removed (null: none)"),
        JsonKey("n_boot", "bootstrap refits over emotions"),
        JsonKey("n_perm", "permutations of the norms"),
        JsonKey("seed", "seed of the bootstrap and permutations"),
        JsonKey("ci_level", "confidence level of every interval"),
        JsonKey("orientation", "how each PC's sign was fixed"),
        JsonKey("anchors", "[positive, negative] emotions of the anchor orientation"),
        JsonKey("pc_matching", "how refitted PCs were matched to the full-sample PCs"),
        JsonKey("max_swap_rate", "swap rate above which a PC is flagged as not identified"),
        JsonKey("peaks", "{valence, arousal}: the post-hoc peak layer and its statistics"),
        JsonKey("compare", "the comparison baseline's {baseline, variance_threshold, removed_k, peaks}, or null"),
    ),
)

# paper/claims/claims.csv (emovec.report.claims_table): the claims ledger, one row per claim.
CLAIMS_TABLE = CsvArtefact(
    name="claims ledger", path="paper/claims/claims.csv", row="one reported claim", float_format="repr",
    columns=(
        *_cols("str", ("id", "paper", "source", "statement")),
        *_cols("str", ("reported", "tolerance", "replicated"), "the claim's own unit", nullable=True),
        *_cols("str", ("status", "basis", "needs_weights")),
        *_cols("str", ("selection", "detail", "note"), nullable=True),
    ),
)

# build/separation/<cell>.resampling.json (emovec.geometry.separation_study.run_resampling): the
# reported layer's resampling replicates (emovec.geometry.resampling.CellResampling, plus pooling).
RESAMPLING_RECORD = JsonArtefact(
    name="resampling record", path="build/separation/<cell>.resampling.json", ensure_ascii=False,
    keys=(
        JsonKey("layer", "the reported block index"),
        JsonKey("mean_cosine", "observed mean pairwise cosine there"),
        JsonKey("emotions", "emotions, in the order of per_emotion"),
        JsonKey("per_emotion", "each emotion's mean cosine to the others"),
        JsonKey("loo", "leave-one-out replicates of the mean cosine"),
        JsonKey("n_loo", "their number"),
        JsonKey("n_per_emotion", "{emotion: stimuli}"),
        JsonKey("bootstrap", "stimulus-level bootstrap replicates of the mean cosine"),
        JsonKey("seed", "the bootstrap's seed"),
        JsonKey("baseline", "the vectors' baseline"),
        JsonKey("bootstrap_by_layer", "[n_boot][n_layers]: the same draws at every layer"),
        JsonKey("pair_bootstrap", "{'a-b': [n_boot]}: each opposite pair's cosine in those draws"),
        JsonKey("anisotropy_bootstrap", "the anisotropy baseline over resampled sentences (cosine)"),
        JsonKey("n_anisotropy", "sentences behind it (0: none)"),
        JsonKey("pooling", "the cell's pooling"),
    ),
)

CSV_ARTEFACTS: tuple[CsvArtefact, ...] = (SEPARATION_LAYERS, STEERING_MEASURES, STEERING_NORMS, CLASSIFY_SCORES,
                                          VALENCE_LAYERS, VALENCE_NORMS, CLAIMS_TABLE)
JSON_ARTEFACTS: tuple[JsonArtefact, ...] = (STEERING_SUMMARY, VALENCE_SUMMARY, RESAMPLING_RECORD)


# ------------------------------------------------------------------------------------ writer

def _cell(value: Any, float_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or type(value).__name__ == "bool_":  # numpy bools print as True/False too
        return "True" if value else "False"
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):  # float, numpy floats
        x = float(value)
        if math.isnan(x):
            return ""
        return repr(x) if float_format == "repr" else format(x, float_format)
    return str(value)


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], float_format: str = ".6g",
             where: str = "csv") -> str:
    """The CSV text of ``rows`` (dicts holding exactly ``columns``) in the format the module
    docstring states. A row with a missing or an undeclared key is an error naming ``where``,
    the 0-based row and the keys."""
    wanted = set(columns)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for i, row in enumerate(rows):
        if row.keys() != wanted:
            missing, extra = sorted(wanted - row.keys()), sorted(row.keys() - wanted)
            raise EmovecInputError(f"{where}: row {i} does not match the declared columns "
                                   f"(missing {missing}, undeclared {extra})")
        writer.writerow([_cell(row[c], float_format) for c in columns])
    return buf.getvalue()


def write_csv(path: str | os.PathLike[str], artefact: CsvArtefact, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write ``rows`` as the artefact ``artefact`` at ``path``, atomically (nothing is written when
    a row does not match the declaration)."""
    text = csv_text(rows, artefact.names, artefact.float_format, where=f"{path} ({artefact.name})")
    write_text_atomic(path, text)


def json_text(record: Mapping[str, Any], artefact: JsonArtefact, where: str = "json") -> str:
    """The JSON text of ``record`` (holding exactly the declared keys) in the artefact's format:
    keys sorted, its indent, a final newline. A missing or undeclared key is an error naming
    ``where`` and the keys."""
    problem = artefact.key_mismatch(record, where)
    if problem:
        raise EmovecInputError(problem)
    return json.dumps(record, indent=artefact.indent, sort_keys=True, ensure_ascii=artefact.ensure_ascii) + "\n"


def write_json(path: str | os.PathLike[str], artefact: JsonArtefact, record: Mapping[str, Any]) -> None:
    """Write ``record`` as the artefact ``artefact`` at ``path``, atomically (nothing is written when
    its keys do not match the declaration)."""
    write_text_atomic(path, json_text(record, artefact, where=f"{path} ({artefact.name})"))
