"""recoverctl: recovery runbooks as code.

The package is laid out along the data flow: load → validate → compile →
engine (events) → present / journal / reports. Lint and export read only the
model and the plan.
"""

__version__ = "0.1.0"
