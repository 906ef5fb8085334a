"""A cache of compiled plans, keyed by the runbook's bytes: an unchanged runbook is not
validated again on every run.

Validation and compilation are a large share of a short run's fixed cost. A
plan is stored after the runbook passed validation and is used only when
the file's bytes, every called runbook's bytes, recoverctl's code (its version
and the size and modification time of each of its modules: an editable install or a
build from a branch changes code without changing the version) and Python's version
are all the same. The cache is private (0700 folder, 0600
files owned by the user, checked before reading, since entries are pickles)
and best effort: any problem reading or writing it means "compile as
usual", never an error. RECOVERCTL_NO_CACHE=1 turns it off;
RECOVERCTL_CACHE_DIR moves it (default $XDG_CACHE_HOME/recoverctl/plans).
"""

from __future__ import annotations

import contextlib
import copyreg
import functools
import hashlib
import os
import pickle
import stat
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

from recoverctl import __version__
from recoverctl.compile.plan import Plan
from recoverctl.files import replace_file

FORMAT = 1


def _read_only(mapping: dict[str, Any]) -> MappingProxyType[str, Any]:
    return MappingProxyType(mapping)


copyreg.pickle(MappingProxyType, lambda m: (_read_only, (dict(m),)))


def cache_dir() -> Path | None:
    if os.environ.get("RECOVERCTL_NO_CACHE"):
        return None
    explicit = os.environ.get("RECOVERCTL_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "recoverctl" / "plans"


def _text_hash(raw: bytes) -> str:
    """The hash the loader records (`Runbook.sha256`): of the decoded text."""
    return hashlib.sha256(raw.decode("utf-8-sig").encode("utf-8")).hexdigest()


def _key(path: Path, raw: bytes) -> str:
    """The plan records the path as it was given (messages, the journal quote it), so the
    key holds that path and the folder it is relative to, not just the file's identity."""
    identity = f"{FORMAT}\0{_code_stamp()}\0{sys.version}\0{Path.cwd()}\0{path}\0".encode()
    return hashlib.sha256(identity + raw).hexdigest()


@functools.cache
def _code_stamp() -> str:
    """recoverctl's version and the (size, mtime) of its modules: a pickled plan of other
    code would unpickle into objects missing fields, or carry facts computed differently.
    About 150 `stat` calls: about a millisecond."""
    digest = hashlib.sha256(__version__.encode())
    _stamp_folder(str(Path(__file__).resolve().parent.parent), "", digest)
    return digest.hexdigest()


def _stamp_folder(folder: str, prefix: str, digest: Any) -> None:
    with contextlib.suppress(OSError), os.scandir(folder) as found:
        for entry in sorted(found, key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                _stamp_folder(entry.path, f"{prefix}{entry.name}/", digest)
            elif entry.name.endswith(".py"):
                info = entry.stat()
                digest.update(
                    f"{prefix}{entry.name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode()
                )


def load(path: Path, raw: bytes) -> Plan | None:
    """The cached plan of `path` whose bytes are `raw`, or None (not cached, stale, or not
    trustworthy)."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        if not _private(folder):
            return None
        entry = folder / f"{_key(path, raw)}.pickle"
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.getuid() or info.st_mode & 0o077:
                return None
            stored: dict[str, Any] = pickle.load(handle)  # noqa: S301 - our own private file
        plan = stored["plan"]
        if not isinstance(plan, Plan):
            return None
        if plan.runbook.sha256 != _text_hash(raw) or str(plan.runbook.path) != str(path):
            return None  # an entry is good only for the very file it was made from
        for called, digest in stored["called"]:
            if _text_hash(Path(called).read_bytes()) != digest:
                return None
    except Exception:  # any unreadable entry (another build's classes, a torn file) is a miss
        return None
    return plan


def _private(folder: Path) -> bool:
    """Only a folder of the user's that no one else can write may hand us pickles."""
    info = folder.lstat()
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022


def store(path: Path, raw: bytes, plan: Plan) -> None:
    """Keep `plan` for the runbook whose bytes were `raw`; silently skipped on any problem."""
    folder = cache_dir()
    if folder is None or plan.runbook.sha256 != _text_hash(raw):
        return  # changed while it was being validated: do not cache a mismatch
    called = [(str(p.runbook.path), p.runbook.sha256) for p in _callees(plan)]
    with contextlib.suppress(OSError, pickle.PickleError, RecursionError, ValueError):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _private(folder):
            return  # never hand a plan (the runbook's text) to a folder others can write
        data = pickle.dumps({"plan": plan, "called": called}, pickle.HIGHEST_PROTOCOL)
        replace_file(folder / f"{_key(path, raw)}.pickle", data)


def _callees(plan: Plan) -> list[Plan]:
    found: list[Plan] = []
    for node in plan.nodes.values():
        if node.callee is not None:
            found.append(node.callee)
            found += _callees(node.callee)
    return found
