"""Benchmarks: `make bench` prints a table of figures and writes them to bench/results/latest.json.

Figures, never pass/fail: each goal is printed beside its measurement.
"""
