"""Harnesses the tests (and the benchmarks) share."""
