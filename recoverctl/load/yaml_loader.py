"""Safe YAML loading with a position for every node.

PyYAML composes the node tree (libyaml's C parser when present, for speed);
we then build plain JSON-like data from it ourselves, because that single
walk is where the guarantees live:

* only the YAML core tags are accepted: a `!!python/...` tag (or any custom
  tag) is an error and nothing is ever constructed from it;
* a duplicate key is an error naming both positions (PyYAML keeps the last);
* mapping keys stay the text the user wrote (`on:` stays "on", not True);
* alias expansion is bounded, so an alias bomb is refused in milliseconds;
* every value's and every key's span goes into a side table, not the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from recoverctl.errors import RecoverctlError
from recoverctl.load import stdin
from recoverctl.model.source import Diagnostic, JsonPath, SourceMap, Span

MAX_FILE_BYTES = stdin.MAX_FILE_BYTES

_BASE_NODE_BUDGET = 10_000
"""Nodes that aliases may add on top of what the text itself holds."""

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {"str", "int", "float", "bool", "null", "timestamp"}
_YAML11_BOOL_WORDS = re.compile(r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")

Loader: type[yaml.SafeLoader]
try:
    Loader = yaml.CSafeLoader  # type: ignore[assignment,unused-ignore]
except AttributeError:  # pragma: no cover - libyaml missing: the Python parser is fine
    Loader = yaml.SafeLoader


@dataclass(slots=True)
class LoadedDocument:
    """A parsed file: its data, where each piece came from, and its text."""

    path: Path
    text: str
    data: Any
    source_map: SourceMap
    yaml11_booleans: dict[JsonPath, str] = field(default_factory=dict)
    """Paths of booleans written as YAML 1.1 words (yes/no/on/off): lint reads these."""


def load_file(path: Path) -> LoadedDocument:
    """Read and parse `path`; every failure is a positioned `RecoverctlError`."""
    try:
        if stdin.is_stdin(path):
            raw = stdin.read_bytes()
        elif path.is_dir():
            raise _error(path, Span.point(1, 1), f"'{path}' is a directory, expected a file")
        else:
            with path.open("rb") as stream:
                raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise _error(
            path,
            Span.point(1, 1),
            f"no such file: '{path}'",
            hint="check the path; runbooks are usually under runbooks/",
        ) from None
    except OSError as exc:
        raise _error(path, Span.point(1, 1), f"cannot read '{path}': {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise _error(
            path,
            Span.point(1, 1),
            f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; "
            "expected a runbook of a readable size",
        )
    return load_text(_decode(path, raw), path)


def load_text(text: str, path: Path) -> LoadedDocument:
    """Parse YAML `text` (named `path` in messages) into a `LoadedDocument`."""
    try:
        documents = list(yaml.compose_all(text, Loader=Loader))
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(path, exc, text) from None
    except yaml.YAMLError as exc:
        raise _error(path, Span.point(1, 1), f"invalid YAML: {exc}") from None
    except RecursionError:
        raise _error(
            path, Span.point(1, 1), "YAML nesting is too deep; expected a runbook, not a tower"
        ) from None
    if not documents or documents[0] is None:
        raise _error(
            path,
            Span.point(1, 1),
            "the file is empty; expected a runbook mapping with 'version', 'name' and 'steps'",
            hint="start from runbooks/demo.yaml or run `recoverctl schema` for the format",
        )
    if len(documents) > 1:
        second = documents[1]
        where = _start(second) if second is not None else Span.point(1, 1)
        raise _error(
            path,
            where,
            "found a second YAML document; expected one runbook per file",
            hint="remove the '---' separator or split the file",
        )
    builder = _Builder(path, budget=_distinct_nodes(documents[0]) + _BASE_NODE_BUDGET)
    try:
        data = builder.build(documents[0], ())
    except RecursionError:
        raise _error(
            path, Span.point(1, 1), "YAML nesting is too deep; expected a runbook, not a tower"
        ) from None
    return LoadedDocument(path, text, data, builder.source_map, builder.yaml11_booleans)


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _error(
            path,
            Span.point(line, col),
            f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded",
            hint="save the file as UTF-8",
        ) from None


def _distinct_nodes(root: Node) -> int:
    """Nodes the document holds, each counted once however many aliases point at it: the
    expansion budget grows with what is written, not with the file's size in bytes."""
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node.value, list):
            for item in node.value:
                pending.extend(item if isinstance(item, tuple) else (item,))
    return len(seen)


