"""Thin pipeline stages: read a resolved config slice, call the library, write DVC outputs atomically."""
