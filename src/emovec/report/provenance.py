"""The provenance line every generated table carries: which code, which configs, which weights.

A reviewer holding one table should be able to say what produced it: the git revision of the
code (``+dirty`` when src/, conf/, dvc.yaml, pyproject.toml or the claims ledger differed from
it), a hash of every composed config slice (build/config), the models with their weight
source, revision and precision, and the value of each method axis across the run.

The git revision is read when the paper stage runs. ``EMOVEC_GIT_REVISION`` overrides it:
``make verify`` regenerates the tables under the revision the tracked tables recorded (in
``provenance.json`` beside them), so a commit made after the run does not by itself break
byte-identity; whether the code still matches is what dvc.lock's dependency hashes check.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emovec.errors import EmovecInputError
from emovec.report.latex import latex_escape

__all__ = ["GIT_PATHS", "add_provenance", "git_revision", "provenance_line", "provenance_record"]

# What "dirty" means: a change in these paths changes what the pipeline computes or reports.
GIT_PATHS = ("src", "conf", "dvc.yaml", "pyproject.toml", "paper/claims.yaml")
ENV_OVERRIDE = "EMOVEC_GIT_REVISION"


def git_revision(repo_dir: str | Path = ".") -> str:
    """Short HEAD commit, ``+dirty`` if a tracked file under ``GIT_PATHS`` differs from it.

    Returns ``unknown (no git checkout)`` outside a git work tree (e.g. an unpacked archive).
    """
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        return override
    try:
        rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo_dir, capture_output=True,
                             text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *GIT_PATHS],
                                cwd=repo_dir, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git checkout)"
    return rev + ("+dirty" if status else "")


def provenance_record(prov: Mapping[str, Any], git: str) -> dict[str, Any]:
    """The provenance as data (written beside the tables as provenance.json)."""
    for key in ("config_hash", "models", "axes"):
        if key not in prov:
            raise EmovecInputError(f"paper config provenance lacks key {key!r}; re-run the compose stage")
    return {"git_revision": git, "config_hash": str(prov["config_hash"]), "models": list(prov["models"]),
            "axes": dict(prov["axes"])}


def provenance_line(record: Mapping[str, Any]) -> str:
    """One LaTeX-escaped sentence: ``Provenance: git ...; config sha256 ...; models ...; axes ...``."""
    axes = "; ".join(f"{k}: {v}" for k, v in sorted(record["axes"].items()))
    text = (f"Provenance: emovec git {record['git_revision']}; config sha256 {str(record['config_hash'])[:16]}; "
            f"models: {', '.join(record['models']) or 'none'}; axes: {axes}.")
    return latex_escape(text)


def add_provenance(table_tex: str, line: str, where: str) -> str:
    """Insert the provenance footnote just before the table's last ``\\end{table}``.

    Raises:
        EmovecInputError: the text has no ``\\end{table}`` (names ``where``).
    """
    marker = "\\end{table}"
    i = table_tex.rfind(marker)
    if i < 0:
        raise EmovecInputError(f"{where}: no \\end{{table}} to attach the provenance line to")
    note = f"\\par\\smallskip{{\\footnotesize {line}\\par}}\n"
    return table_tex[:i] + note + table_tex[i:]
