"""The statistics the findings ledger (``paper/findings.yaml``) tests the papers' general claims
with, one registered function each, read from tracked outputs only.

A statistic is ``fn(ctx, args) -> list[Outcome]``: one outcome per subject it applies to (a model,
a model's cell, or a pair of models), each an :class:`Estimate` (value, CI, n, unit of analysis)
or a reason it cannot be computed. Which subjects a claim applies to (e.g. only instruct models)
is the ledger's business (:mod:`emovec.ledgers.findings`); a statistic reports every subject the
run has.

This module is the catalogue: every statistic module is imported here, once, so that importing
it registers them all. A new statistic is one function in the module of its study, registered
with :func:`register_statistic`.
"""

from __future__ import annotations

# The study modules register their statistics when imported.
from emovec.ledgers import finding_stats_rsa, finding_stats_separation, finding_stats_steering, finding_stats_valence  # noqa: F401
from emovec.ledgers.finding_core import (
                          FINDING_STATISTICS,
                          Estimate,
                          FindingsContext,
                          Outcome,
                          Subject,
                          register_statistic,
)

__all__ = ["FINDING_STATISTICS", "Estimate", "FindingsContext", "Outcome", "Subject", "register_statistic"]
