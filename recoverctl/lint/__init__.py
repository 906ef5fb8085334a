"""Lint: recovery-safety rules over the model and the plan (never the raw YAML)."""
