"""Find Julia, juliacall and HallThruster.jl without importing juliacall or downloading anything.

juliacall installs Julia on first import when it cannot find one; hallctl must never trigger
that by accident, so the julia backend calls :func:`check_julia` first and only then imports it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass

from hallctl.errors import BackendError

__all__ = ["JuliaStatus", "check_julia", "probe_julia"]

INSTALL_HINT = ("install Julia (https://julialang.org/downloads), then `julia -e 'using Pkg; "
                "Pkg.add(name=\"HallThruster\", version=\"0.21.6\")'` and `pip install 'hallctl[julia]'`, "
                "or use --backend native")


@dataclass(frozen=True)
class JuliaStatus:
    """What was found: paths and versions, '' when missing."""

    julia: str  # path of the julia executable
    julia_version: str
    juliacall: bool
    hallthruster_version: str

    @property
    def ready(self) -> bool:
        return bool(self.julia and self.juliacall and self.hallthruster_version)

    def missing(self) -> str:
        """One phrase naming what is missing ('' when ready)."""
        if not self.julia:
            return "Julia is not installed (no `julia` on PATH and PYTHON_JULIACALL_EXE unset)"
        if not self.hallthruster_version:
            return f"HallThruster.jl is not installed in Julia at {self.julia}"
        if not self.juliacall:
            return "the Python package juliacall is not installed"
        return ""


def _julia_executable() -> str:
    exe = os.environ.get("PYTHON_JULIACALL_EXE") or os.environ.get("JULIA_EXE") or shutil.which("julia")
    return exe if exe and os.path.exists(exe) else ""


def probe_julia(timeout_s: float = 60.0) -> JuliaStatus:
    """Inspect the machine (runs `julia` once when it exists; never imports juliacall)."""
    exe = _julia_executable()
    juliacall = importlib.util.find_spec("juliacall") is not None
    if not exe:
        return JuliaStatus("", "", juliacall, "")
    script = ('print(VERSION, " "); try; using HallThruster; print(pkgversion(HallThruster)); '
              'catch; print(""); end')
    try:
        res = subprocess.run([exe, "--startup-file=no", "-e", script], capture_output=True, text=True,
                             timeout=timeout_s, check=False)
    except (OSError, subprocess.SubprocessError):
        return JuliaStatus(exe, "", juliacall, "")
    parts = res.stdout.split()
    return JuliaStatus(exe, parts[0] if parts else "", juliacall, parts[1] if len(parts) > 1 else "")


def check_julia() -> JuliaStatus:
    """The status when the julia backend can run.

    Raises:
        BackendError: naming what is missing and how to install it.
    """
    status = probe_julia()
    if not status.ready:
        raise BackendError(f"the julia backend cannot run: {status.missing()}; {INSTALL_HINT}")
    return status
