"""Benchmarks run by `make bench` (`python -m benchmarks`); never part of the test suite."""
