"""The statistics the paper's tables report, computed from loaded inputs by plain functions that
return typed results or DataFrames (no LaTeX here; ``emovec.paper.table_defs`` formats them).
"""
