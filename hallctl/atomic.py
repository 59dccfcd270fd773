"""Durable atomic writes: a file is written under a temporary name in its folder, flushed to disk
(fsync of the file), renamed over the final name, and the rename made durable (fsync of the
folder). A killed process or a power cut never leaves a half-written file under the final name."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_write", "replace_durably"]


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # a folder cannot be opened on some platforms (Windows): nothing to sync there
        if directory:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on folders
        if not directory:
            raise
    finally:
        os.close(fd)


def replace_durably(tmp: Path, final: Path) -> None:
    """fsync ``tmp``, rename it to ``final``, fsync the folder."""
    _fsync_path(tmp)
    os.replace(tmp, final)
    _fsync_path(final.parent, directory=True)


@contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds, move it to ``path`` durably
    (:func:`replace_durably`). On failure the temporary file is removed and ``path`` is untouched."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        replace_durably(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
