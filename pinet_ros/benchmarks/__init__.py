"""Benchmarks behind `pinet-ros bench` (figures are printed, never asserted)."""
