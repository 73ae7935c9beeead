"""Claim measures on **upstream data** and on **reported numbers**.

- upstream data: the papers' own stimulus files, materialised under data/ through the manifest
  (design counts: 20 emotions, 1,539 stories, ...); absent files raise ``NotRun``;
- reported numbers: arithmetic on other claims' reported values (a (G-C) column, a PPL ratio,
  37/40 as a percentage, the smallest p a test could return): a reviewer's consistency check,
  labelled as such, never presented as a replication on a model.

Adding a measure is one function plus ``@register_measure("name", "<basis>")``.
"""

from __future__ import annotations

import ast
import json
import operator
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from emovec.errors import EmovecInputError
from emovec.ledgers.claim_ledger import ClaimContext, NotRun, is_number, measure_arg, register_measure

__all__ = ["evaluate_expression"]


# --------------------------------------------------------------------------------------------
# Upstream data
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
    if key not in ctx.cache:
        ctx.cache[key] = read_stories(_data_file(ctx, "emotion_experiment/output_gemma_stories/stories.jsonl"),
                                       "emotion_experiment_jsonl")
    return ctx.cache[key]


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
    from emovec.corpora.emotion_sets import read_emotion_list

    return read_emotion_list(_data_file(ctx, "emotion_experiment/prompts/emotions.txt"))


def _nonempty_lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


@register_measure("upstream_count", "upstream data")
def _m_count(args: Mapping[str, Any], ctx: ClaimContext) -> int:
    what = measure_arg(args, "what")
    if what not in _UPSTREAM_COUNTS:
        raise EmovecInputError(f"upstream_count: unknown what {what!r}; known: {sorted(_UPSTREAM_COUNTS)}")
    return int(_UPSTREAM_COUNTS[what](ctx))


@register_measure("upstream_list", "upstream data")
def _m_list(args: Mapping[str, Any], ctx: ClaimContext) -> list[float]:
    what = measure_arg(args, "what")
    if what != "jeong_strengths":
        raise EmovecInputError(f"upstream_list: unknown what {what!r}; known: ['jeong_strengths']")
    return [float(x) for x in _protocol(ctx)["paper5_strengths"]]


# --------------------------------------------------------------------------------------------
# Reported numbers
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
        if isinstance(node, ast.Constant) and is_number(node.value):
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
    for name, cid in (measure_arg(args, "inputs") or {}).items():
        value = ctx.claims[cid].value
        if not is_number(value):
            raise EmovecInputError(f"reported_arithmetic input {cid!r} is not a number ({value!r})")
        names[name] = float(value)
    return evaluate_expression(str(measure_arg(args, "expr")), names)


@register_measure("binomial_fraction", "reported numbers")
def _m_fraction(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    k, n = int(measure_arg(args, "k")), int(measure_arg(args, "n"))
    if n <= 0 or not 0 <= k <= n:
        raise EmovecInputError(f"binomial_fraction needs 0 <= k <= n, n > 0; got k={k}, n={n}")
    return k / n


@register_measure("mannwhitney_min_p", "reported numbers")
def _m_min_p(args: Mapping[str, Any], ctx: ClaimContext) -> float:
    from emovec.stats.effect_size import mannwhitney_min_p

    return mannwhitney_min_p(int(measure_arg(args, "n1")), int(measure_arg(args, "n2")))
