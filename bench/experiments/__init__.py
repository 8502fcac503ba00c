"""Measurement-only Rasa patches for the tuning experiments in docs/benchmarks.md."""
