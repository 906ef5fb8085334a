"""The rules, one module each with its doc beside it (same name, .md)."""
