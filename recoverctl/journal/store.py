"""Where runs live on disk, private to the user.

    <state>/runs/<run-id>/journal.jsonl   append-only events, one JSON object a line
    <state>/runs/<run-id>/runbook.yaml    the runbook text exactly as it was run
    <state>/runs/<run-id>/meta.json       the index entry `recoverctl runs` reads
    <state>/locks/<runbook-name>.lock     one active run per runbook name

<state> is --state-dir, else $RECOVERCTL_STATE_DIR, else
$XDG_STATE_HOME/recoverctl, else ~/.local/state/recoverctl. Folders are
created 0700 and files 0600: a journal holds what a recovery did.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from recoverctl.errors import RecoverctlError
from recoverctl.files import replace_file
from recoverctl.journal.meta import RunMeta

META_VERSION = 1


def state_dir(explicit: Path | None, environ: Mapping[str, str]) -> Path:
    if explicit is not None:
        return explicit
    if environ.get("RECOVERCTL_STATE_DIR"):
        return Path(environ["RECOVERCTL_STATE_DIR"])
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "recoverctl"


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable only by the user — or refuse one that is not.

    Another local user who can write the state folder (a shared RECOVERCTL_STATE_DIR,
    XDG_STATE_HOME=/tmp, `sudo -E`) could plant runs, locks or symlinks the operator
    would then act on; so the folder must be the user's own, a real folder, and is
    made private (0700) when it was not.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
    except OSError as exc:
        raise RecoverctlError(
            message=f"cannot create the state folder {path}: {exc.strerror}",
            hint="choose a folder of yours with --state-dir or RECOVERCTL_STATE_DIR",
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise RecoverctlError(
            message=f"the state folder {path} is a symbolic link or not a folder; refusing it",
            hint="a state folder must be a real folder of yours: remove the link, or use --state-dir",
        )
    if info.st_uid != os.getuid():
        raise RecoverctlError(
            message=f"the state folder {path} belongs to another user (uid {info.st_uid}); "
            "refusing to keep or read runs there",
            hint="use a folder of your own with --state-dir or RECOVERCTL_STATE_DIR",
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Atomically replace `path` with `text`, mode 0600 (write, rename).

    Not fsynced: the journal is the record and the only file synced (journal/writer.py
    says when). meta.json is an index, read tolerantly (a power cut can leave it empty:
    `RunMeta.unreadable`, and the journal's first record says the same); the runbook
    copy is checked against the hash the journal recorded before anything reads it
    (journal/recorded.py): a copy a power cut truncated is reported lost, never used."""
    replace_file(path, text.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class RunDir:
    """One run's folder."""

    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def journal(self) -> Path:
        return self.path / "journal.jsonl"

    @property
    def runbook(self) -> Path:
        return self.path / "runbook.yaml"

    @property
    def meta_path(self) -> Path:
        return self.path / "meta.json"

    def meta(self) -> RunMeta:
        """meta.json, read tolerantly (journal/meta.py): the index entry, not the record."""
        try:
            data = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return RunMeta.unreadable(self.run_id)
        if not isinstance(data, dict):
            return RunMeta.unreadable(self.run_id)
        return RunMeta.from_dict(data, self.run_id)

    def write_meta(self, meta: RunMeta) -> None:
        document = {"v": META_VERSION, **meta.to_dict()}
        write_private(self.meta_path, json.dumps(document, indent=2, default=str))


class Store:
    """The state directory: run folders and locks."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def create(self, run_id: str, runbook_text: str) -> RunDir:
        private_dir(self.root)
        private_dir(self.runs_dir)
        folder = private_dir(self.runs_dir / run_id)
        try:
            write_private(folder / "runbook.yaml", runbook_text)
        except OSError as exc:
            raise RecoverctlError(
                message=f"cannot create the run's folder in {self.runs_dir}: {exc.strerror}",
                hint="choose another place with --state-dir or RECOVERCTL_STATE_DIR",
            ) from None
        return RunDir(folder)

    def find(self, run_id: str) -> RunDir:
        if self.runs_dir.exists():
            private_dir(self.root)
            private_dir(self.runs_dir)  # runs read from here are acted on: they must be ours
        folder = self.runs_dir / run_id
        if folder.is_dir():
            return RunDir(folder)
        known = (
            sorted(p.name for p in self.runs_dir.glob(f"{run_id}*"))
            if self.runs_dir.is_dir()
            else []
        )
        if len(known) == 1:
            return RunDir(self.runs_dir / known[0])
        from recoverctl.validate.suggest import did_you_mean

        hint = (
            did_you_mean(run_id, [p.name for p in self.all_dirs()])
            or "list runs with `recoverctl runs`"
        )
        raise RecoverctlError(message=f"no run '{run_id}' in {self.runs_dir}", hint=hint)

    def all_dirs(self) -> list[Path]:
        if not self.runs_dir.is_dir():
            return []
        return sorted((p for p in self.runs_dir.iterdir() if p.is_dir()), reverse=True)
