"""The loader: safe, positioned, bounded; never lets a bad file through silently."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from recoverctl.errors import RecoverctlError
from recoverctl.load import load_file, load_text
from recoverctl.model.source import Span


def test_positions_are_kept_beside_the_data() -> None:
    doc = load_text("version: 1\nsteps:\n  - id: a\n    run: echo hi\n", Path("x.yaml"))
    assert doc.data == {"version": 1, "steps": [{"id": "a", "run": "echo hi"}]}
    assert doc.source_map.value_span(("steps", 0, "run")) == Span(4, 10, 4, 17)
    assert doc.source_map.key_span(("steps", 0, "run")) == Span(4, 5, 4, 8)
    # unknown deeper paths fall back to the nearest known ancestor
    assert doc.source_map.value_span(("steps", 0, "run", "x")) == Span(4, 10, 4, 17)


def test_keys_stay_as_written_and_yaml11_booleans_are_recorded() -> None:
    doc = load_text("on: yes\nwhen: 2024-01-02\n", Path("x.yaml"))
    assert doc.data == {"on": True, "when": "2024-01-02"}
    assert doc.yaml11_booleans == {("on",): "yes"}


def test_merge_keys_apply_and_explicit_keys_win() -> None:
    doc = load_text("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n", Path("x.yaml"))
    assert doc.data["x"] == {"a": 1, "b": 3}


def _error(text: str) -> RecoverctlError:
    with pytest.raises(RecoverctlError) as info:
        load_text(text, Path("x.yaml"))
    return info.value


def test_python_tags_are_refused_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    error = _error(f'a: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert "unsafe tag" in error.message
    assert not marker.exists()


@pytest.mark.parametrize("text", ["a: !custom 1\n", "a: !!binary aGk=\n", "a: !!set {x}\n"])
def test_other_tags_are_refused(text: str) -> None:
    assert "tag" in _error(text).message


def test_duplicate_keys_name_both_positions() -> None:
    error = _error("a: 1\nb: 2\na: 3\n")
    assert error.diagnostics[0].span.line == 3
    assert "previously defined at 1:1" in error.message


def test_alias_bomb_is_refused_fast() -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]
    started = time.perf_counter()
    error = _error("\n".join(lines) + "\n")
    assert "alias bomb" in error.message
    assert time.perf_counter() - started < 1.0


def test_recursive_alias_is_refused() -> None:
    assert "contains it" in _error("a: &a [*a]\n").message


def test_deep_nesting_is_refused_not_crashing() -> None:
    error = _error("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "too deep" in error.message or "invalid YAML" in error.message


def test_second_document_is_refused() -> None:
    error = _error("a: 1\n---\nb: 2\n")
    assert "second YAML document" in error.message
    assert error.diagnostics[0].span.line == 3


def test_missing_file_directory_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(RecoverctlError, match="no such file"):
        load_file(tmp_path / "nope.yaml")
    with pytest.raises(RecoverctlError, match="is a directory"):
        load_file(tmp_path)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"a: caf\xe9\n")
    with pytest.raises(RecoverctlError, match="not UTF-8") as info:
        load_file(bad)
    assert info.value.diagnostics[0].span == Span.point(1, 7)


def test_huge_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from recoverctl.load import yaml_loader

    monkeypatch.setattr(yaml_loader, "MAX_FILE_BYTES", 100)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 200 + "\n")
    with pytest.raises(RecoverctlError, match="larger than"):
        load_file(big)


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert load_file(path).data == {"a": 1}
