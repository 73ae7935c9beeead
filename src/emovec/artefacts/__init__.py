"""The files stages hand to each other, declared once (``declarations``): every CSV's path
template, row unit, columns, types and units, the per-cell file name (``cell_name``), the JSON
summaries' keys, and the one CSV writer. Writers and readers (:mod:`emovec.readers`) both use
these declarations.
"""
