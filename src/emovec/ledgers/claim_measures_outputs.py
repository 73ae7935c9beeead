"""Claim measures on **model outputs**: the tracked separation and valence outputs of the named
model, and the analyses stage's steering and classifier statistics (``build/analyses``, read,
never recomputed). They exist only when the run selected that model (which needs its weights);
otherwise a measure raises ``NotRun`` naming the absent file or model.

Adding a measure is one function plus ``@register_measure("name", "model outputs")``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from emovec.artefacts.declarations import VALENCE_SUMMARY, cell_name
from emovec.errors import EmovecInputError
from emovec.ledgers.claim_ledger import ClaimContext, Measured, NotRun, measure_arg, register_measure
from emovec.readers.checked import read_json_artefact

__all__: list[str] = []  # measures are reached through emovec.ledgers.claim_ledger.MEASURES


# --------------------------------------------------------------------------------------------
# Separation
# --------------------------------------------------------------------------------------------

def _separation(ctx: ClaimContext, model: str, corpus: str) -> tuple[pd.DataFrame, int]:
    """The cell's separation CSV (through the paper's checked reader) and its reported layer."""
    from emovec.readers.separation import read_separation_csv

    name = cell_name(model, corpus)
    spec = ctx.paper.separation.find(model, corpus)
    path = ctx.separation_dir / f"{name}.csv"
    if spec is None or not path.is_file():
        raise NotRun(f"{path} absent (cell {name} not in the run)")
    key = ("sep", str(path))
    if key not in ctx.cache:
        ctx.cache[key] = read_separation_csv(path, spec)
    return ctx.cache[key], spec.layer


def _reported_row(cell: tuple[pd.DataFrame, int], layer: Any = None) -> pd.Series:
    """The row of the cell's reported layer, or of ``layer`` when a claim names one."""
    df, reported = cell
    if layer is None:
        return df.iloc[reported]
    if not 0 <= int(layer) < len(df):
        raise NotRun(f"layer {layer} outside the model's {len(df)} blocks")
    return df.iloc[int(layer)]


