"""Benchmarks (not tests): `python -m bench.run_all` runs them all; see docs/benchmarks.md."""
