"""The compiled-plan cache: used only for the same bytes, never trusted blindly."""

from __future__ import annotations

from pathlib import Path

import pytest

from recoverctl.cli.loading import load_plan
from recoverctl.compile import cache
from tests.conftest import run_cli
from tests.helpers import runbook_data, write_runbook


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("RECOVERCTL_CACHE_DIR", str(folder))
    monkeypatch.delenv("RECOVERCTL_NO_CACHE", raising=False)
    return folder


def _no_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path) -> None:
        raise AssertionError(f"{path} was validated again")

    monkeypatch.setattr("recoverctl.validate.pipeline.require_valid", refuse)


def test_an_unchanged_runbook_is_not_validated_again(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_runbook(tmp_path, runbook_data({"id": "a", "run": "true"}))
    first, _ = load_plan(path, [], None)
    entries = list(cache_dir.iterdir())
    assert len(entries) == 1
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    assert entries[0].stat().st_mode & 0o777 == 0o600
    _no_validation(monkeypatch)
    second, _ = load_plan(path, [], None)
    assert second.hash == first.hash and second is not first
    assert list(second.nodes) == ["a"]


def test_a_changed_runbook_is_compiled_again(tmp_path: Path, cache_dir: Path) -> None:
    path = write_runbook(tmp_path, runbook_data({"id": "a", "run": "true"}))
    load_plan(path, [], None)
    write_runbook(tmp_path, runbook_data({"id": "b", "run": "true"}))
    plan, _ = load_plan(path, [], None)
    assert list(plan.nodes) == ["b"]


def test_a_changed_called_runbook_is_compiled_again(tmp_path: Path, cache_dir: Path) -> None:
    write_runbook(tmp_path, runbook_data({"id": "x", "run": "true"}, name="inner"), "inner.yaml")
    path = write_runbook(tmp_path, runbook_data({"id": "sub", "call": {"runbook": "inner.yaml"}}))
    first, _ = load_plan(path, [], None)
    write_runbook(tmp_path, runbook_data({"id": "y", "run": "true"}, name="inner"), "inner.yaml")
    second, _ = load_plan(path, [], None)
    assert second.hash != first.hash
    assert "y" in second.node("sub").callee.nodes  # type: ignore[union-attr]


def test_an_invalid_runbook_is_never_cached_and_still_reported(
    tmp_path: Path, cache_dir: Path
) -> None:
    path = write_runbook(tmp_path, {"version": 1, "name": "x", "steps": [{"id": "a"}]})
    result = run_cli(["run", str(path)], env={"RECOVERCTL_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 2
    assert not cache_dir.exists() or not list(cache_dir.iterdir())


@pytest.mark.parametrize("damage", ["world-readable", "corrupt", "not-a-plan"])
def test_an_untrustworthy_entry_is_ignored(
    tmp_path: Path, cache_dir: Path, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_runbook(tmp_path, runbook_data({"id": "a", "run": "true"}))
    load_plan(path, [], None)
    (entry,) = cache_dir.iterdir()
    if damage == "world-readable":
        entry.chmod(0o644)
    elif damage == "corrupt":
        entry.write_bytes(b"\x80\x05garbage")
    else:
        import pickle

        entry.write_bytes(pickle.dumps({"plan": "nope", "called": []}))
    assert cache.load(path, path.read_bytes()) is None
    plan, _ = load_plan(path, [], None)  # compiled again, and the run goes on
    assert list(plan.nodes) == ["a"]


def test_the_cache_can_be_turned_off(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOVERCTL_NO_CACHE", "1")
    path = write_runbook(tmp_path, runbook_data({"id": "a", "run": "true"}))
    load_plan(path, [], None)
    assert not cache_dir.exists()


def test_an_unwritable_cache_does_not_stop_a_run(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    path = write_runbook(tmp_path, runbook_data({"id": "a", "run": "true"}))
    result = run_cli(
        ["run", "-q", "--no-journal", str(path)],
        env={"RECOVERCTL_CACHE_DIR": str(blocker / "cache")},
    )
    assert result.returncode == 0, result.stderr
    assert blocker.is_file()


def test_the_same_file_named_from_another_folder_keeps_its_own_path(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "runbooks").mkdir()
    write_runbook(tmp_path / "runbooks", runbook_data({"id": "a", "run": "true"}))
    monkeypatch.chdir(tmp_path)
    first, _ = load_plan(Path("runbooks/rb.yaml"), [], None)
    monkeypatch.chdir(tmp_path / "runbooks")
    second, _ = load_plan(Path("rb.yaml"), [], None)
    assert first.runbook.path == Path("runbooks/rb.yaml")
    assert second.runbook.path == Path("rb.yaml")


def test_other_recoverctl_code_never_reads_a_plan_it_did_not_compile(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editable install or a build from a branch changes the code, not the version: a
    plan pickled by other code would unpickle into objects missing fields."""
    path = write_runbook(tmp_path, runbook_data({"id": "a", "run": "true"}))
    load_plan(path, [], None)
    monkeypatch.setattr(cache, "_code_stamp", lambda: "other code")
    assert cache.load(path, path.read_bytes()) is None


def test_the_code_stamp_follows_every_module(tmp_path: Path) -> None:
    import hashlib
    import os

    package = tmp_path / "pkg"
    (package / "inner").mkdir(parents=True)
    module = package / "inner" / "m.py"
    module.write_text("x = 1\n")
    (package / "__pycache__").mkdir()

    def stamp() -> str:
        digest = hashlib.sha256()
        cache._stamp_folder(str(package), "", digest)
        return digest.hexdigest()

    before = stamp()
    (package / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"ignored")
    assert stamp() == before
    module.write_text("x = 2\n")
    os.utime(module, ns=(1, 1))
    assert stamp() != before
