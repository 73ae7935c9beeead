"""The claims ledger: every number the papers report, what this package computes for it, and
whether it replicates.

``paper/claims.yaml`` lists each reported number with its source (paper, table, row, column),
value, tolerance, the run selection that reproduces it, whether it needs model weights that
are not available offline, and a ``measure``: a registered function that recomputes it from
one of three bases:

- **model outputs**: the tracked separation / steering / valence outputs of the named model
  (present only when the selection ran that model, which needs its weights);
- **upstream data**: the papers' own stimulus files, materialised under data/ through the
  manifest (design counts: 20 emotions, 1,539 stories, ...);
- **reported numbers**: arithmetic on other claims' reported values (a (G-C) column, a PPL
  ratio, 37/40 as a percentage, the smallest p a test could return): a reviewer's consistency
  check, labelled as such, never presented as a replication on a model.

Status per claim: ``replicated`` (within tolerance), ``differs``, ``not run: needs weights``
(the model's outputs are absent and its weights are not available offline), ``not run: <why>``
(an input is missing for another reason) or ``not measured`` (no measure computes it, e.g.
a qualitative observation or a closed model's behaviour).

Adding a measure is one function plus ``@register_measure("name")``.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from emovec.errors import EmovecInputError

__all__ = ["Claim", "ClaimContext", "ClaimResult", "MEASURES", "Measured", "NotRun", "claims_csv", "claims_table",
           "evaluate_claims", "load_claims", "register_measure"]

STATUSES = ("replicated", "differs", "not run: needs weights", "not run", "not measured")
PAPERS = {"jeong2026": "Jeong 2026", "vanderben2026": "van der Ben et al. 2026",
          "anthropic2026": "Anthropic 2026 (Claude, as quoted)"}
_REQUIRED = ("id", "paper", "source", "statement", "value", "needs_weights", "measure")
_ALLOWED = frozenset(_REQUIRED) | {"tolerance", "selection", "note"}


class NotRun(Exception):
    """A measure's inputs are absent; the message says which (it becomes the status note)."""


@dataclass(frozen=True)
class Measured:
    """A measure's value with a note for the ``detail`` column (e.g. which classifier it read)."""

    value: Any
    detail: str


@dataclass(frozen=True)
class Claim:
    """One reported number (see the module docstring for the fields' meaning)."""

    id: str
    paper: str
    source: dict[str, Any]
    statement: str
    value: Any  # number, string or list of numbers
    tolerance: float | None
    selection: dict[str, Any]
    needs_weights: bool
    measure: dict[str, Any] | None
    note: str = ""


