"""Paper outputs: LaTeX tables, figures and the claims table, rendered only from tracked pipeline
outputs.

Layers, each importing only the ones above it:

- ``loaders/``: read and check the inputs: the paper config (``spec``) and each experiment's
  outputs (``separation``, ``valence``, ``steering``, ``classify``), gathered by ``inputs``;
- ``results/``: the statistics the tables show (tests, CIs, corrections), as typed results or
  DataFrames, no LaTeX;
- ``latex``: escaping, number formats and table layout shared by every table;
- ``table_defs/``: one module per table (``build(inputs) -> str``), registered in ``tables``
  (a ``registry.TableRegistry``); figures in ``figures``, ``valence_figures``,
  ``steering_figures`` (style: ``figure_style``, parallel rendering: ``render``);
- ``outputs`` (the paper stage's work) and ``claims`` (the claims stage's: ledger in
  ``claim_ledger``, measures in ``claim_measures_*``, rendering in ``claims_table``);
  ``provenance`` stamps every table, ``document`` builds the PDF.
"""
