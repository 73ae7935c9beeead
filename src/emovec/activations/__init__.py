"""Residual-stream activations: pooling policies and the resumable, all-layer extraction cache."""