@dataclass
class ClaimContext:
    """Where measures read from, and caches shared between claims."""

    separation_dir: Path
    steering_dir: Path
    classify_dir: Path
    valence_dir: Path
    data_dir: Path
    paper_config: Mapping[str, Any]
    claims: Mapping[str, Claim] = field(default_factory=dict)
    _cache: dict[Any, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClaimResult:
    """A claim with what this package computed for it."""

    claim: Claim
    replicated: Any  # None when not computed
    status: str
    basis: str
    detail: str


MeasureFn = Callable[[Mapping[str, Any], ClaimContext], Any]
MEASURES: dict[str, tuple[str, MeasureFn]] = {}


def register_measure(name: str, basis: str) -> Callable[[MeasureFn], MeasureFn]:
    """Register ``fn(args, ctx) -> value`` as measure ``name``; ``basis`` is what it reads
    ("model outputs", "upstream data" or "reported numbers")."""
    def deco(fn: MeasureFn) -> MeasureFn:
        if name in MEASURES:
            raise ValueError(f"measure {name!r} registered twice")
        MEASURES[name] = (basis, fn)
        return fn
    return deco


# --------------------------------------------------------------------------------------------
# Loading the ledger
# --------------------------------------------------------------------------------------------

def load_claims(path: str | Path) -> list[Claim]:
    """Read and validate the ledger; every problem names the claim (or its index) and key."""
    path = Path(path)
    try:
        # libyaml's safe loader where PyYAML was built with it: the pure-Python one spends
        # ~0.4 s on a ledger of 260 claims, a third of this stage.
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as e:
        raise EmovecInputError(f"{path}: cannot read the claims ledger: {e}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("claims"), list):
        raise EmovecInputError(f"{path}: expected a mapping with a list under 'claims'")
    out: list[Claim] = []
    seen: set[str] = set()
    for i, rec in enumerate(raw["claims"]):
        where = f"{path}: claims[{i}]" + (f" ({rec.get('id')})" if isinstance(rec, dict) and rec.get("id") else "")
        if not isinstance(rec, dict):
            raise EmovecInputError(f"{where}: not a mapping")
        missing = [k for k in _REQUIRED if k not in rec]
        unknown = sorted(set(rec) - _ALLOWED)
        if missing or unknown:
            raise EmovecInputError(f"{where}: missing key(s) {missing}, unknown key(s) {unknown}")
        cid = str(rec["id"])
        if cid in seen:
            raise EmovecInputError(f"{where}: duplicate id {cid!r}")
        seen.add(cid)
        if rec["paper"] not in PAPERS:
            raise EmovecInputError(f"{where}: paper {rec['paper']!r} is not one of {sorted(PAPERS)}")
        value = rec["value"]
        if not (_is_number(value) or isinstance(value, str)
                or (isinstance(value, list) and value and all(_is_number(v) for v in value))):
            raise EmovecInputError(f"{where}: value must be a number, a string or a list of numbers; got {value!r}")
        tol = rec.get("tolerance")
        if tol is not None and (not _is_number(tol) or tol < 0):
            raise EmovecInputError(f"{where}: tolerance must be a non-negative number; got {tol!r}")
        if not isinstance(value, str) and tol is None:
            raise EmovecInputError(f"{where}: a numeric value needs a tolerance")
        measure = rec["measure"]
        if measure is not None:
            if not isinstance(measure, dict) or measure.get("kind") not in MEASURES:
                raise EmovecInputError(f"{where}: measure.kind must be one of {sorted(MEASURES)}; got {measure!r}")
        out.append(Claim(id=cid, paper=str(rec["paper"]), source=dict(rec["source"] or {}),
                         statement=str(rec["statement"]), value=value, tolerance=None if tol is None else float(tol),
                         selection=dict(rec.get("selection") or {}), needs_weights=bool(rec["needs_weights"]),
                         measure=measure, note=str(rec.get("note") or "")))
    ids = {c.id for c in out}
    for c in out:
        if c.measure and c.measure["kind"] == "reported_arithmetic":
            bad = [v for v in (c.measure.get("inputs") or {}).values() if v not in ids]
            if bad:
                raise EmovecInputError(f"{path}: claim {c.id}: reported_arithmetic input(s) {bad} are not claim ids")
    return out


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


# --------------------------------------------------------------------------------------------
# Measures on model outputs
# --------------------------------------------------------------------------------------------

def _arg(args: Mapping[str, Any], key: str) -> Any:
    if key not in args:
        raise EmovecInputError(f"measure {args.get('kind')!r} needs argument {key!r}")
    return args[key]


def _separation(ctx: ClaimContext, model: str, corpus: str) -> pd.DataFrame:
    path = ctx.separation_dir / f"{model}__{corpus}.csv"
    if not path.is_file():
        raise NotRun(f"{path} absent (cell {model}__{corpus} not in the run)")
    key = ("sep", str(path))
    if key not in ctx._cache:
        ctx._cache[key] = pd.read_csv(path)
    return ctx._cache[key]


def _reported_row(df: pd.DataFrame, layer: Any = None) -> pd.Series:
    if layer is None:
        rows = df[df["is_reported_layer"].astype(str) == "True"]
        return rows.iloc[0]
    if not 0 <= int(layer) < len(df):
        raise NotRun(f"layer {layer} outside the model's {len(df)} blocks")
    return df.iloc[int(layer)]


@register_measure("separation_mean_cosine", "model outputs")
def _m_sep_cos(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    df = _separation(ctx, _arg(args, "model"), _arg(args, "corpus"))
    return float(_reported_row(df, args.get("layer"))["mean_cosine"])


@register_measure("separation_pair_cosine", "model outputs")
def _m_pair(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    df = _separation(ctx, _arg(args, "model"), _arg(args, "corpus"))
    col = f"cos_{_arg(args, 'pair')}"
    if col not in df.columns:
        raise EmovecInputError(f"pair {args['pair']!r} is not reported by the separation stage")
    return float(_reported_row(df)[col])


@register_measure("separation_difference", "model outputs")
def _m_diff(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    g = _separation(ctx, _arg(args, "model"), _arg(args, "generation_corpus"))
    c = _separation(ctx, args["model"], _arg(args, "comprehension_corpus"))
    return float(_reported_row(c)["mean_cosine"]) - float(_reported_row(g)["mean_cosine"])


@register_measure("anisotropy_baseline", "model outputs")
def _m_aniso(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return float(_reported_row(_separation(ctx, _arg(args, "model"), _arg(args, "corpus")))["anisotropy"])


@register_measure("anisotropy_gap", "model outputs")
def _m_aniso_gap(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return float(_reported_row(_separation(ctx, _arg(args, "model"), _arg(args, "corpus")))["gap_to_anisotropy"])


@register_measure("rlhf_separation_delta", "model outputs")
def _m_rlhf(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    b = _separation(ctx, _arg(args, "base"), _arg(args, "corpus"))
    i = _separation(ctx, _arg(args, "instruct"), args["corpus"])
    return float(_reported_row(b)["mean_cosine"]) - float(_reported_row(i)["mean_cosine"])


def _method_comparison(args: Mapping[str, Any], ctx: ClaimContext) -> Any:
    from emovec.paper.gen_vs_comp import compare_methods

    model = _arg(args, "model")
    recs = []
    for corpus in (_arg(args, "generation_corpus"), _arg(args, "comprehension_corpus")):
        path = ctx.separation_dir / f"{model}__{corpus}.resampling.json"
        if not path.is_file():
            raise NotRun(f"{path} absent (cell {model}__{corpus} not in the run)")
        recs.append(json.loads(path.read_text()))
    return compare_methods(model, recs[0], recs[1])


@register_measure("loo_mannwhitney_p", "model outputs")
def _m_loo_p(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return _method_comparison(args, ctx).mwu_p


@register_measure("loo_cohens_d", "model outputs")
def _m_loo_d(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return _method_comparison(args, ctx).d_loo


def _steering(ctx: ClaimContext, model: str) -> Any:
    """One model's validated steering outputs (emovec.paper.steering.SteeringData)."""
    from emovec.paper.steering import load_steering, load_steering_spec

    key = ("steer", model)
    if key in ctx._cache:
        return ctx._cache[key]
    raw = ctx.paper_config.get("steering") or {"models": []}
    spec = load_steering_spec(raw, int(ctx.paper_config.get("digits", 3)), "paper config")
    wanted = [m for m in spec.models if m.model == model]
    if not wanted:
        raise NotRun(f"model {model} was not steered in this run")
    spec = dataclasses.replace(spec, models=tuple(wanted))
    ctx._cache[key] = (spec, load_steering(spec, ctx.steering_dir, ctx.classify_dir)[model])
    return ctx._cache[key]


@register_measure("steering_delta", "model outputs")
def _m_delta(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    from emovec.paper.steering import protocol_deltas

    _, d = _steering(ctx, _arg(args, "model"))
    table = protocol_deltas(d).set_index("scenario")
    scenario = _arg(args, "scenario")
    if scenario not in table.index:
        raise NotRun(f"scenario {scenario} not run for {args['model']}")
    return float(table.loc[scenario, "emotion_delta"])


def _emotion_rows_at(d: Any, strength: float, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Emotion-vector rows at |strength| of ``frame`` (default: the model's measures)."""
    frame = d.measures if frame is None else frame
    rows = frame[frame["condition"] == "emotion"]
    hit = rows[np.isclose(rows["magnitude"].astype(float), abs(float(strength)), rtol=1e-9, atol=1e-12)]
    if hit.empty:
        raise NotRun(f"no emotion-vector generations at strength {strength:g}")
    return hit


@register_measure("steering_ppl", "model outputs")
def _m_ppl(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    from emovec.paper.steering import token_weighted_ppl

    _, d = _steering(ctx, _arg(args, "model"))
    return token_weighted_ppl(_emotion_rows_at(d, float(_arg(args, "strength"))))


@register_measure("steering_ppl_ratio", "model outputs")
def _m_ppl_ratio(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    from emovec.paper.steering import regime_stats

    spec, d = _steering(ctx, _arg(args, "model"))
    return float(regime_stats(d, spec.regimes)["ratio"])


@register_measure("steering_regime", "model outputs")
def _m_regime(args: Mapping[str, Any], ctx: ClaimContext) -> str:
    from emovec.paper.steering import regime_stats

    spec, d = _steering(ctx, _arg(args, "model"))
    return str(regime_stats(d, spec.regimes)["regime"])


@register_measure("steering_max_ppl", "model outputs")
def _m_max_ppl(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    _, d = _steering(ctx, _arg(args, "model"))
    rows = d.measures[(d.measures["condition"] == "emotion") & (d.measures["n_gen_tokens"] > 0)]
    if rows.empty:
        raise NotRun("no emotion-vector generation with tokens")
    return float(rows["ppl"].max())


@register_measure("steering_sensitivity", "model outputs")
def _m_sensitivity(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    from emovec.paper.steering import steering_sensitivity

    _, b = _steering(ctx, _arg(args, "base"))
    _, i = _steering(ctx, _arg(args, "instruct"))
    return steering_sensitivity(b, i)[0]


# Jeong's classifier numbers (37/40 agreement, the GPT-2 sweep's p(anger), p(joy)) were scored by
# j-hartmann/emotion-english-distilroberta-base, which runs as the hf_sequence_classifier entry.
# A claim may name another registered classifier with ``classifier: <name>``; it is never swapped
# silently for whichever classifier did run.
_JEONG_CLASSIFIER = "hf_sequence_classifier"
_JEONG_CLASSIFIER_DISPLAY = "j-hartmann/emotion-english-distilroberta-base"


def _claim_classifier(args: Mapping[str, Any], spec: Any) -> Any:
    """The ClassifierSpec a classifier measure reads: ``args['classifier']`` (a registry name),
    by default Jeong's j-hartmann (hf_sequence_classifier); NotRun when that one did not run."""
    name = args.get("classifier", _JEONG_CLASSIFIER)
    for c in spec.classifiers:
        if c.name == name:
            return c
    ran = "; ".join(f"{c.display_name} ({c.name})" for c in spec.classifiers) or "none"
    if name == _JEONG_CLASSIFIER:
        why = (f"Jeong's number was scored by {_JEONG_CLASSIFIER_DISPLAY} (steering.classifiers entry "
               f"{_JEONG_CLASSIFIER}, which is not among this run's classifiers: {ran}); another classifier's "
               "score is not the same measurement, so it is not used in its place")
    else:
        why = f"classifier {name} is not among this run's classifiers: {ran}"
    raise NotRun(why)


def _read_by(c: Any) -> str:
    return f"classifier: {c.display_name} ({c.name})"


@register_measure("classifier_agreement", "model outputs")
def _m_agreement(args: Mapping[str, Any], ctx: ClaimContext) -> Measured:
    from emovec.paper.steering import agreement_counts

    frames, ci, used = [], 0.95, None
    for model in _arg(args, "models"):
        spec, d = _steering(ctx, model)
        used = _claim_classifier(args, spec)
        frames.append(d.scores(used.name))
        ci = spec.ci_level or ci
    counts = agreement_counts(pd.concat(frames, ignore_index=True), ci)
    row = counts[(counts["scope"] == "protocol") & (counts["comparison"] == "emotion")].iloc[0]
    return Measured(float(row["proportion"]), f"{_read_by(used)}; {int(row['k'])}/{int(row['n'])} units")


@register_measure("classifier_probability", "model outputs")
def _m_class_p(args: Mapping[str, Any], ctx: ClaimContext) -> Measured:
    spec, d = _steering(ctx, _arg(args, "model"))
    used = _claim_classifier(args, spec)
    label = _arg(args, "label")
    if label not in used.labels:
        raise NotRun(f"label {label} is not a label of {used.display_name} ({list(used.labels)})")
    rows = _emotion_rows_at(d, float(_arg(args, "strength")), d.scores(used.name))
    rows = rows[rows["scenario"] == _arg(args, "scenario")]
    if rows.empty:
        raise NotRun(f"no {args['scenario']} generations")
    return Measured(float(rows[f"p_{label}"].mean()), _read_by(used))


def _valence_summary(ctx: ClaimContext, model: str, corpus: str) -> dict[str, Any]:
    path = ctx.valence_dir / f"{model}__{corpus}" / "summary.json"
    if not path.is_file():
        raise NotRun(f"{path} absent (cell {model}__{corpus} not in the run)")
    return json.loads(path.read_text())


@register_measure("valence_peak_r", "model outputs")
def _m_val_r(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return float(_valence_summary(ctx, _arg(args, "model"), _arg(args, "corpus"))["peaks"]["valence"]["r"])


@register_measure("valence_peak_layer", "model outputs")
def _m_val_layer(args: Mapping[str, Any], ctx: ClaimContext) -> int:
    return int(_valence_summary(ctx, _arg(args, "model"), _arg(args, "corpus"))["peaks"]["valence"]["layer"])


@register_measure("arousal_peak_r", "model outputs")
def _m_aro_r(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return float(_valence_summary(ctx, _arg(args, "model"), _arg(args, "corpus"))["peaks"]["arousal"]["r"])


# --------------------------------------------------------------------------------------------
# Measures on upstream data
# --------------------------------------------------------------------------------------------

def _data_file(ctx: ClaimContext, rel: str) -> Path:
    path = ctx.data_dir / rel
    if not path.is_file():
        raise NotRun(f"{path} absent (run `make data`; the upstream mirror or network supplies it)")
    return path


def _protocol(ctx: ClaimContext) -> dict[str, Any]:
    return json.loads(_data_file(ctx, "neural-mri/protocol_stimuli.json").read_text(encoding="utf-8"))


def _passages(ctx: ClaimContext) -> list[dict[str, Any]]:
    from emovec.corpora.stimuli import read_jeong_csv

    return read_jeong_csv(_data_file(ctx, "neural-mri/emotion_comprehension_texts.csv"))


def _vdb_stories(ctx: ClaimContext) -> list[Any]:
    from emovec.corpora.stories import read_stories

    key = ("vdb_stories",)
    if key not in ctx._cache:
        ctx._cache[key] = read_stories(_data_file(ctx, "emotion_experiment/output_gemma_stories/stories.jsonl"),
                                       "emotion_experiment_jsonl")
    return ctx._cache[key]


def _story_counts(ctx: ClaimContext) -> list[int]:
    counts: dict[str, int] = {}
    for row in _vdb_stories(ctx):
        counts[row["emotion"]] = counts.get(row["emotion"], 0) + 1
    return sorted(set(counts.values()))


def _single(values: list[int], what: str) -> int:
    if len(values) != 1:
        raise EmovecInputError(f"{what} is not the same for every emotion: {values}")
    return values[0]


_UPSTREAM_COUNTS: dict[str, Callable[[ClaimContext], int]] = {
    "jeong_emotions": lambda ctx: len(_protocol(ctx)["emotions_20"]),
    "jeong_templates": lambda ctx: len(_protocol(ctx)["generation_templates"]),
    "jeong_stories_per_emotion": lambda ctx: int(_protocol(ctx)["generation_protocol"]["n_stories_per_emotion"]),
    "jeong_comprehension_passages": lambda ctx: sum(1 for r in _passages(ctx) if r["emotion"] != "neutral"),
    "jeong_neutral_passages": lambda ctx: sum(1 for r in _passages(ctx) if r["emotion"] == "neutral"),
    "jeong_anisotropy_sentences": lambda ctx: len(_protocol(ctx)["anisotropy_neutral_sentences_20"]),
    "jeong_steering_scenarios": lambda ctx: len(_protocol(ctx)["steering_scenarios_gpt2_report"]),
    "vdb_emotions": lambda ctx: len(_vdb_emotions(ctx)),
    "vdb_stories": lambda ctx: len(_vdb_stories(ctx)),
    "vdb_stories_per_emotion": lambda ctx: _single(_story_counts(ctx), "stories per emotion"),
    "vdb_neutral_texts": lambda ctx: len(_nonempty_lines(_data_file(ctx, "emotion_experiment/prompts/neutral_texts.txt"))),
    "vdb_topics": lambda ctx: len(_nonempty_lines(_data_file(ctx, "emotion_experiment/prompts/topics.txt"))),
}


def _vdb_emotions(ctx: ClaimContext) -> tuple[str, ...]:
    from emovec.emotions import read_emotion_list

    return read_emotion_list(_data_file(ctx, "emotion_experiment/prompts/emotions.txt"))


def _nonempty_lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


@register_measure("upstream_count", "upstream data")
def _m_count(args: Mapping[str, Any], ctx: ClaimContext) -> int:
    what = _arg(args, "what")
    if what not in _UPSTREAM_COUNTS:
        raise EmovecInputError(f"upstream_count: unknown what {what!r}; known: {sorted(_UPSTREAM_COUNTS)}")
    return int(_UPSTREAM_COUNTS[what](ctx))


@register_measure("upstream_list", "upstream data")
def _m_list(args: Mapping[str, Any], ctx: ClaimContext) -> list[float]:
    what = _arg(args, "what")
    if what != "jeong_strengths":
        raise EmovecInputError(f"upstream_list: unknown what {what!r}; known: ['jeong_strengths']")
    return [float(x) for x in _protocol(ctx)["paper5_strengths"]]


# --------------------------------------------------------------------------------------------
# Measures on reported numbers
# --------------------------------------------------------------------------------------------

_BINOPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_FUNCS: dict[str, Callable[..., float]] = {"abs": abs, "max": max, "min": min,
                                           "mean": lambda *xs: sum(xs) / len(xs)}


def evaluate_expression(expr: str, names: Mapping[str, float]) -> float:
    """Evaluate arithmetic (+ - * /, unary -, abs/min/max/mean, numbers, names) safely."""
    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and _is_number(node.value):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise EmovecInputError(f"expression {expr!r}: unknown name {node.id!r}")
            return float(names[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords:
            return float(_FUNCS[node.func.id](*[ev(a) for a in node.args]))
        raise EmovecInputError(f"expression {expr!r}: unsupported syntax {ast.dump(node)[:60]}")

    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as e:
        raise EmovecInputError(f"expression {expr!r}: {e.msg}") from None
    return ev(tree)


@register_measure("reported_arithmetic", "reported numbers")
def _m_arith(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    names = {}
    for name, cid in (_arg(args, "inputs") or {}).items():
        value = ctx.claims[cid].value
        if not _is_number(value):
            raise EmovecInputError(f"reported_arithmetic input {cid!r} is not a number ({value!r})")
        names[name] = float(value)
    return evaluate_expression(str(_arg(args, "expr")), names)


@register_measure("binomial_fraction", "reported numbers")
def _m_fraction(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    k, n = int(_arg(args, "k")), int(_arg(args, "n"))
    if n <= 0 or not 0 <= k <= n:
        raise EmovecInputError(f"binomial_fraction needs 0 <= k <= n, n > 0; got k={k}, n={n}")
    return k / n


@register_measure("mannwhitney_min_p", "reported numbers")
def _m_min_p(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    from emovec.stats.effect_size import mannwhitney_min_p

    return mannwhitney_min_p(int(_arg(args, "n1")), int(_arg(args, "n2")))


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------

def _normalise_label(x: str) -> str:
    return x.strip().rstrip("*∗").strip().lower().replace("repetitive collapse", "repetitive")


def compare(reported: Any, replicated: Any, tolerance: float | None) -> bool:
    """Within tolerance (numbers, element-wise for lists) or equal (labels, case-insensitive)."""
    if isinstance(reported, str):
        return isinstance(replicated, str) and _normalise_label(reported) == _normalise_label(replicated)
    if isinstance(reported, list):
        return (isinstance(replicated, list) and len(reported) == len(replicated)
                and all(compare(a, b, tolerance) for a, b in zip(reported, replicated)))
    if not _is_number(replicated):
        return False
    # A tiny slack so that a value exactly at the tolerance (after float rounding) counts.
    return abs(float(replicated) - float(reported)) <= float(tolerance or 0.0) * (1 + 1e-9) + 1e-12


def evaluate_claims(claims: Sequence[Claim], ctx: ClaimContext) -> list[ClaimResult]:
    """Run every claim's measure; absent inputs become "not run" statuses, never errors."""
    ctx.claims = {c.id: c for c in claims}
    out = []
    for c in claims:
        if c.measure is None:
            out.append(ClaimResult(c, None, "not measured", "---", "no measure in this package computes it"))
            continue
        basis, fn = MEASURES[c.measure["kind"]]
        args = dict(c.measure)
        detail = ""
        try:
            value = fn(args, ctx)
            if isinstance(value, Measured):
                value, detail = value.value, value.detail
        except NotRun as e:
            status = "not run: needs weights" if c.needs_weights else "not run"
            out.append(ClaimResult(c, None, status, basis, str(e)))
            continue
        except EmovecInputError as e:
            raise EmovecInputError(f"claim {c.id}: {e}") from None
        if isinstance(value, float) and not math.isfinite(value):
            out.append(ClaimResult(c, None, "not run", basis, "; ".join(
                x for x in (detail, "the measure is undefined on these outputs (NaN)") if x)))
            continue
        ok = compare(c.value, value, c.tolerance)
        out.append(ClaimResult(c, value, "replicated" if ok else "differs", basis, detail))
    return out


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

def _fmt_value(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, str):
        return x
    if isinstance(x, list):
        return "[" + ", ".join(_fmt_value(v) for v in x) + "]"
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return str(int(x))
    v = float(x)
    if v != 0 and (abs(v) >= 1e4 or abs(v) < 1e-3):
        return f"{v:.4g}"
    return f"{v:.4f}".rstrip("0").rstrip(".") if abs(v) < 100 else f"{v:.1f}"


def _source(c: Claim) -> str:
    s = c.source
    parts = [PAPERS[c.paper]]
    for key in ("table", "section", "row", "column"):
        if s.get(key):
            parts.append(("§" if key == "section" else "") + str(s[key]))
    return ", ".join(parts)


def _selection(c: Claim) -> str:
    sel = c.selection
    if not sel:
        return "none needed"
    return "; ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in sel.items())


def claims_csv(results: Sequence[ClaimResult]) -> str:
    """The machine-readable table: one row per claim, stable column order."""
    rows = [{"id": r.claim.id, "paper": r.claim.paper, "source": _source(r.claim), "statement": r.claim.statement,
             "reported": _fmt_value(r.claim.value), "tolerance": _fmt_value(r.claim.tolerance),
             "replicated": _fmt_value(r.replicated), "status": r.status, "basis": r.basis,
             "needs_weights": str(r.claim.needs_weights).lower(), "selection": _selection(r.claim),
             "detail": r.detail, "note": r.claim.note} for r in results]
    df = pd.DataFrame(rows, columns=["id", "paper", "source", "statement", "reported", "tolerance", "replicated",
                                     "status", "basis", "needs_weights", "selection", "detail", "note"])
    return df.to_csv(index=False, lineterminator="\n")


def status_counts(results: Sequence[ClaimResult]) -> pd.DataFrame:
    """Claims per paper and status (rows: papers in PAPERS order, then the total)."""
    df = pd.DataFrame({"paper": [r.claim.paper for r in results], "status": [r.status for r in results]})
    table = pd.crosstab(df["paper"], df["status"]).reindex(index=[p for p in PAPERS if p in set(df["paper"])],
                                                           columns=list(STATUSES), fill_value=0)
    table.loc["total"] = table.sum()
    return table


# Characters the papers' text brings into the ledger, spelled so pdflatex needs no extra package.
_UNICODE_LATEX = {"§": "\\S{}", "–": "--", "—": "---", "Δ": "$\\Delta$", "∗": "*", "≤": "$\\le$", "≥": "$\\ge$",
                  "×": "$\\times$", "→": "$\\rightarrow$", "’": "'", "‘": "`", "“": "``", "”": "''", "±": "$\\pm$"}


def latex_text(text: str) -> str:
    """LaTeX-escape ``text`` and spell the ledger's non-ASCII characters (§ – Δ ≤ ...) in ASCII
    LaTeX; accents are dropped (NFKD) and anything else becomes ``?`` rather than a TeX error."""
    import unicodedata

    from emovec.paper.tables import latex_escape

    out = []
    for ch in latex_escape(text):
        if ord(ch) < 128:
            out.append(ch)
        elif ch in _UNICODE_LATEX:
            out.append(_UNICODE_LATEX[ch])
        else:
            plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(plain or "?")
    return "".join(out)


def claims_table(results: Sequence[ClaimResult], provenance: str) -> str:
    """LaTeX: a summary table (claims per paper and status) and a longtable with every claim."""
    esc = latex_text

    counts = status_counts(results)
    head = " & ".join(["Paper", *[esc(s) for s in STATUSES], "All"]) + " \\\\"
    body = []
    for paper, row in counts.iterrows():
        name = "Total" if paper == "total" else PAPERS[str(paper)]
        body.append(" & ".join([esc(name), *[str(int(row[s])) for s in STATUSES], str(int(row.sum()))]) + " \\\\")
    summary = "\n".join([
        "% Generated by emovec.paper.claims from paper/claims.yaml and tracked outputs; do not edit by hand.",
        "\\begin{table}[htbp]", "\\centering",
        "\\caption{Claims ledger summary: every number the replicated papers report, by status. "
        "Replicated: this package's value is within the claim's tolerance (tolerances and their conventions: "
        "paper/claims.yaml). Differs: outside it. Not run: needs weights: the measure reads outputs of a model whose "
        "weights are not available offline (or a closed model), absent from this run. Not measured: no measure "
        "computes it (qualitative observations, closed-model behaviour). Values recomputed from the papers' own "
        "reported numbers or upstream data files are consistency checks, not replications on a model: the basis "
        "column of the full ledger says which. Unit of analysis: reported numbers; no statistics pooled across "
        "claims.}",
        "\\label{tab:claims-summary}",
        "\\begin{tabular}{l" + "r" * (len(STATUSES) + 1) + "}", "\\toprule", head, "\\midrule", *body[:-1],
        "\\midrule", body[-1], "\\bottomrule", "\\end{tabular}",
        f"\\par\\smallskip{{\\footnotesize {provenance}\\par}}",
        "\\end{table}", ""])
    cols = ["Claim (source)", "Reported", "Tol.", "Replicated", "Status", "Basis"]
    lines = [
        "% Requires \\usepackage{longtable} and \\usepackage{array}.",
        "{\\footnotesize\\setlength{\\tabcolsep}{4pt}",
        "\\begin{longtable}{>{\\raggedright\\arraybackslash}p{0.31\\linewidth}"
        ">{\\raggedleft\\arraybackslash}p{0.13\\linewidth}>{\\raggedleft\\arraybackslash}p{0.06\\linewidth}"
        ">{\\raggedleft\\arraybackslash}p{0.13\\linewidth}>{\\raggedright\\arraybackslash}p{0.12\\linewidth}"
        ">{\\raggedright\\arraybackslash}p{0.11\\linewidth}}",
        "\\caption{Claims ledger: every reported number, this package's value and its status "
        "(machine-readable: paper/claims/claims.csv, which also holds each claim's statement, selection and notes).}"
        "\\label{tab:claims}\\\\",
        "\\toprule", " & ".join(cols) + " \\\\", "\\midrule", "\\endfirsthead",
        "\\toprule", " & ".join(cols) + " \\\\", "\\midrule", "\\endhead",
        "\\bottomrule", "\\endfoot",
    ]
    for r in results:
        first = f"\\texttt{{{esc(r.claim.id)}}}\\newline {esc(_source(r.claim))}"
        lines.append(" & ".join([first, esc(_fmt_value(r.claim.value)), esc(_fmt_value(r.claim.tolerance)),
                                 esc(_fmt_value(r.replicated)) or "---", esc(r.status), esc(r.basis)]) + " \\\\")
    lines += ["\\end{longtable}", "}", ""]
    return summary + "\n" + "\n".join(lines)
