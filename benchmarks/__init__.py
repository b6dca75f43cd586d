"""Benchmarks: ``python -m benchmarks`` (``make bench``) prints one table of figures and goals."""