@register_measure("separation_mean_cosine", "model outputs")
def _m_sep_cos(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    df = _separation(ctx, measure_arg(args, "model"), measure_arg(args, "corpus"))
    return float(_reported_row(df, args.get("layer"))["mean_cosine"])


@register_measure("separation_pair_cosine", "model outputs")
def _m_pair(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    cell = _separation(ctx, measure_arg(args, "model"), measure_arg(args, "corpus"))
    col = f"cos_{measure_arg(args, 'pair')}"
    if col not in cell[0].columns:
        raise EmovecInputError(f"pair {args['pair']!r} is not reported by the separation stage")
    return float(_reported_row(cell)[col])


@register_measure("separation_difference", "model outputs")
def _m_diff(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    g = _separation(ctx, measure_arg(args, "model"), measure_arg(args, "generation_corpus"))
    c = _separation(ctx, args["model"], measure_arg(args, "comprehension_corpus"))
    return float(_reported_row(c)["mean_cosine"]) - float(_reported_row(g)["mean_cosine"])


@register_measure("anisotropy_baseline", "model outputs")
def _m_aniso(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return float(_reported_row(_separation(ctx, measure_arg(args, "model"), measure_arg(args, "corpus")))["anisotropy"])


@register_measure("anisotropy_gap", "model outputs")
def _m_aniso_gap(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return float(_reported_row(_separation(ctx, measure_arg(args, "model"), measure_arg(args, "corpus")))["gap_to_anisotropy"])


@register_measure("rlhf_separation_delta", "model outputs")
def _m_rlhf(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    b = _separation(ctx, measure_arg(args, "base"), measure_arg(args, "corpus"))
    i = _separation(ctx, measure_arg(args, "instruct"), args["corpus"])
    return float(_reported_row(b)["mean_cosine"]) - float(_reported_row(i)["mean_cosine"])


def _method_comparison(args: Mapping[str, Any], ctx: ClaimContext) -> Any:
    """The model's generation-vs-comprehension comparison as the analyses stage recorded it
    (``gen_vs_comp.json``), which must compare the corpora the claim names."""
    from emovec.analysis.catalogue import read_analysis

    model = measure_arg(args, "model")
    corpora = (measure_arg(args, "generation_corpus"), measure_arg(args, "comprehension_corpus"))
    for corpus in corpora:
        if ctx.paper.separation.find(model, corpus) is None:
            raise NotRun(f"cell {cell_name(model, corpus)} not in the run")
    if ("analysis", "gen_vs_comp") not in ctx.cache:
        ctx.cache[("analysis", "gen_vs_comp")] = read_analysis(ctx.analyses_dir, "gen_vs_comp")
    found = [c for c in ctx.cache[("analysis", "gen_vs_comp")].comparisons if c.model == model]
    if not found or (found[0].generation_corpus, found[0].comprehension_corpus) != corpora:
        raise EmovecInputError(f"{ctx.analyses_dir / 'gen_vs_comp.json'}: no comparison of {corpora} for model "
                               f"{model!r}; re-run the analyses stage")
    return found[0]


@register_measure("loo_mannwhitney_p", "model outputs")
def _m_loo_p(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return _method_comparison(args, ctx).mwu_p


@register_measure("loo_cohens_d", "model outputs")
def _m_loo_d(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    return _method_comparison(args, ctx).d_loo


# --------------------------------------------------------------------------------------------
# Steering and classifiers: the analyses stage's statistics (build/analyses/<name>.json)
# --------------------------------------------------------------------------------------------

def _steering_spec(ctx: ClaimContext) -> Any:
    """The paper config's steering spec (``emovec.readers.paper_steering.SteeringSpec``)."""
    return ctx.paper.steering


def _steered(ctx: ClaimContext, model: str) -> Any:
    """The steering spec, once ``model`` is known to be steered in this run (else NotRun)."""
    spec = _steering_spec(ctx)
    if not any(m.model == model for m in spec.models):
        raise NotRun(f"model {model} was not steered in this run")
    return spec


def _analysis(ctx: ClaimContext, name: str, model: str, pick: Callable[[Any], Any] = lambda r: r) -> Any:
    """``pick(result)`` of analysis ``name`` (read once from the analyses stage's output), which
    must cover the steered ``model``. A missing file, or one that lacks the model or the entry
    ``pick`` asks for, is an error naming the file (the analyses stage is stale or was not run)."""
    from emovec.analysis.catalogue import read_analysis

    key = ("analysis", name)
    if key not in ctx.cache:
        ctx.cache[key] = read_analysis(ctx.analyses_dir, name)
    result = ctx.cache[key]
    path = ctx.analyses_dir / f"{name}.json"
    if model not in result.models:
        raise EmovecInputError(f"{path}: covers models {list(result.models)}, not the steered model {model!r}; "
                               "re-run the analyses stage")
    try:
        return pick(result)
    except LookupError as exc:
        raise EmovecInputError(f"{path}: {exc}; re-run the analyses stage") from None


def _at_strength(rows: Sequence[Any], strength: float) -> list[Any]:
    """The rows (records with a ``magnitude``) at |strength|, up to float noise; NotRun when none."""
    from emovec.readers.steering import same_strength

    hit = [r for r in rows if same_strength(r.magnitude, abs(strength))]
    if not hit:
        raise NotRun(f"no emotion-vector generations at strength {strength:g}")
    return hit


@register_measure("steering_delta", "model outputs")
def _m_delta(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    model = measure_arg(args, "model")
    _steered(ctx, model)
    deltas = _analysis(ctx, "protocol_deltas", model, lambda t: t.of(model))
    scenario = measure_arg(args, "scenario")
    if not deltas.has(scenario):
        raise NotRun(f"scenario {scenario} not run for {args['model']}")
    return float(deltas.of(scenario).emotion_delta)


@register_measure("steering_ppl", "model outputs")
def _m_ppl(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    model = measure_arg(args, "model")
    _steered(ctx, model)
    ppl = _analysis(ctx, "steering_ppl", model, lambda t: t.of(model))
    return float(_at_strength(ppl.strengths, float(measure_arg(args, "strength")))[0].ppl)


@register_measure("steering_ppl_ratio", "model outputs")
def _m_ppl_ratio(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    model = measure_arg(args, "model")
    _steered(ctx, model)
    return float(_analysis(ctx, "regime_stats", model, lambda t: t.of(model)).ratio)


@register_measure("steering_regime", "model outputs")
def _m_regime(args: Mapping[str, Any], ctx: ClaimContext) -> str:
    model = measure_arg(args, "model")
    _steered(ctx, model)
    return str(_analysis(ctx, "regime_stats", model, lambda t: t.of(model)).regime)


@register_measure("steering_max_ppl", "model outputs")
def _m_max_ppl(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    model = measure_arg(args, "model")
    _steered(ctx, model)
    ppl = _analysis(ctx, "steering_ppl", model, lambda t: t.of(model))
    if ppl.max_ppl is None:
        raise NotRun("no emotion-vector generation with tokens")
    return float(ppl.max_ppl)


@register_measure("steering_sensitivity", "model outputs")
def _m_sensitivity(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    base, inst = measure_arg(args, "base"), measure_arg(args, "instruct")
    _steered(ctx, base)
    _steered(ctx, inst)
    _analysis(ctx, "rlhf_steering", base)
    table = _analysis(ctx, "rlhf_steering", inst)
    pairs = [p for p in table.pairs if (p.base, p.instruct) == (base, inst)]
    if not pairs:
        raise NotRun(f"{inst} is not steered as the instruct partner of {base} (partner in the paper config), "
                     "so the analyses stage did not compare them")
    return float(pairs[0].sensitivity.mean)


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
    """The share of (model, scenario) units at the protocol strength whose p_target moves toward the
    target under the emotion vector, over the named models: the sum of their per-model counts."""
    models, used = measure_arg(args, "models"), None
    for model in models:
        used = _claim_classifier(args, _steered(ctx, model))
    for model in models:
        block = _analysis(ctx, "agreement_counts", model, lambda t: t.of(used.name))
    wanted = set(models)
    rows = [r for r in block.per_model if r.model in wanted and (r.scope, r.comparison) == ("protocol", "emotion")]
    k, n = sum(r.k for r in rows), sum(r.n for r in rows)
    return Measured(k / n if n else math.nan, f"{_read_by(used)}; {k}/{n} units")


@register_measure("classifier_probability", "model outputs")
def _m_class_p(args: Mapping[str, Any], ctx: ClaimContext) -> Measured:
    model = measure_arg(args, "model")
    used = _claim_classifier(args, _steered(ctx, model))
    label = measure_arg(args, "label")
    if label not in used.labels:
        raise NotRun(f"label {label} is not a label of {used.display_name} ({list(used.labels)})")
    table = _analysis(ctx, "classifier_scores", model)
    mine = [r for r in table.rows if (r.classifier, r.model) == (used.name, model)]
    rows = [r for r in _at_strength(mine, float(measure_arg(args, "strength")))
            if r.scenario == measure_arg(args, "scenario")]
    if not rows:
        raise NotRun(f"no {args['scenario']} generations")
    return Measured(rows[0].mean(label), _read_by(used))


# --------------------------------------------------------------------------------------------
# Valence
# --------------------------------------------------------------------------------------------

def _valence_summary(ctx: ClaimContext, model: str, corpus: str) -> dict[str, Any]:
    path = ctx.valence_dir / cell_name(model, corpus) / "summary.json"
    if not path.is_file():
        raise NotRun(f"{path} absent (cell {cell_name(model, corpus)} not in the run)")
    return read_json_artefact(path, VALENCE_SUMMARY)


# The papers print r > 0 because the authors' code flips each PC so that its r is positive; the
# package signs r by anchor emotions that never see the ratings. A claim about the paper's r is a
# claim about a magnitude, so these two measures compare |r| (the summary's abs_r).
@register_measure("valence_peak_abs_r", "model outputs")
def _m_val_r(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    """|r| of PC1 with valence at the peak layer (the paper's positive r is a magnitude)."""
    return float(_valence_summary(ctx, measure_arg(args, "model"), measure_arg(args, "corpus"))["peaks"]["valence"]["abs_r"])


@register_measure("valence_peak_layer", "model outputs")
def _m_val_layer(args: Mapping[str, Any], ctx: ClaimContext) -> int:
    return int(_valence_summary(ctx, measure_arg(args, "model"), measure_arg(args, "corpus"))["peaks"]["valence"]["layer"])


@register_measure("arousal_peak_abs_r", "model outputs")
def _m_aro_r(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    """|r| of PC2 with arousal at the peak layer (compared as a magnitude, as valence_peak_abs_r)."""
    return float(_valence_summary(ctx, measure_arg(args, "model"), measure_arg(args, "corpus"))["peaks"]["arousal"]["abs_r"])
