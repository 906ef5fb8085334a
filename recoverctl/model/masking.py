"""What a secret looks like wherever it is shown: one spelling for every layer."""

from __future__ import annotations

MASK = "***"
"""Stands for a secret value in events, journals, plans and messages."""
