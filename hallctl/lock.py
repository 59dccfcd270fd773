"""One writer per folder: a lock file holding the owner's pid, host, command and start time.

A second writer is refused with one line naming the owner. A lock whose process is gone (same host,
no such pid) is stale and taken over; a lock from another host is never guessed stale, since its
process cannot be checked from here.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hallctl.errors import DataError

__all__ = ["folder_lock", "read_lock"]

_UNWRITTEN_GRACE_S = 10.0
"""An unreadable lock younger than this may be one being written; older, it is stale."""


def read_lock(path: Path) -> dict[str, Any] | None:
    """The owner recorded in a lock file, or None when it cannot be read."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _stale(path: Path, owner: dict[str, Any] | None) -> bool:
    if owner is None:
        try:
            return time.time() - path.stat().st_mtime > _UNWRITTEN_GRACE_S
        except FileNotFoundError:
            return True
    return owner.get("host") == socket.gethostname() and not _alive(int(owner.get("pid", -1)))


@contextmanager
def folder_lock(path: Path, command: str) -> Iterator[Path]:
    """Hold the lock file ``path`` while the block runs.

    Raises:
        DataError: another live process holds it (one line naming its pid, host and command).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
            "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = read_lock(path)
            if _stale(path, owner):
                path.unlink(missing_ok=True)
                continue
            who = (f"{owner.get('command', 'hallctl')} (pid {owner.get('pid')} on {owner.get('host')}, since "
                   f"{owner.get('started')})") if owner else "another process"
            raise DataError(f"{path.parent} is in use by {who}; wait for it to finish, or delete {path} if that "
                            "process is gone") from None
        with os.fdopen(fd, "w") as fh:
            json.dump(mine, fh)
        break
    else:
        raise DataError(f"could not take the lock {path}; delete it if no hallctl process uses {path.parent}")
    try:
        yield path
    finally:
        if read_lock(path) == mine:
            path.unlink(missing_ok=True)
