"""HDF5 plumbing shared by every hallctl file: atomic writes, provenance, schema stamps.

Every file carries, as root attributes, ``hallctl_kind`` (what it holds), ``hallctl_schema``
(the schema version of that kind) and ``provenance`` (JSON: hallctl version, resolved project,
seed, creation time, git commit). Writers go through :func:`atomic_write` (:mod:`hallctl.atomic`):
the file is written under a temporary name in the same folder, flushed to disk and renamed on
success, so a killed process never leaves a half-written file under the final name. The file kinds are in
:mod:`hallctl.data.store`.
"""

from __future__ import annotations

import datetime as _dt
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hallctl import __version__
from hallctl.atomic import atomic_write
from hallctl.errors import DataError

__all__ = [
    "SCHEMA_VERSIONS",
    "STR",
    "atomic_write",
    "make_provenance",
    "open_checked",
    "read_json_attr",
    "read_strings",
    "stamp",
    "strings",
    "write_json_attr",
]

SCHEMA_VERSIONS = {"raw-shard": 1, "dataset": 1, "simulation": 1, "samples": 1}
STR = h5py.string_dtype()
"""The HDF5 type of variable-length strings."""


@lru_cache(maxsize=1)
def _git_commit() -> str:
    """The commit of the hallctl checkout this runs from, or '' when not in a checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def make_provenance(config: dict[str, Any] | None = None, *, source: str = "", seed: int | None = None,
                    command: str = "", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provenance record stored in every file.

    Args:
        config: the resolved project as plain data (``Project.to_dict()``), if any.
        source: the project file it was read from ("" = built-in defaults).
        seed: the seed the file's random choices flow from.
        command: the hallctl command that wrote the file.
        extra: more keys to record.
    """
    record: dict[str, Any] = {
        "hallctl_version": __version__,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "command": command,
        "seed": seed,
        "project": config,
        "project_file": source,
    }
    record.update(extra or {})
    return record


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float) and not np.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


def write_json_attr(obj: h5py.HLObject, name: str, value: Any) -> None:
    obj.attrs[name] = json.dumps(_jsonable(value))


def read_json_attr(obj: h5py.HLObject, name: str, default: Any = None) -> Any:
    raw = obj.attrs.get(name)
    if raw is None:
        return default
    return json.loads(raw if isinstance(raw, str) else raw.decode())


def stamp(f: h5py.File, kind: str, provenance: dict[str, Any] | None) -> None:
    f.attrs["hallctl_kind"] = kind
    f.attrs["hallctl_schema"] = SCHEMA_VERSIONS[kind]
    write_json_attr(f, "provenance", provenance or make_provenance())


@contextmanager
def open_checked(path: str | Path, kind: str, *, hint: str = "") -> Iterator[h5py.File]:
    """Open ``path`` read-only, check it holds ``kind`` with a readable schema, and yield it; an
    error while reading it (a missing or mistyped member: a damaged file) becomes a DataError.

    Raises:
        DataError: missing file, not HDF5, another kind, a newer schema, or damaged content.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p} not found" + (f"; {hint}" if hint else ""))
    try:
        f = h5py.File(p, "r")
    except OSError:
        raise DataError(f"{p} is not an HDF5 file written by hallctl") from None
    with f:
        found = f.attrs.get("hallctl_kind")
        if isinstance(found, bytes):
            found = found.decode(errors="replace")
        if found != kind:
            what = f"a '{found}' file" if found else "not a hallctl file"
            raise DataError(f"{p} is {what}, expected a '{kind}' file" + (f"; {hint}" if hint else ""))
        try:
            schema = int(f.attrs.get("hallctl_schema", 0))
        except (TypeError, ValueError):
            schema = 0
        if schema > SCHEMA_VERSIONS[kind] or schema < 1:
            raise DataError(f"{p} has {kind} schema version {schema}, this hallctl reads version "
                            f"{SCHEMA_VERSIONS[kind]}; upgrade hallctl or regenerate the file")
        try:
            yield f
        except (KeyError, ValueError, TypeError, IndexError, AttributeError, OSError) as exc:
            detail = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
            raise DataError(f"{p} is damaged or incomplete ({detail}); regenerate it"
                            + (f" ({hint})" if hint else "")) from None


def strings(values: Any) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=object)


def read_strings(ds: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in ds[()]]
