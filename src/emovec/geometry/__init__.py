"""Geometry of emotion vectors: separation, nulls and baselines for comparison."""
