"""LaTeX tables, figures and the PDF, rendered from the tracked outputs and the analyses' records.

``latex`` holds escaping, number formats and table layout; ``table_defs/`` one module per
table, registered in ``tables``; figures in ``separation_figures``, ``valence_figures`` and
``steering_figures`` (style: ``figure_style``, parallel rendering: ``render``); ``outputs`` is
the paper stage's work, ``claims_table`` and ``findings_render`` the ledgers' tables;
``provenance`` stamps every table and ``document`` builds the PDF. Rendering only renders: each
number shown comes from ``emovec.analysis`` or a ledger.
"""
