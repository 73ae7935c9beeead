"""Configs: the typed schema of one composed cell (``schema``) and its checks (``checks``), the
composition of a whole run from ``conf/selection.yaml`` (``selection``, ``cells``), and the one
typed reader of the composed paper config ``build/config/paper.yaml`` (``paper_spec``, with its
parts ``paper_separation``, ``paper_valence`` and ``paper_steering``; value checks in ``values``).
"""
