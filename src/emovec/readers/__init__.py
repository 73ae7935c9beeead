"""Checked readers of the tracked outputs: the composed paper config (``paper_config``, with its
parts ``paper_separation``, ``paper_valence``, ``paper_steering``: the one typed reader of
``build/config/paper.yaml``), each experiment's outputs (``separation``, ``valence``,
``steering``, ``classify``), cross-checked against each other and the paper config, and gathered
by ``paper_inputs``. Shared CSV/JSON checks: ``checked``. Every reader raises
``EmovecInputError`` naming the file and column/key/row, so a stage stops before writing.
"""
