"""Find Julia, HallThruster.jl, PythonCall.jl and juliacall without importing juliacall or downloading anything.

juliacall installs Julia on first import when it cannot find one; hallctl must never trigger
that by accident, so the julia backend calls :func:`check_julia` first and only then imports it.
The probe runs ``julia`` once: it prints Julia's version, the active project (the one juliacall
will be told to use) and the versions of HallThruster.jl and PythonCall.jl that would load there,
read from their ``Project.toml`` files (nothing is loaded, so it takes about a second).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass

from hallctl.errors import BackendError

__all__ = ["HALLTHRUSTER_VERSION", "INSTALL_HINT", "JuliaStatus", "check_julia", "juliacall_version", "probe_julia"]

HALLTHRUSTER_VERSION = "0.21.6"
"""The only HallThruster.jl version the julia backend runs (0.21.7 changes the physics)."""

INSTALL_HINT = ("install Julia (https://julialang.org/downloads), then `julia -e 'using Pkg; "
                f"Pkg.add(name=\"HallThruster\", version=\"{HALLTHRUSTER_VERSION}\"); Pkg.pin(\"HallThruster\"); "
                "Pkg.add(\"PythonCall\")'` (PythonCall at juliacall's version) and `pip install 'hallctl[julia]'` "
                "(docs/julia-backend.md), or use --backend native")

# Prints four lines: VERSION, the active project's folder, HallThruster's and PythonCall's versions ('' if absent).
_PROBE_SCRIPT = """
import TOML
function version_of(name)
    id = Base.identify_package(name)
    path = id === nothing ? nothing : Base.locate_package(id)
    path === nothing && return ""
    file = joinpath(dirname(dirname(path)), "Project.toml")
    return isfile(file) ? string(get(TOML.parsefile(file), "version", "")) : ""
end
project = Base.active_project()
println(VERSION)
println(project === nothing ? "" : dirname(project))
println(version_of("HallThruster"))
println(version_of("PythonCall"))
"""


@dataclass(frozen=True)
class JuliaStatus:
    """What was found: paths and versions, '' when missing."""

    julia: str  # path of the julia executable
    julia_version: str
    project: str  # folder of the Julia project juliacall is told to use
    hallthruster_version: str
    pythoncall_version: str
    juliacall_version: str  # of the Python package; '' when it is not installed

    @property
    def juliacall(self) -> bool:
        return bool(self.juliacall_version)

    @property
    def ready(self) -> bool:
        return not self.missing()

    def missing(self) -> str:
        """One phrase naming what is missing or wrong ('' when ready)."""
        if not self.julia:
            return "Julia is not installed (no `julia` on PATH and PYTHON_JULIACALL_EXE unset)"
        if not self.julia_version:
            return f"Julia at {self.julia} did not answer the probe (run it by hand to see why)"
        where = f"the Julia project {self.project or '(default)'} of {self.julia}"
        if not self.hallthruster_version:
            return f"HallThruster.jl is not installed in {where}"
        if self.hallthruster_version != HALLTHRUSTER_VERSION:
            return (f"HallThruster.jl {self.hallthruster_version} is installed in {where}, but the julia backend "
                    f"needs exactly {HALLTHRUSTER_VERSION} (other versions change the physics)")
        if not self.pythoncall_version:
            return f"PythonCall.jl (juliacall's Julia side) is not installed in {where}"
        if not self.juliacall_version:
            return "the Python package juliacall is not installed"
        return ""


def juliacall_version() -> str:
    """The installed juliacall's version ('' when absent), read from its metadata: juliacall is not imported."""
    try:
        return importlib.metadata.version("juliacall")
    except importlib.metadata.PackageNotFoundError:
        return "unknown version" if importlib.util.find_spec("juliacall") is not None else ""


def _julia_executable() -> str:
    exe = os.environ.get("PYTHON_JULIACALL_EXE") or os.environ.get("JULIA_EXE") or shutil.which("julia")
    return exe if exe and os.path.exists(exe) else ""


def parse_probe(output: str) -> tuple[str, str, str, str]:
    """(Julia version, project folder, HallThruster.jl version, PythonCall.jl version) from the probe's output."""
    lines = [line.strip() for line in output.splitlines()]
    lines += [""] * (4 - len(lines))
    return lines[0], lines[1], lines[2], lines[3]


def probe_julia(timeout_s: float = 60.0) -> JuliaStatus:
    """Inspect the machine (runs `julia` once when it exists; never imports juliacall).

    The project is $PYTHON_JULIACALL_PROJECT when set, else the one ``julia`` activates by default.
    """
    exe = _julia_executable()
    jc = juliacall_version()
    project = os.environ.get("PYTHON_JULIACALL_PROJECT", "")
    if not exe:
        return JuliaStatus("", "", project, "", "", jc)
    cmd = [exe, "--startup-file=no", *([f"--project={project}"] if project else []), "-e", _PROBE_SCRIPT]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.SubprocessError):
        return JuliaStatus(exe, "", project, "", "", jc)
    version, found_project, hallthruster, pythoncall = parse_probe(res.stdout if res.returncode == 0 else "")
    return JuliaStatus(exe, version, project or found_project, hallthruster, pythoncall, jc)


def check_julia() -> JuliaStatus:
    """The status when the julia backend can run.

    Raises:
        BackendError: naming what is missing and how to install it.
    """
    status = probe_julia()
    if not status.ready:
        raise BackendError(f"the julia backend cannot run: {status.missing()}; {INSTALL_HINT}")
    return status
