"""Per-strength statistics of the emotion-vector generations, the numbers the claims ledger
reads at a named strength: token-weighted perplexity per magnitude (and the largest single
perplexity), and the mean classifier score per label, magnitude and scenario. No LaTeX here.

Magnitudes are grouped by ``magnitude_key`` (9 significant digits: float noise from CSV round
trips merges, distinct strengths never do), ascending.
"""

from __future__ import annotations

import pandas as pd

from emovec.analysis.steering import token_weighted_ppl
from emovec.analysis.steering_records import LabelMeans, ModelPPL, StrengthPPL
from emovec.readers.paper_steering import ClassifierSpec
from emovec.readers.steering import SteeringData, magnitude_key

__all__ = ["emotion_rows_by_magnitude", "label_means", "ppl_by_strength"]


def emotion_rows_by_magnitude(frame: pd.DataFrame) -> list[tuple[float, pd.DataFrame]]:
    """The emotion-vector rows of ``frame`` (measures, or one classifier's scores) per magnitude:
    [(magnitude_key, rows in file order)], magnitudes ascending."""
    rows = frame[frame["condition"] == "emotion"]
    keys = rows["magnitude"].map(magnitude_key)
    return [(float(key), rows[keys == key]) for key in sorted(set(keys))]


def ppl_by_strength(d: SteeringData) -> ModelPPL:
    """One model's ``ModelPPL``: per magnitude, the emotion generations (n), their generated
    tokens and ``token_weighted_ppl``; ``max_ppl``: the largest per-generation ``ppl`` of the
    emotion generations with tokens (any strength; None when there is none)."""
    strengths = []
    for key, part in emotion_rows_by_magnitude(d.measures):
        used = part[part["n_gen_tokens"] > 0]
        strengths.append(StrengthPPL(magnitude=key, n=len(part), n_tokens=int(used["n_gen_tokens"].sum()),
                                     ppl=token_weighted_ppl(part)))
    rows = d.measures[(d.measures["condition"] == "emotion") & (d.measures["n_gen_tokens"] > 0)]
    return ModelPPL(model=d.spec.model, strengths=tuple(strengths),
                    max_ppl=None if rows.empty else float(rows["ppl"].max()))


def label_means(d: SteeringData, classifier: ClassifierSpec) -> list[LabelMeans]:
    """Per magnitude (ascending) and scenario (scenario_index order) that has emotion-vector
    generations: the mean of each ``p_<label>`` score column of ``classifier`` over them
    (pandas mean: NaN-skipping)."""
    out = []
    for key, part in emotion_rows_by_magnitude(d.scores(classifier.name)):
        for scenario in d.scenarios["scenario"]:
            rows = part[part["scenario"] == scenario]
            if rows.empty:
                continue
            out.append(LabelMeans(classifier=classifier.name, model=d.spec.model, magnitude=key,
                                  scenario=str(scenario), n=len(rows),
                                  means=tuple((label, float(rows[f"p_{label}"].mean())) for label in classifier.labels)))
    return out
