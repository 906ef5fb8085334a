"""Expressions and templates: Jinja2's sandbox, strict about unknown names.

`when:` conditions are expressions (no braces); strings elsewhere are
templates with `{{ … }}`. Values rendered into a shell command are quoted, so
a parameter or an output can never inject shell syntax.
"""
