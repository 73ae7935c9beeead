"""How every paper figure is drawn and saved, so that identical inputs give identical PNG bytes.

Figures are drawn on bare ``matplotlib.figure.Figure`` objects with the Agg canvas (no pyplot,
so no global figure registry or backend switching) inside an ``rc_context`` holding a fixed
seaborn style, and saved without the version-dependent "Software" metadata.
"""

from __future__ import annotations

import io

import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["DPI", "figure_style", "png_bytes"]

DPI = 150


def figure_style() -> dict:
    """The rcParams of every figure: seaborn whitegrid/paper, DejaVu Sans, ``DPI``."""
    # A fixed style, independent of whatever rcParams the caller has set.
    rc = {**sns.axes_style("whitegrid"), **sns.plotting_context("paper")}
    rc.update({"font.family": "DejaVu Sans", "savefig.dpi": DPI, "figure.dpi": DPI})
    return rc


def png_bytes(fig: Figure) -> bytes:
    """``fig`` as PNG bytes (tight bounding box, ``DPI``, no "Software" metadata)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()
