"""Every number a table, figure, claim or finding shows, computed once from the tracked outputs.

The analyses stage runs the catalogue (``catalogue``, ``catalogue_steering``: one ``Analysis``
per ``build/analyses/<name>.json``) and writes each result as a typed record (``json_records``:
dataclasses read back bit for bit). The statistics are plain functions over the loaded inputs
(``separation``, ``gen_vs_comp``, ``steering``, ``agreement``, ``dose_response``, ...): no
LaTeX, no file layout. ``emovec.report`` renders these records and ``emovec.ledgers`` judges
them; neither recomputes them.
"""
