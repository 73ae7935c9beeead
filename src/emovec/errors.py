"""One exception type for every bad input, so a stage can print one clear line and exit."""

from __future__ import annotations


class EmovecInputError(ValueError):
    """A bad input (file, row, key, name or value) found before any expensive work.

    The message always names the offending file/row/key so the user can fix it directly.
    """
