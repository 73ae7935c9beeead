"""Config schemas: the typed schema of one composed cell (``schema``), the checks a cell must
pass beyond its field types (``checks``), and typed values read from the composed configs
(``values``). Composition itself (``conf/`` -> one slice per stage) is :mod:`emovec.compose`'s.
"""
