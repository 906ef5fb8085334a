"""How `recoverctl approve` reaches a run waiting at a gate: a Unix socket the run listens on.

    $TMPDIR/recoverctl-gates-<uid>/<run-id>.sock

The run's user owns the folder (0711: others may reach a socket whose name they
know, never list the folder) and the socket. A socket, not a file dropped in
the run's folder, because the kernel says who is on the other end
(SO_PEERCRED): an answer carries the OS user who gave it, whatever it claims,
and the run answers at once — counted, refused and why, already decided, or
no run there at all. One JSON object a line each way, bounded in size and
time, so a hostile or stuck client cannot hold a gate.

A folder of that name that is not the user's own, or that others may write,
is not used: then only the terminal answers, as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import stat
import tempfile
from pathlib import Path
from typing import Any

PROTOCOL = 1
MAX_LINE = 64 * 1024
"""An answer is a few hundred bytes; a comment is clipped long before this."""
MAX_COMMENT = 2000
_DIR = re.compile(r"^recoverctl-gates-(\d+)$")


def gate_dir(uid: int | None = None) -> Path:
    return Path(tempfile.gettempdir()) / f"recoverctl-gates-{os.getuid() if uid is None else uid}"


def trusted(folder: Path, uid: int) -> bool:
    """A real folder owned by `uid` that nobody else may write: its sockets are its runs'."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == uid and not info.st_mode & 0o022


def own_dir() -> Path | None:
    """This user's gate folder, made if missing; None when one is there that is not ours."""
    folder = gate_dir()
    try:
        folder.mkdir(mode=0o711)
    except FileExistsError:
        pass  # checked below: it must be ours and closed to writers
    except OSError:
        return None
    if not trusted(folder, os.getuid()):
        return None
    with contextlib.suppress(OSError):
        folder.chmod(0o711)
    return folder


def socket_path(folder: Path, run_id: str) -> Path:
    return folder / f"{run_id}.sock"


def find_sockets(run_id: str) -> list[tuple[Path, int]]:
    """Every trusted socket for `run_id`: this user's first, then other users' (whose
    folders cannot be listed, only tried by name). (path, owner uid) each."""
    found: list[tuple[Path, int]] = []
    mine = gate_dir()
    candidates = [(mine, os.getuid())]
    with contextlib.suppress(OSError):
        for entry in Path(tempfile.gettempdir()).iterdir():
            match = _DIR.match(entry.name)
            if match and int(match.group(1)) != os.getuid():
                candidates.append((entry, int(match.group(1))))
    for folder, uid in candidates:
        path = socket_path(folder, run_id)
        with contextlib.suppress(OSError):
            if trusted(folder, uid) and stat.S_ISSOCK(path.lstat().st_mode):
                found.append((path, uid))
    return found


def ask(path: Path, request: dict[str, Any], timeout: float = 15.0) -> dict[str, Any]:
    """Send one request to the run at `path`; its answer. Raises OSError (no run there,
    or it is gone: ConnectionRefusedError) or ValueError (an answer we cannot read)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps({"v": PROTOCOL, **request}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n") and len(data) < MAX_LINE:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data.decode("utf-8", "replace") or "null")
    if not isinstance(answer, dict):
        raise ValueError("the run sent no answer")  # noqa: TRY004 - a bad reply, not a bad call
    return answer


def peer_uid(sock: socket.socket) -> int:
    """The OS user of the process at the other end, as the kernel says."""
    import struct

    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)