class _Builder:
    """Walks composed nodes once, producing data and the source map."""

    def __init__(self, path: Path, budget: int) -> None:
        self.path = path
        self.budget = budget
        self.count = 0
        self.source_map = SourceMap()
        self.yaml11_booleans: dict[JsonPath, str] = {}
        self.constructor = SafeConstructor()
        self.active: set[int] = set()
        """Collections being built: meeting one again means an alias points into itself."""

    def build(self, node: Node, path: JsonPath) -> Any:
        self.count += 1
        if self.count > self.budget:
            raise _error(
                self.path,
                _start(node),
                "YAML aliases expand to too many nodes (an alias bomb?); "
                "expected a runbook whose anchors are reused a reasonable number of times",
                hint="inline the repeated blocks or use fewer nested aliases",
            )
        self.source_map.values[path] = _span(node)
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self.active:
            raise _error(
                self.path,
                _start(node),
                "a YAML alias refers to a collection that contains it; expected a finite document",
                hint="an alias (*name) cannot be used inside its own anchor (&name)",
            )
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            self._check_tag(node, "seq")
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: MappingNode, path: JsonPath) -> dict[str, Any]:
        self._check_tag(node, "map")
        result: dict[str, Any] = {}
        first_seen: dict[str, Span] = {}
        merged: list[tuple[str, Node, Span]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merged.extend(self._merge_sources(value_node))
                continue
            if not isinstance(key_node, ScalarNode):
                raise _error(
                    self.path,
                    _start(key_node),
                    "found a mapping or list used as a key; expected a plain name",
                )
            key = str(key_node.value)
            key_span = _span(key_node)
            if key in first_seen:
                previous = first_seen[key]
                raise _error(
                    self.path,
                    key_span,
                    f"duplicate key '{key}' (previously defined at {previous}); "
                    "expected each key once per mapping",
                    hint="YAML would silently keep only the last one: remove or merge them",
                )
            first_seen[key] = key_span
            self.source_map.keys[(*path, key)] = key_span
            result[key] = self.build(value_node, (*path, key))
        for key, value_node, key_span in merged:
            if key not in result:  # explicit keys win over merged ones, as in YAML
                self.source_map.keys[(*path, key)] = key_span
                result[key] = self.build(value_node, (*path, key))
        return result

    def _merge_sources(self, value: Node) -> list[tuple[str, Node, Span]]:
        sources = value.value if isinstance(value, SequenceNode) else [value]
        pairs: list[tuple[str, Node, Span]] = []
        for source in sources:
            if not isinstance(source, MappingNode):
                raise _error(
                    self.path,
                    _start(source),
                    "a '<<' merge key takes a mapping or a list of mappings",
                )
            for key_node, value_node in source.value:
                pairs.append((str(key_node.value), value_node, _span(key_node)))
        return pairs

    def _scalar(self, node: ScalarNode, path: JsonPath) -> Any:
        kind = node.tag.removeprefix(_TAG) if node.tag.startswith(_TAG) else None
        if kind not in _SCALAR_TAGS:
            self._check_tag(node, "str")
        if kind == "timestamp" or kind is None:
            return str(node.value)  # a date is text to us; JSON has no date type
        if kind == "bool" and _YAML11_BOOL_WORDS.match(node.value):
            self.yaml11_booleans[path] = node.value
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise _error(self.path, _span(node), f"invalid scalar: {exc}") from None

    def _check_tag(self, node: Node, expected: str) -> None:
        if node.tag == _TAG + expected:
            return
        tag = node.tag
        if tag.startswith((_TAG + "python/", "!!python")):
            message = (
                f"refusing the unsafe tag '{tag.replace(_TAG, '!!')}': "
                "runbooks are data, Python objects are never constructed"
            )
        else:
            message = (
                f"unsupported YAML tag '{tag.replace(_TAG, '!!')}'; "
                "expected plain strings, numbers, booleans, lists and mappings"
            )
        raise _error(self.path, _start(node), message, hint="remove the tag")


def _span(node: Node) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _start(node: Node) -> Span:
    mark = node.start_mark
    return Span.point(mark.line + 1, mark.column + 1)


def _yaml_error(path: Path, exc: yaml.MarkedYAMLError, text: str) -> RecoverctlError:
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark is not None and "end of stream" in (exc.problem or ""):
        mark = exc.context_mark  # where the unclosed thing began is what needs fixing
    span = Span.point(mark.line + 1, mark.column + 1) if mark else Span.point(1, 1)
    problem = exc.problem or "invalid YAML"
    message = f"invalid YAML: {problem}"
    if exc.context:
        message += f" ({exc.context}"
        if exc.context_mark and exc.context_mark is not mark and exc.context_mark != mark:
            message += f" at {exc.context_mark.line + 1}:{exc.context_mark.column + 1}"
        message += ")"
    hint = None
    found = text[mark.index] if mark is not None and 0 <= mark.index < len(text) else ""
    if found == "\t" or "'\\t'" in problem or "tab" in problem:
        hint = "YAML indentation must use spaces, not tabs"
    elif "mapping values are not allowed" in problem:
        hint = "a value containing ': ' must be quoted, or the indentation is off"
    elif "quoted scalar" in (exc.context or ""):
        hint = "the quoted string that starts here is never closed"
    elif "found undefined alias" in problem:
        hint = "define the anchor (&name) before using the alias (*name)"
    return _error(path, span, message, hint=hint)


def _error(path: Path, span: Span, message: str, *, hint: str | None = None) -> RecoverctlError:
    return RecoverctlError([Diagnostic(path, span, message, "yaml", hint=hint)])
