"""Present: turn diagnostics, plans and run events into text for people and machines.

The model, compiler and engine never import rich; only this package does,
and only on paths that draw something.
"""
