"""The files stages hand to each other: their declarations (``declarations``: every CSV column,
type and unit, the per-cell path names, the one CSV writer) and their checked readers
(``read``: the shared CSV/JSON checks; ``separation``, ``valence``, ``steering``, ``classify``:
each experiment's outputs cross-checked against each other and the paper config, gathered by
``inputs``). Every reader raises ``EmovecInputError`` naming the file and column/key/row.
"""
