"""Composition of a run: ``conf/selection.yaml`` -> one resolved slice per stage and cell
(``selection``), each cell composed by Hydra, checked against the schema and every registry
(``cells``). It stands above the libraries because it names their registries' entries.
"""
