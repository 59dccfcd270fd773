"""A machine with Julia, faked: a `julia` executable that answers the probe, and a fake juliacall module."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.backends.fake_juliacall import FakeJulia, fake_module

JULIACALL_VARIABLES = ("PYTHON_JULIACALL_EXE", "PYTHON_JULIACALL_PROJECT", "PYTHON_JULIACALL_THREADS",
                       "PYTHON_JULIACALL_HANDLE_SIGNALS", "PYTHON_JULIAPKG_OFFLINE", "JULIA_EXE",
                       "HALLCTL_JULIA_DRIVER")


def fake_julia_executable(folder: Path, *, version: str = "1.11.5", project: str = "", hallthruster: str = "0.21.6",
                          pythoncall: str = "0.9.28") -> Path:
    """A `julia` that prints what julia_probe's script prints: version, project, HallThruster, PythonCall."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "julia"
    exe.write_text("#!/bin/sh\nprintf '%s\\n' " + " ".join(f"'{v}'" for v in (version, project, hallthruster,
                                                                               pythoncall)) + "\n")
    exe.chmod(0o755)
    return exe


@pytest.fixture
def clean_julia_environment(monkeypatch):
    """No juliacall variable set, and every one hallctl sets removed again after the test."""
    for name in JULIACALL_VARIABLES:
        monkeypatch.setenv(name, "x")  # so that monkeypatch restores the variable's absence afterwards
        monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def fake_julia(clean_julia_environment, tmp_path) -> Callable[..., FakeJulia]:
    """Install a fake Julia (executable on PATH, juliacall 0.9.28 in sys.modules); returns a factory taking
    FakeJulia's options and the probe's answers."""
    monkeypatch = clean_julia_environment

    def install(*, hallthruster: str = "0.21.6", juliacall: str = "0.9.28", **options) -> FakeJulia:
        folder = tmp_path / "fake-julia"
        exe = fake_julia_executable(folder / "bin", project=str(folder / "project"), hallthruster=hallthruster)
        monkeypatch.setenv("PATH", f"{exe.parent}:{Path(sys.executable).parent}:/usr/bin:/bin")
        monkeypatch.setattr("hallctl.backends.julia_probe.juliacall_version", lambda: juliacall)
        julia = FakeJulia(**options)
        monkeypatch.setitem(sys.modules, "juliacall", fake_module(julia))
        julia.executable = str(exe)
        julia.project = str(folder / "project")
        return julia

    return install
