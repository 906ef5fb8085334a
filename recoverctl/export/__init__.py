"""Exports that read only the compiled plan: diagrams (graph) and other engines' workflows."""
