"""One exception type for every bad input, so a stage can print one clear line and exit."""

from __future__ import annotations


class EmovecInputError(ValueError):
    """A bad input (file, row, key, name or value) found before any expensive work.

    The message always names the offending file/row/key so the user can fix it directly.
    """


def is_out_of_memory(exc: BaseException) -> bool:
    """True for an allocation failure: CUDA's ``torch.cuda.OutOfMemoryError`` (a RuntimeError
    saying "out of memory"), or the CPU allocator's "can't allocate memory"."""
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in msg or "can't allocate memory" in msg)
