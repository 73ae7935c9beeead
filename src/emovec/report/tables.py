"""Every table of the paper, registered in one place.

A new table is one module in ``emovec.report.table_defs`` exposing ``build(inputs) -> str``
plus one ``TABLES.register`` line here (its file name and experiment). Tables are built in
this order, those of an experiment only when the run has its outputs.
"""

from __future__ import annotations

from emovec.readers.paper_inputs import PaperInputs
from emovec.report.registry import TableRegistry
from emovec.report.table_defs import (
    anisotropy,
    gen_vs_comp,
    layer_sweep,
    norm_coverage,
    rlhf_deltas,
    rlhf_separation,
    script_leakage,
    separation_by_model,
    steering_agreement,
    steering_deltas,
    steering_norm_scale,
    steering_regimes,
    valence_arousal,
    valence_by_corpus,
    valence_identification,
    valence_projection,
)

__all__ = ["TABLES", "build_tables"]

TABLES = TableRegistry()
# Separation (Jeong 2026, Tables 2-3 and §4.2)
TABLES.register("separation_by_model.tex", "separation", separation_by_model.build)
TABLES.register("layer_sweep.tex", "separation", layer_sweep.build)
TABLES.register("anisotropy.tex", "separation", anisotropy.build)
TABLES.register("rlhf_separation.tex", "separation", rlhf_separation.build)
TABLES.register("gen_vs_comp.tex", "separation", gen_vs_comp.build)
# Valence and arousal (van der Ben et al. 2026)
TABLES.register("valence_arousal.tex", "valence", valence_arousal.build)
TABLES.register("valence_by_corpus.tex", "valence", valence_by_corpus.build)
TABLES.register("valence_identification.tex", "valence", valence_identification.build)
TABLES.register("valence_projection.tex", "valence", valence_projection.build)
TABLES.register("norm_coverage.tex", "valence", norm_coverage.build)
# Steering (Jeong 2026, §5-6)
TABLES.register("steering_deltas.tex", "steering", steering_deltas.build)
TABLES.register("steering_regimes.tex", "steering", steering_regimes.build)
TABLES.register("steering_norm_scale.tex", "steering", steering_norm_scale.build)
TABLES.register("steering_agreement.tex", "steering", steering_agreement.build)
TABLES.register("rlhf_deltas.tex", "steering", rlhf_deltas.build)
TABLES.register("script_leakage.tex", "steering", script_leakage.build)


def build_tables(inputs: PaperInputs) -> dict[str, str]:
    """{file name: LaTeX text} of every registered table the run has outputs for, in order."""
    return TABLES.build_all(inputs)
