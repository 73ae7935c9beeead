"""Pure statistics: arrays in, numbers out; no config, no files.

``multiple``: multiple-comparison corrections, permutation and max-statistic p-values,
percentile intervals. ``cka``: linear and debiased linear centred kernel alignment.
"""
