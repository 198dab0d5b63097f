"""Benchmarks for saleor-loyalty (see docs/benchmarks.md). Run them with ``make bench`` or ``python bench/run.py``."""
