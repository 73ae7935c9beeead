"""The paper's tables, one module per table: each exposes ``build(inputs) -> str`` (registered in
``emovec.report.tables``) and a typed function taking just what the table needs. Table modules
only format: the statistics come from ``emovec.analysis``, the LaTeX helpers from
``emovec.report.latex``, shared caption sentences from the ``*_text`` modules here.
"""
