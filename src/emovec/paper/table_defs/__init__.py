"""The paper's tables, one module per table: each exposes ``build(inputs) -> str`` (registered in
``emovec.paper.tables``) and a typed function taking just what the table needs. Table modules
only format: the statistics come from ``emovec.paper.results``, the LaTeX helpers from
``emovec.paper.latex``, shared caption sentences from the ``*_text`` modules here.
"""
