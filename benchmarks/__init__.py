"""Reproducible benchmarks against peers run on the same machine (see README.md)."""
