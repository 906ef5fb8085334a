"""Load: bytes on disk → plain data plus a source map of positions."""

from recoverctl.load.yaml_loader import LoadedDocument, load_file, load_text

__all__ = ["LoadedDocument", "load_file", "load_text"]
