"""Corpora: the upstream data manifest and the loaders that turn upstream files into texts."""
