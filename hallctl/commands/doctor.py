"""``hallctl doctor``: what this machine offers hallctl, as (check, result, ok) rows."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

from hallctl import __version__
from hallctl.errors import HallctlError

__all__ = ["julia_rows", "run_checks"]


def _version(module: str) -> tuple[str, bool | None]:
    try:
        mod = __import__(module)
    except Exception as exc:
        return f"not importable ({type(exc).__name__}: {exc})", False
    return str(getattr(mod, "__version__", "?")), True


def julia_rows() -> list[tuple[str, str, bool | None]]:
    """The julia backend's rows: Julia, its project, HallThruster.jl, PythonCall.jl, juliacall (none is imported)."""
    from hallctl.backends.julia_probe import HALLTHRUSTER_VERSION, probe_julia

    status = probe_julia(timeout_s=30.0)
    hallthruster = status.hallthruster_version or "not found"
    if status.hallthruster_version and status.hallthruster_version != HALLTHRUSTER_VERSION:
        hallthruster += f" (the julia backend needs exactly {HALLTHRUSTER_VERSION})"
    return [
        ("julia backend: Julia", f"{status.julia} {status.julia_version}".strip() or "not found", None),
        ("julia backend: Julia project", status.project or "-", None),
        ("julia backend: HallThruster.jl", hallthruster, None),
        ("julia backend: PythonCall.jl", status.pythoncall_version or "not found", None),
        ("julia backend: juliacall", status.juliacall_version or "not installed", None),
        ("julia backend", "ready" if status.ready else f"unavailable: {status.missing()}", None),
    ]


def run_checks(project_file: str | Path | None = None, overrides: Sequence[str] = ()
               ) -> list[tuple[str, str, bool | None]]:
    """Rows of (check, result, ok); ok None means informational."""
    rows: list[tuple[str, str, bool | None]] = [
        ("hallctl", __version__, None),
        ("python", f"{platform.python_version()} ({sys.executable})", sys.version_info >= (3, 11)),
    ]
    for mod in ("numpy", "numba", "h5py", "torch", "safetensors", "matplotlib"):
        rows.append((mod, *_version(mod)))
    try:
        import torch

        cuda = torch.cuda.is_available()
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) if cuda else "none"
        rows.append(("CUDA devices", names, None))
        mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
        rows.append(("MPS (Apple GPU)", "available" if mps else "not available", None))
        rows.append(("torch CPU threads", str(torch.get_num_threads()), None))
    except Exception:
        pass
    rows.append(("CPU cores", str(os.cpu_count()), None))

    rows.extend(julia_rows())

    from hallctl.project import find_project_file, load_project

    try:
        file = find_project_file(project_file)
        load_project(project_file, overrides)
        rows.append(("project file", f"{file or 'none (built-in defaults)'}: valid", True))
    except HallctlError as exc:
        rows.append(("project file", str(exc), False))
    return rows
