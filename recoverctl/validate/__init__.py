"""Validate: data → positioned diagnostics, then (when clean) the model.

`pipeline.check_file` (and `require_valid`) is the one way in for every command: schema errors mapped
back to line:col, semantic checks the schema cannot express, then the
builder that makes the frozen model.
"""
