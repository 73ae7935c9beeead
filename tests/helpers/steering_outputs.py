"""Synthetic steering outputs (measures, norms, summaries, classifier scores) with hand-computed
numbers: two partner models x two scenarios x two strengths, every score a dyadic fraction so
the expected means are exact in floating point."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from emovec.analysis.catalogue import with_analyses
from emovec.artefacts.declarations import (
    CLASSIFY_SCORES,
    STEERING_MEASURES,
    STEERING_NORMS,
    STEERING_SUMMARY,
    write_csv,
    write_json,
)
from emovec.readers.paper_inputs import PaperInputs, SteeringInputs
from emovec.readers.paper_steering import load_steering_spec
from emovec.readers.steering import load_steering
from emovec.report.steering_figures import build_steering_figures
from emovec.report.tables import build_tables
from emovec.steering.classifiers import EKMAN7

DIGITS = 3
BASE, INST = "toy-base", "toy-instruct"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# name -> (scenario_index, emotion, direction, toy_lexicon target label, vader target label)
SCENARIOS = {"up": (0, "happy", 1, "joy", "valence_positive"), "down": (1, "sad", -1, "sadness", "valence_negative")}
TOY = "toy lexicon classifier (offline fallback, not j-hartmann)"
VADER = "VADER 3.3.2 (compound valence)"
LOW, HIGH = 0.005, 0.05
RAW_SPEC = {
    "models": [{"model": BASE, "variant": "base", "family": "toy", "partner": INST},
               {"model": INST, "variant": "instruct", "family": "toy", "partner": BASE}],
    "classifiers": [{"name": "toy_lexicon", "display_name": TOY}, {"name": "vader", "display_name": VADER}],
    "regimes": {"low_strength": LOW, "high_strength": HIGH, "explosive_min_ratio": 5.0,
                "collapse_max_distinct2": 0.5, "collapse_min_repeat": 8},
    "ci_level": 0.95,
}
U = 0.25  # p_target of every unsteered generation

# p_target per (model, scenario): condition/magnitude -> value (random: one per direction).
P = {
    (BASE, "up"): {"induction": 0.5, "emo_high": 0.75, "emo_low": 0.3125, "rnd_high": (0.375, 0.125)},
    (BASE, "down"): {"induction": 0.125, "emo_high": 0.125, "emo_low": 0.25, "rnd_high": (0.125, 0.25)},
    (INST, "up"): {"induction": 0.375, "emo_high": 0.875, "emo_low": 0.25, "rnd_high": (0.125, 0.125)},
    (INST, "down"): {"induction": 0.5, "emo_high": 0.375, "emo_low": 0.1875, "rnd_high": (0.25, 0.25)},
}
# delta (target projection, steered - unsteered) at the protocol strength 0.05.
DELTA = {
    (BASE, "up"): {"emo_high": 1.5, "rnd_high": (0.25, -0.0625), "emo_low": 0.5, "induction": 0.75},
    (BASE, "down"): {"emo_high": -0.5, "rnd_high": (0.125, 0.0), "emo_low": -0.125, "induction": -0.25},
    (INST, "up"): {"emo_high": 3.0, "rnd_high": (0.5, 0.25), "emo_low": 1.0, "induction": 0.5},
    (INST, "down"): {"emo_high": -0.25, "rnd_high": (-0.125, 0.0), "emo_low": -0.0625, "induction": None},
}
# (n_gen_tokens, nll_sum) of the emotion rows; every other row has (10, 15.0).
TOKENS = {
    (BASE, "up"): {"emo_low": (10, 20.0), "emo_high": (20, 60.0)},
    (BASE, "down"): {"emo_low": (30, 40.0), "emo_high": (20, 100.0)},
    (INST, "up"): {"emo_low": (10, 10.0), "emo_high": (10, 12.0)},
    (INST, "down"): {"emo_low": (10, 10.0), "emo_high": (10, 12.0)},
}
DISTINCT2_HIGH = {(BASE, "up"): 0.75, (BASE, "down"): 0.625, (INST, "up"): 0.875, (INST, "down"): 0.75}
REPEAT_HIGH = {(BASE, "up"): 3, (BASE, "down"): 5, (INST, "up"): 2, (INST, "down"): 2}
# leaked tokens: (model, scenario, condition key, random index) -> tokens
LEAKS = {(BASE, "up", "emo_high", None): ["快", "乐", "快"], (BASE, "down", "emo_high", None): ["é"],
         (INST, "up", "rnd_high", 0): ["xЖ"]}


def steering_row(model: str, scenario: str, condition: str, magnitude: float, key: str | None, r: int | None) -> dict:
    index, emotion, direction, _, _ = SCENARIOS[scenario]
    strength = direction * magnitude if condition in ("emotion", "random") else 0.0
    p = U if key is None else P[(model, scenario)][key]
    delta = 0.0 if key is None else DELTA[(model, scenario)].get(key, 0.0)
    if r is not None:
        p = p[r] if isinstance(p, tuple) else p
        delta = delta[r] if isinstance(delta, tuple) else delta
    n_tok, nll = TOKENS[(model, scenario)].get(key, (10, 15.0)) if key else (10, 15.0)
    empty = condition == "induction" and delta is None
    if empty:
        n_tok, nll = 0, 0.0
    leaked = LEAKS.get((model, scenario, key, r), [])
    n_script = 0 if empty else 100
    cjk = sum(1 for t in leaked for ch in t if 0x4E00 <= ord(ch) <= 0x9FFF)
    high = key == "emo_high"
    rid = f"{model}:{scenario}:{condition}:{magnitude:g}:{'' if r is None else r}:0"
    return {
        "id": rid, "model": model, "scenario": scenario, "scenario_index": index, "emotion": emotion,
        "direction": direction, "condition": condition, "strength": strength, "magnitude": abs(strength),
        "is_protocol": condition in ("emotion", "random") and magnitude == HIGH, "random_index": r, "sample": 0,
        "n_prompt_tokens": 12, "n_gen_tokens": n_tok, "nll_sum": nll,
        "ppl": None if empty else math.exp(nll / n_tok), "distinct_1": None if empty else 0.8,
        "distinct_2": None if empty else (DISTINCT2_HIGH[(model, scenario)] if high else 0.9),
        "longest_repeat": REPEAT_HIGH[(model, scenario)] if high else 1, "n_script_chars": n_script,
        "n_foreign_chars": len(leaked), "leak_share": None if empty else len(leaked) / n_script,
        "cjk_share": None if empty else cjk / n_script, "leaked_tokens": json.dumps(leaked, ensure_ascii=False),
        "projection": None if empty else 2.0 + delta, "projection_text": None if empty else 1.0 + delta,
        "delta": None if empty else delta, "delta_text": None if empty else delta / 2,
        "_p": p,
    }


def steering_rows(model: str) -> list[dict]:
    out = []
    for scenario in SCENARIOS:
        out.append(steering_row(model, scenario, "unsteered", 0.0, None, None))
        out.append(steering_row(model, scenario, "induction", 0.0, "induction", None))
        out.append(steering_row(model, scenario, "emotion", LOW, "emo_low", None))
        out.append(steering_row(model, scenario, "emotion", HIGH, "emo_high", None))
        for r in (0, 1):
            out.append(steering_row(model, scenario, "random", LOW, "rnd_low", r))
            out.append(steering_row(model, scenario, "random", HIGH, "rnd_high", r))
    return out


def _fill_missing_keys() -> None:
    # Random rows at the low strength move nothing: p_target at the unsteered level, delta 0.
    for key in P:
        P[key].setdefault("rnd_low", (U, U))
        DELTA[key].setdefault("rnd_low", (0.0, 0.0))


_fill_missing_keys()


def norms_row(model: str, layer: int, reference: str = "prompt_mean_norm") -> dict:
    """A planted norms.csv row: the reference is 5 (layer + 1) typical-token norms."""
    return {"model": model, "layer": layer, "norm_reference": reference, "n_prompts": len(SCENARIOS),
            "reference_norm": 10.0 * (layer + 1), "typical_norm": 2.0, "first_token_norm": 50.0,
            "ratio_mean": 5.0 * (layer + 1), "ratio_min": 4.0 * (layer + 1), "ratio_max": 6.0 * (layer + 1)}


def write_steering_outputs(root: Path) -> dict[str, Path]:
    steer, classify = root / "steering", root / "classify"
    classify.mkdir(parents=True)
    for model in (BASE, INST):
        rows = steering_rows(model)
        d = steer / model
        d.mkdir(parents=True)
        df = pd.DataFrame(rows)
        write_csv(d / "measures.csv", STEERING_MEASURES, [{c: r[c] for c in STEERING_MEASURES.names} for r in rows])
        summary = {
            "model": model,
            "scenarios": [{"name": n, "emotion": e, "prompt": f"A {n} prompt.", "strength": s * HIGH, "direction": s}
                          for n, (_, e, s, _, _) in SCENARIOS.items()],
            "strengths": [LOW, HIGH], "layers": [0, 1, 2, 3], "norm_reference": "prompt_mean_norm",
            "projection_layer": 2, "vectors_from": f"{model}__toy-generation", "n_random": 2, "n_samples": 1,
            "decoding": {"do_sample": False, "max_new_tokens": 48}, "scoring_model": "self",
            "n_rows": len(rows), "n_empty": int((df["n_gen_tokens"] == 0).sum()),
            "source": f"toy/{model}", "revision": None, "dtype": "float32", "scenario_source": "builtin",
            "scenario_path": None, "scenario_format": None, "vectors_baseline": "neutral_mean",
            "vectors_pooling": "mean", "prompt_format": "plain", "seed": 0, "dataset_norms": None,
            "mean_addition_norm": {"emotion": 1.0, "random": 1.0},
        }
        write_json(d / "summary.json", STEERING_SUMMARY, summary)  # the steering stage's writer
        write_csv(d / "norms.csv", STEERING_NORMS, [norms_row(model, layer) for layer in summary["layers"]])
        cls = []
        for r in rows:  # long form: the toy_lexicon block, then the vader block
            label = SCENARIOS[r["scenario"]][3]
            rest = (1.0 - r["_p"]) / (len(EKMAN7) - 1)
            probs = {lab: (r["_p"] if lab == label else rest) for lab in EKMAN7}
            cls.append({"id": r["id"], "classifier": "toy_lexicon", "display_name": TOY, "target_label": label,
                        "p_target": r["_p"], "n_hits": 5, "scores": json.dumps(probs)})
        for r in rows:
            label, x = SCENARIOS[r["scenario"]][4], 1.0 - 2.0 * r["_p"]
            scores = {"valence_positive": x, "valence_negative": -x} if label == "valence_positive" else \
                {"valence_positive": -x, "valence_negative": x}
            cls.append({"id": r["id"], "classifier": "vader", "display_name": VADER, "target_label": label,
                        "p_target": x, "n_hits": 0 if r["condition"] == "unsteered" else 2,
                        "scores": json.dumps(scores)})
        write_csv(classify / f"{model}.csv", CLASSIFY_SCORES, cls)
    return {"steering": steer, "classify": classify}


def steering_inputs(spec, data, separation) -> PaperInputs:
    """The paper inputs of a run with only these steered models, their analyses computed in memory."""
    steering = SteeringInputs(spec=spec, data=data, separation=separation) if spec.models else None
    return with_analyses(PaperInputs(steering=steering))


def build_steering_tables(spec, data, separation) -> dict[str, str]:
    """The registered steering tables of a run with only these steered models ({} without models)."""
    return build_tables(steering_inputs(spec, data, separation))


def steering_figures(spec, data) -> dict[str, bytes]:
    """The steering figures, drawn from the ``dose_response`` analysis of these models ({} without)."""
    return build_steering_figures(spec, steering_inputs(spec, data, {}).analyses.get("dose_response"))


def load_steering_outputs(inp: dict[str, Path], raw: dict | None = None):
    spec = load_steering_spec(RAW_SPEC if raw is None else raw, DIGITS, "paper.yaml: steering")
    return spec, load_steering(spec, inp["steering"], inp["classify"])


SEPARATION = {(BASE, "generation"): 0.25, (INST, "generation"): 0.1875}
