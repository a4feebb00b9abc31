"""Benchmarks of `make bench`, run as `python -m bench.NAME` from the checkout."""
