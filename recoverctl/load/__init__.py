"""Load: bytes on disk → plain data plus a source map of positions.

The YAML loader is imported on first use, not with the package: `recoverctl.load.stdin`
is read at start-up by every command, and `--version` must not pay for PyYAML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recoverctl.load.yaml_loader import LoadedDocument, load_file, load_text

__all__ = ["LoadedDocument", "load_file", "load_text"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from recoverctl.load import yaml_loader

        return getattr(yaml_loader, name)
    raise AttributeError(f"module 'recoverctl.load' has no attribute {name!r}")
