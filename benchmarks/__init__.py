"""Benchmarks: `python -m benchmarks.run` (make bench) measures the receiver end to end against its ceiling."""
