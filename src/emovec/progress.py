"""Whether long work shows progress bars (on by default; EMOVEC_PROGRESS=0 silences them)."""

from __future__ import annotations

import os


def progress_enabled() -> bool:
    """Progress bars on by default; EMOVEC_PROGRESS=0 silences them (e.g. in tests)."""
    return os.environ.get("EMOVEC_PROGRESS", "1") != "0"
