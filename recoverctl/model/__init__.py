"""The runbook model: frozen values that every later stage reads.

Nothing downstream of `recoverctl.validate.build` touches raw YAML data.
"""
