"""Commands staff run against a deployment (python -m bot ...): retention, review."""
