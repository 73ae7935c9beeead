"""The findings stage's outputs: every general claim's verdict per subject, and the cross-model
geometry it rests on, written together (all or nothing) to one directory:

* ``findings.tex`` / ``findings.json``: the ledger's claims, one row per claim x subject
  (:mod:`emovec.ledgers.findings`); ``findings_forest.png``: the estimates and CIs.
* ``rsa.tex`` / ``rsa.json``: every model pair of every corpus at every depth
  (:mod:`emovec.geometry.rsa_study`); ``rsa_heatmap.png``: the cosine matrices compared.
* ``provenance.json``: the run's provenance record (``make verify`` regenerates under it).

JSON floats are written with ``repr`` (NaN as ``NaN``), so every number in a table can be checked
against the record it was formatted from.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

from emovec.geometry.rsa_study import RSACell, cosine_matrices, rsa_rows
from emovec.io import atomic_path
from emovec.ledgers.finding_statistics import FindingsContext
from emovec.ledgers.findings import FindingRow, evaluate_findings, load_findings, load_rsa_settings
from emovec.readers.paper_config import load_paper_config
from emovec.report.findings_render import findings_forest_png, findings_table, rsa_heatmap_png, rsa_table
from emovec.report.provenance import git_revision, provenance_line, provenance_record

__all__ = ["finding_record", "write_findings"]


def finding_record(row: FindingRow) -> dict[str, Any]:
    """One row of ``findings.json``: the claim, the subject, the verdict and the estimate (or null)."""
    f = row.finding
    return {"id": f.id, "paper": f.paper, "section": f.section, "claim": f.claim, "statistic": f.statistic,
            "args": dict(f.args), "rule": f.rule, "rule_text": f.rule_text, "subject": row.subject,
            "verdict": row.verdict, "reason": row.reason,
            "estimate": None if row.estimate is None else dataclasses.asdict(row.estimate)}


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True) + "\n"


def write_findings(config: str | Path, ledger: str | Path, separation_dir: str | Path, analyses_dir: str | Path,
                   valence_dir: str | Path, vectors_dir: str | Path, out: str | Path, digits: int | None = None) -> str:
    """Evaluate the findings ledger on this run's outputs and write ``out`` (see the module
    docstring). A malformed ledger or output raises ``EmovecInputError`` before anything is written.
    Returns a one-line summary (verdict counts) for the stage to print."""
    paper = load_paper_config(config)
    # The families applies.family may name: recorded by compose from conf/model (so a comment in a
    # model config re-runs compose only); a paper config without them falls back to conf/model.
    findings, settings = load_findings(ledger, paper.model_families), load_rsa_settings(ledger)
    cells = [RSACell(model=c.model, corpus=c.corpus, family=c.family, variant=c.variant, n_layers=c.n_layers,
                     layer=c.layer) for c in paper.separation.cells]
    rsa = rsa_rows(cells, Path(vectors_dir), settings)
    ctx = FindingsContext(paper=paper, separation_dir=Path(separation_dir), analyses_dir=Path(analyses_dir),
                          valence_dir=Path(valence_dir), rsa_rows=rsa)
    rows = evaluate_findings(findings, ctx)
    dg = int(digits if digits is not None else paper.digits)
    record = provenance_record(paper.provenance, git_revision())
    line = provenance_line(record)
    findings_tex = findings_table(rows, dg).replace("\\end{longtable}", f"\\multicolumn{{5}}{{p{{0.95\\linewidth}}}}"
                                                    f"{{\\footnotesize {line}}} \\\\\n\\end{{longtable}}")
    with atomic_path(out) as tmp:
        tmp.mkdir()
        (tmp / "findings.tex").write_text(findings_tex, encoding="utf-8")
        (tmp / "findings.json").write_text(_json([finding_record(r) for r in rows]), encoding="utf-8")
        (tmp / "rsa.json").write_text(_json({"settings": dataclasses.asdict(settings), "rows": rsa}), encoding="utf-8")
        if any(r.estimate is not None for r in rows):
            (tmp / "findings_forest.png").write_bytes(findings_forest_png(rows))
        if cells:
            tex = rsa_table(rsa, dg)
            i = tex.rfind("\\end{table}")
            (tmp / "rsa.tex").write_text(tex[:i] + f"\\par\\smallskip{{\\footnotesize {line}\\par}}\n" + tex[i:],
                                         encoding="utf-8")
            (tmp / "rsa_heatmap.png").write_bytes(rsa_heatmap_png(cosine_matrices(cells, Path(vectors_dir))))
        (tmp / "provenance.json").write_text(_json(record), encoding="utf-8")
    counts = Counter(r.verdict for r in rows)
    return (f"findings: {len(findings)} claims, {len(rows)} verdicts -> {out} ("
            + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) + f"); RSA: {len(rsa)} comparisons")
