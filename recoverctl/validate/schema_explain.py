"""A jsonschema error explained: what was found, what was expected, how to fix it, where.

Descends into `anyOf`/`oneOf` alternatives to the one the user evidently
meant, names the closest key for a typo, and says when YAML read a word as
a boolean.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from recoverctl.load import LoadedDocument
from recoverctl.model.kinds import KINDS
from recoverctl.model.notify import NOTIFY_KINDS
from recoverctl.model.source import Diagnostic, JsonPath, Span
from recoverctl.validate.suggest import did_you_mean, one_of

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

ACTION_KINDS = tuple(KINDS)
GROUP_KINDS = ("parallel", "steps", "branch")

_BOOLEAN_HINT = "YAML reads true/false/yes/no/on/off as booleans; quote the value to make it text"


def describe_value(value: Any) -> str:
    """How a found value reads in a message: `boolean false`, `'5 minutes'`."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"'{shown}'" if value else "an empty string"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


class Explainer:
    def __init__(self, doc: LoadedDocument) -> None:
        self.doc = doc

    def explain(self, error: ValidationError) -> Iterator[Diagnostic]:
        path: JsonPath = tuple(error.absolute_path)
        where = list(error.schema_path)
        if error.validator is None and len(where) >= 3 and where[-3] == "dependencies":
            yield from self._second_kind(error, path)  # "one kind only": a `false` property
            return
        handler = getattr(self, f"_on_{error.validator}", None)
        if handler is not None:
            yield from handler(error, path)
            return
        yield self._diag(path, f"{describe_value(_instance(error))}: {error.message}")

    # -- one method per JSON Schema keyword ------------------------------------

    def _on_additionalProperties(
        self, error: ValidationError, path: JsonPath
    ) -> Iterator[Diagnostic]:
        allowed = sorted(_schema(error).get("properties", {}))
        extras = [key for key in _instance(error) if key not in allowed]
        for key in extras:
            hint = did_you_mean(key, allowed)
            if hint is None and key in ACTION_KINDS + GROUP_KINDS:
                hint = f"'{key}' cannot be used here"
            yield self._diag(
                (*path, key),
                f"unknown key '{key}'{self._where(path)}; expected one of: {', '.join(allowed)}",
                hint=hint,
                key=True,
            )

    def _on_required(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        missing = [k for k in _value(error) if k not in _instance(error)]
        for key in missing:
            yield self._diag(
                path,
                f"missing required key '{key}'{self._where(path)}",
                hint=_required_hint(key),
                start_only=True,
            )

    def _on_oneOf(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        alternatives = _value(error)
        kinds = _required_only(alternatives)
        if kinds is not None:
            yield from self._kind_choice(error, path, kinds)
            return
        yield from self._alternatives(error, path)

    def _on_anyOf(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        kinds = _required_only(_value(error))
        if kinds is not None:  # "at least one of these keys": a step with no action
            yield from self._kind_choice(error, path, kinds)
            return
        yield from self._alternatives(error, path)

    def _on_type(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        expected = _value(error)
        types = [expected] if isinstance(expected, str) else list(expected)
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        hint = None
        if isinstance(_instance(error), bool) and "string" in types:
            hint = _BOOLEAN_HINT
        elif _instance(error) is None:
            hint = "the value is empty: write it after the ':' or remove the key"
        yield self._diag(
            path,
            f"found {describe_value(_instance(error))}{self._where(path)}; expected {words}",
            hint=hint,
        )

    def _on_enum(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        options = _value(error)
        hint = did_you_mean(str(_instance(error)), [str(o) for o in options])
        yield self._diag(
            path,
            f"found {describe_value(_instance(error))}{self._where(path)}; expected {one_of(options)}",
            hint=hint,
        )

    def _on_const(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        if path == ("version",):
            yield self._diag(
                path,
                f"unsupported format version {_instance(error)!r}; expected 1",
                hint="this recoverctl reads version 1 runbooks: `version: 1`",
            )
            return
        yield self._diag(
            path, f"found {describe_value(_instance(error))}; expected {_value(error)!r}"
        )

    def _on_pattern(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        expected = _schema(error).get("x-expected", f"text matching {_value(error)}")
        yield self._diag(
            path,
            f"found {describe_value(_instance(error))}{self._where(path)}; expected {expected}",
        )

    def _on_propertyNames(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        name = str(_instance(error))
        yield self._diag(
            (*path, name),
            f"invalid name '{name}'{self._where(path)}; expected letters, digits and _, "
            "not starting with a digit",
            hint="names are used in expressions such as params.name, so they must be identifiers",
            key=True,
        )

    def _on_minimum(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        hint = None
        if path and path[-1] == "attempts":
            hint = "attempts counts the first try too: 1 means no retry, 3 means two retries"
        yield self._diag(
            path,
            f"found {describe_value(_instance(error))}{self._where(path)}; "
            f"expected at least {_value(error)}",
            hint=hint,
        )

    _on_exclusiveMinimum = _on_minimum

    def _on_maximum(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        yield self._diag(
            path,
            f"found {describe_value(_instance(error))}{self._where(path)}; "
            f"expected at most {_value(error)}",
        )

    def _on_minItems(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        yield self._diag(
            path, f"found an empty list{self._where(path)}; expected at least one item"
        )

    def _on_minLength(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        yield self._diag(path, f"found an empty string{self._where(path)}; expected some text")

    def _on_uniqueItems(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        yield self._diag(
            path, f"found repeated entries{self._where(path)}; expected each entry once"
        )

    def _on_dependencies(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        for key, needs in _value(error).items():
            if not isinstance(needs, list):
                continue  # a schema (one action per step): explained by `_second_kind`
            if key in _instance(error) and not all(n in _instance(error) for n in needs):
                yield self._diag(
                    (*path, key),
                    f"'{key}' only applies to a step with {one_of(needs)}{self._where(path)}",
                    hint=f"remove '{key}', or make the step a parallel group",
                    key=True,
                )

    def _on_not(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        keys = _value(error).get("required", [])
        yield self._diag(
            path,
            f"found {one_of(keys)} together{self._where(path)}; expected only one of them",
            hint="send raw text with 'body' or a JSON document with 'json'",
            start_only=True,
        )

    def _second_kind(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        """A step with two actions: once one is there, the schema forbids the others.

        Each of the two raises an error; both give the same diagnostic (keys in document
        order), which the pipeline's de-duplication keeps once."""
        owner = str(list(error.schema_path)[-2])
        parent: Any = self.doc.data
        for part in path:
            parent = parent[part]
        if not isinstance(parent, dict):
            return
        other = next((k for k, v in parent.items() if v is error.instance and k != owner), None)
        if owner not in parent or other is None:
            return
        first, second = sorted((owner, other), key=list(parent).index)
        yield self._two_kinds(path, first, second)

    # -- helpers ------------------------------------------------------------

    def _kind_choice(
        self, error: ValidationError, path: JsonPath, kinds: list[str]
    ) -> Iterator[Diagnostic]:
        if not isinstance(_instance(error), dict):
            return  # the type error for this value says it better
        present = [kind for kind in kinds if kind in _instance(error)]
        expected = ", ".join(kinds)
        if _is_channel(path):
            yield self._channel_kinds(path, present, expected)
            return
        if not present:
            unknown = [k for k in _instance(error) if did_you_mean(k, kinds)]
            hint = did_you_mean(unknown[0], kinds) if unknown else None
            yield self._diag(
                path,
                f"{self._what(path)} has nothing to do; expected exactly one of: {expected}",
                hint=hint or "add a command with `run: ...`, or group steps with `steps:`",
                start_only=True,
            )
            return
        yield self._two_kinds(path, present[0], present[1])

    def _channel_kinds(self, path: JsonPath, present: list[str], expected: str) -> Diagnostic:
        """A `notify:` channel is one kind of channel, as a step is one kind of action."""
        name = f"notification '{path[1]}'"
        if not present:
            return self._diag(
                path,
                f"{name} says nowhere to send it; expected exactly one of: {expected}",
                start_only=True,
            )
        return self._diag(
            (*path, present[1]),
            f"{name} has both '{present[0]}' and '{present[1]}'; expected exactly one of: "
            f"{expected}",
            hint="declare two channels, one for each",
            key=True,
        )

    def _two_kinds(self, path: JsonPath, first: str, second: str) -> Diagnostic:
        """One message for a step with two actions, whichever keyword found it."""
        if _is_channel(path):
            return self._channel_kinds(path, [first, second], ", ".join(NOTIFY_KINDS))
        return self._diag(
            (*path, second),
            f"{self._what(path)} has both '{first}' and '{second}'; "
            "expected exactly one action or group per step",
            hint="split it into two steps, one for each",
            key=True,
        )

    def _alternatives(self, error: ValidationError, path: JsonPath) -> Iterator[Diagnostic]:
        """Explain the alternative the user meant, judged by the value's type."""
        by_branch: dict[int, list[ValidationError]] = {}
        for sub in error.context or ():
            by_branch.setdefault(int(sub.schema_path[0]), []).append(sub)
        meant = [
            errors
            for errors in by_branch.values()
            if not any(e.validator == "type" and not e.relative_path for e in errors)
        ]
        if len(meant) > 1 and isinstance(_instance(error), dict):
            meant = _closest_alternatives(error, by_branch, meant)
        expected = _schema(error).get("x-expected")
        if len(meant) == 1 and not (
            expected and all(e.validator in ("pattern", "minLength") for e in meant[0])
        ):
            from jsonschema.exceptions import best_match

            best = best_match(meant[0])
            if best is not None:
                yield from self.explain(best)
                return
        found = describe_value(_instance(error))
        if expected is None:
            types = sorted(
                {
                    _TYPE_WORDS.get(str(alt.get("type")), "something else")
                    for alt in _value(error)
                    if isinstance(alt, Mapping)
                }
            )
            expected = " or ".join(types)
        hint = _BOOLEAN_HINT if isinstance(_instance(error), bool) else None
        if path and path[-1] == "run" and isinstance(_instance(error), bool):
            hint = f"{_BOOLEAN_HINT}: run: '{str(_instance(error)).lower()}'"
        yield self._diag(path, f"found {found}{self._where(path)}; expected {expected}", hint=hint)

    def _what(self, path: JsonPath) -> str:
        step_id = self._step_id(path)
        if step_id:
            return f"step '{step_id}'"
        return "this step" if path and isinstance(path[-1], int) else "this entry"

    def _where(self, path: JsonPath) -> str:
        step_id = self._step_id(path)
        return f" in step '{step_id}'" if step_id else ""

    def _step_id(self, path: JsonPath) -> str | None:
        node: Any = self.doc.data
        found: str | None = None
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                found = node["id"]
        return found

    def _diag(
        self,
        path: JsonPath,
        message: str,
        *,
        hint: str | None = None,
        key: bool = False,
        start_only: bool = False,
    ) -> Diagnostic:
        source = self.doc.source_map
        span = source.key_span(path) if key else source.value_span(path)
        if start_only:
            span = Span.point(span.line, span.col)
        return Diagnostic(self.doc.path, span, message, "schema", hint=hint)


def _closest_alternatives(
    error: ValidationError,
    by_branch: dict[int, list[ValidationError]],
    meant: list[list[ValidationError]],
) -> list[list[ValidationError]]:
    """Of several object alternatives, the one whose required keys the value uses most."""

    def score(index: int) -> int:
        alternative = _value(error)[index]
        required = alternative.get("required", []) if isinstance(alternative, Mapping) else []
        return sum(1 for key in required if key in _instance(error))

    ranked = sorted(((score(i), i) for i, errs in by_branch.items() if errs in meant), reverse=True)
    if len(ranked) > 1 and ranked[0][0] > ranked[1][0]:
        return [by_branch[ranked[0][1]]]
    return meant


def _is_channel(path: JsonPath) -> bool:
    return len(path) == 2 and path[0] == "notify"


def _value(error: ValidationError) -> Any:
    """The schema keyword's value (typed loosely by jsonschema)."""
    return cast(Any, error.validator_value)


def _instance(error: ValidationError) -> Any:
    """The value that failed (typed loosely by jsonschema)."""
    return cast(Any, error.instance)


def _schema(error: ValidationError) -> Mapping[str, Any]:
    schema = error.schema
    return schema if isinstance(schema, Mapping) else {}


def _required_only(alternatives: Sequence[Any]) -> list[str] | None:
    """The kind names when a oneOf just says 'exactly one of these keys'."""
    kinds: list[str] = []
    for alternative in alternatives:
        if not isinstance(alternative, Mapping) or set(alternative) != {"required"}:
            return None
        if len(alternative["required"]) != 1:
            return None
        kinds.append(alternative["required"][0])
    return kinds


def _required_hint(key: str) -> str | None:
    return {
        "version": "add `version: 1` at the top",
        "name": "add `name: my-runbook`; it names the runbook and its lock",
        "steps": "add a `steps:` list with at least one step",
        "id": "give every step a unique `id:` such as `promote_replica`",
        "url": "add `url: http://...`",
        "prompt": "add `prompt: ...`, the question the operator answers",
        "runbook": "add `runbook: other.yaml`, relative to this file",
        "message": "add `message: ...`",
    }.get(key)
