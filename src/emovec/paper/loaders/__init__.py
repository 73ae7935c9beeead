"""Reading and checking the paper's inputs: the composed paper config (``spec``; its parts read by
``separation_spec``, ``valence_spec`` and ``steering_spec``) and the tracked pipeline outputs of
each experiment (``separation``, ``valence``, ``steering``, ``classify``), gathered by
``inputs.load_paper_inputs``.

Every reader raises ``EmovecInputError`` naming the file (and column/key/row), so a stage
stops before writing anything; nothing here computes a statistic or writes LaTeX.
"""
