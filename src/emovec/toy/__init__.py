"""Toy models and the synthetic story corpus they are trained on (no downloadable weights needed)."""
