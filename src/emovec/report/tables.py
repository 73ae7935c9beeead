"""Every table of the paper: each module of :mod:`emovec.report.table_defs` registers its own
``build`` with ``@register_table`` (:mod:`emovec.report.registry`), and importing this module
imports them all, in file-name order. A new table is one module there (plus its test): no list
to edit. ``emovec.code_deps`` knows this module imports the whole package (``DISCOVERS``), so a
stage that builds tables depends on every table module.
"""

from __future__ import annotations

import importlib
import pkgutil

from emovec.readers.paper_inputs import PaperInputs
from emovec.report import table_defs
from emovec.report.registry import TABLES

__all__ = ["TABLES", "build_tables", "table_modules"]


def table_modules() -> tuple[str, ...]:
    """The modules of ``emovec.report.table_defs``, sorted by name."""
    return tuple(sorted(f"{table_defs.__name__}.{m.name}" for m in pkgutil.iter_modules(table_defs.__path__)))


for _module in table_modules():
    importlib.import_module(_module)


def build_tables(inputs: PaperInputs) -> dict[str, str]:
    """{file name: LaTeX text} of every registered table the run has outputs for, in order."""
    return TABLES.build_all(inputs)
