"""Load test and benchmark tooling for the FAQ assistant.

Everything here talks to Rasa the way a clinic system would (HTTP) or reads what Rasa
wrote (the SQLite tracker store, the trained model file), so it measures the assistant
as deployed instead of reaching into its internals. `scripts/loadtest.py` and
`scripts/bench.py` are the command-line entry points (`make load`, `make bench`).
"""
