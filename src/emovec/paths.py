"""Where things live: the repository, its configs and the package's own data files.

A leaf module (it imports nothing from the package), so any module can ask for a path without
pulling in the config schemas or a registry."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent  # src/emovec
REPO_ROOT = PACKAGE_DIR.parents[1]
CONF_DIR = REPO_ROOT / "conf"
WEIGHTS_DIR = "build/weights"  # model@<m> writes converted packaged weights to WEIGHTS_DIR/<m>


def converted_weights_dir(model_name: str) -> str:
    """Where the model@ stage writes a model's weights converted from a package (repo-relative)."""
    return f"{WEIGHTS_DIR}/{model_name}"
