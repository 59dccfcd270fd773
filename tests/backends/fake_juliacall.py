"""A stand-in for juliacall 0.9.x (≥ 0.9.28) and the julia driver, for tests on machines without Julia.

It follows juliacall's documented rules where hallctl depends on them:
- importing it (``from juliacall import Main``) fails when ``PYTHON_JULIACALL_EXE`` is set without
  ``PYTHON_JULIACALL_PROJECT`` (or the other way round), as juliacall 0.9.28 and later do;
- a Python argument reaches Julia as: str → String, bool → Bool, int → Int64, float → Float64,
  None → Nothing, list → PyList, dict → PyDict; a Julia method only matches arguments whose Julia
  type is a subtype of its declared type (``Vector{String}`` refuses a ``PyList``), else MethodError;
- Julia values come back wrapped: a Dict as a ``DictValue`` (a Mapping), a Vector as a
  ``VectorValue`` (a Sequence), numbers, strings and ``nothing`` as Python values;
- ``f._jl_call_nogil(*args)`` calls ``f`` with the GIL released (juliacall ≥ 0.9.24).

``Main.include(path)`` reads the real ``julia/generate.jl`` and takes the signatures of its
``module HallctlDriver`` functions from it; the functions themselves are Python stand-ins that
build the driver's documented result (docs/julia-backend.md) from synthetic frames of the input.
"""

from __future__ import annotations

import json
import os
import re
import threading
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hallctl.sim.hallthruster_json import config_from_dict

SUPERTYPES = {
    "String": {"AbstractString"}, "Bool": {"Integer", "Real", "Number"},
    "Int64": {"Integer", "Signed", "Real", "Number"}, "Float64": {"AbstractFloat", "Real", "Number"}, "Nothing": set(),
    "PyList": {"AbstractVector", "AbstractArray"}, "PyDict": {"AbstractDict"},
}


class JuliaError(Exception):
    """What juliacall raises for a Julia exception."""


class _Wrapper:
    """What the wrappers below share: the wrapped container (private, so a Mapping keeps its items()) and its length."""

    def __init__(self, items: Any) -> None:
        self._items = items

    def __len__(self) -> int:
        return len(self._items)


class PyList(_Wrapper, Sequence):
    """A Python list as Julia sees it (juliacall's PyList{Py}): its elements stay Python objects."""

    def __getitem__(self, i: Any) -> Any:
        return self._items[i]


class PyDict(_Wrapper, Mapping):
    """A Python dict as Julia sees it (juliacall's PyDict{Py,Py})."""

    def __iter__(self) -> Iterator:
        return iter(self._items)

    def __getitem__(self, k: Any) -> Any:
        return self._items[k]


class VectorValue(_Wrapper, Sequence):
    """A Julia Vector handed to Python (elements converted on access). No __array__: callers must convert."""

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            raise TypeError("VectorValue slicing is not mimicked; convert it first")
        return to_python(self._items[i])


class DictValue(_Wrapper, Mapping):
    """A Julia Dict handed to Python (values converted on access)."""

    def __iter__(self) -> Iterator:
        return iter(self._items)

    def __getitem__(self, k: Any) -> Any:
        return to_python(self._items[k])


def julia_type(value: Any) -> str:
    """The Julia type juliacall gives a Python argument."""
    if isinstance(value, str):
        return "String"
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    if value is None:
        return "Nothing"
    if isinstance(value, list):
        return "PyList"
    if isinstance(value, dict):
        return "PyDict"
    raise TypeError(f"the fake juliacall does not convert {type(value).__name__}")


def to_julia(value: Any) -> Any:
    """A Python argument as the Julia value the method receives."""
    kind = julia_type(value)
    return PyList(value) if kind == "PyList" else PyDict(value) if kind == "PyDict" else value


def to_python(value: Any) -> Any:
    """A Julia return value as juliacall hands it back."""
    if isinstance(value, dict):
        return DictValue(value)
    if isinstance(value, list | tuple | np.ndarray):
        return VectorValue([v.item() if isinstance(v, np.generic) else v for v in value])
    if isinstance(value, np.generic):
        return value.item()
    return value


def subtype(actual: str, declared: str) -> bool:
    return declared in ("", "Any", actual) or declared in SUPERTYPES.get(actual, set())


def driver_signatures(source: str) -> dict[str, list[str]]:
    """Declared argument types of every ``function f(a::T, b, …)`` of the driver ('' = untyped)."""
    signatures = {}
    for name, args in re.findall(r"^function (\w+)\(([^)]*)\)", source, flags=re.MULTILINE):
        types_ = [arg.split("::", 1)[1].strip() if "::" in arg else "" for arg in args.split(",") if arg.strip()]
        signatures[name] = types_
    return signatures


class JuliaFunction:
    """A driver function: dispatch on the converted arguments' Julia types, then the Python stand-in."""

    def __init__(self, fake: FakeJulia, name: str, declared: list[str], impl: Callable[..., Any]) -> None:
        self.fake, self.name, self.declared, self.impl = fake, name, declared, impl
        if fake.nogil:
            self._jl_call_nogil = self._call_nogil

    def __call__(self, *args: Any) -> Any:
        kinds = [julia_type(a) for a in args]
        self.fake.calls.append((self.name, kinds, threading.current_thread() is threading.main_thread()))
        if len(args) != len(self.declared) or not all(map(subtype, kinds, self.declared)):
            shown = ", ".join(f"::{k}" for k in kinds)
            raise JuliaError(f"MethodError: no method matching {self.name}({shown})")
        return to_python(self.impl(*(to_julia(a) for a in args)))

    def _call_nogil(self, *args: Any) -> Any:
        self.fake.nogil_calls += 1
        return self(*args)


class FakeJulia:
    """juliacall's ``Main`` with the driver's stand-ins, and what the tests inspect afterwards."""

    def __init__(self, *, nogil: bool = True, retcodes: dict[int, str] | None = None, include_error: str = "") -> None:
        self.nogil = nogil
        self.retcodes = retcodes or {}  # job index → retcode of its run ("success" otherwise)
        self.include_error = include_error
        self.environ: dict[str, str] = {}
        self.calls: list[tuple[str, list[str], bool]] = []
        self.nogil_calls = 0
        self.yields = 0
        self.inputs: list[dict] = []
        self.driver: types.SimpleNamespace | None = None

    # juliacall's Main -------------------------------------------------------------------------
    def seval(self, code: str) -> Any:
        if code.strip() == "isdefined(Main, :HallctlDriver)":
            return self.driver is not None
        raise JuliaError(f"the fake Julia does not evaluate {code!r}")

    def include(self, path: str) -> None:
        if not isinstance(path, str):
            raise JuliaError(f"MethodError: no method matching include(::{julia_type(path)})")
        if self.include_error:
            raise JuliaError(self.include_error)
        signatures = driver_signatures(Path(path).read_text())
        impls = {"run_one": self.run_one, "run_batch": self.run_batch}
        self.driver = types.SimpleNamespace(**{name: JuliaFunction(self, name, signatures[name], impl)
                                               for name, impl in impls.items()})

    def __getattr__(self, name: str) -> Any:
        if name == "HallctlDriver" and self.__dict__.get("driver") is not None:
            return self.driver
        if name == "yield":
            return self._yield
        raise AttributeError(name)

    def _yield(self) -> None:
        self.yields += 1

    # the driver's stand-ins -------------------------------------------------------------------
    def run_one(self, input_path: str, average_start_s: float, max_charge: int) -> dict[str, Any]:
        doc = json.loads(Path(input_path).read_text())
        self.inputs.append(doc)
        index = int(re.search(r"sim-(\d+)\.json$", input_path).group(1)) if "sim-" in input_path else -1
        return driver_result(doc, average_start_s, max_charge, self.retcodes.get(index, "success"))

    def run_batch(self, input_paths: PyList, average_starts: PyList, max_charges: PyList) -> list[dict[str, Any]]:
        return [self.run_one(str(p), float(s), int(c)) for p, s, c in zip(input_paths, average_starts, max_charges,
                                                                            strict=True)]


def synthetic_frames(doc: dict, max_charge: int) -> tuple[np.ndarray, np.ndarray, list[dict[str, np.ndarray]]]:
    """(save times, grid, frames) of a made-up run of the input ``doc``: smooth positive profiles that
    oscillate slowly in time, on HallThruster.jl's grid (z₀, N cell centres, z_N)."""
    cfg = config_from_dict(doc)
    z0, z1 = cfg.domain_m
    dz = (z1 - z0) / cfg.num_cells
    grid = np.concatenate(([z0], z0 + dz * (np.arange(cfg.num_cells) + 0.5), [z1]))
    t = np.linspace(0.0, cfg.duration_s, cfg.num_save)
    x = (grid - z0) / (z1 - z0)
    frames = []
    for k, tk in enumerate(t):
        w = 1.0 + 0.1 * np.sin(2 * np.pi * tk / cfg.duration_s * 3)
        frame = {"Tev": 2.0 + cfg.discharge_voltage_V / 10 * np.exp(-((x - 0.4) / 0.1) ** 2) * w,
                 "E": 1e4 * np.exp(-((x - 0.45) / 0.08) ** 2) * w, "phi": cfg.discharge_voltage_V * (1 - x),
                 "channel_area": np.full(grid.size, np.pi * (0.05**2 - 0.035**2)), "tan_div_angle": 0.01 * x,
                 "ji": 100.0 + 50.0 * x, "nn": 1e19 * np.exp(-3 * x), "dt": 1e-9 * (1 + 0.01 * k)}
        for name in ("B", "ne", "ue", "pe", "grad_pe", "mobility", "nu_an", "nu_en", "nu_ei", "nu_wall", "nu_class",
                     "nu_iz", "nu_ex", "nu_e"):
            frame[name] = (1.0 + x) * w
        for Z in range(1, max_charge + 1):
            n, u = 1e17 / Z * (1 + x) * w, 1e4 * Z * x + 100.0
            frame[f"ni_{Z}"], frame[f"ui_{Z}"], frame[f"niui_{Z}"] = n, u, n * u
        frame["discharge_current"] = 4.0 * w
        frames.append(frame)
    return t, grid, frames


def driver_result(doc: dict, average_start_s: float, max_charge: int, retcode: str) -> dict[str, Any]:
    """What julia/generate.jl's run_one returns for a made-up run (docs/julia-backend.md)."""
    if retcode == "exception":
        return {"retcode": "exception", "error": "KeyError: key \"elements\" not found\nStacktrace: …", "wall_s": 0.0}
    t, grid, frames = synthetic_frames(doc, max_charge)
    if retcode == "failure":
        t, frames = t[: len(t) // 3], frames[: len(t) // 3]
    window = [f for tk, f in zip(t, frames, strict=True) if tk >= average_start_s]
    arrays = [k for k in frames[0] if k not in ("dt", "discharge_current")]
    charges = range(1, max_charge + 1)
    names = ["channel_area", "tan_div_angle", "ji", *(f"{q}_{Z}" for Z in charges for q in ("ni", "niui"))]
    boundaries = {}
    for name in names:
        boundaries[f"{name}_left"] = [float(f[name][0]) for f in frames]
        boundaries[f"{name}_right"] = [float(f[name][-1]) for f in frames]
    return {
        "retcode": retcode, "error": "" if retcode == "success" else "NaN detected in ions at t = 1e-5 s",
        "t": t, "grid": grid, "dt": [f["dt"] for f in frames],
        "discharge_current": [f["discharge_current"] for f in frames],
        "boundaries": boundaries,
        "averaged": {k: sum(f[k] for f in window) / len(window) for k in arrays} if window else {},
        "averaged_discharge_current": (sum(f["discharge_current"] for f in window) / len(window)) if window else np.nan,
        "wall_s": 0.01,
    }


def fake_module(julia: FakeJulia) -> types.ModuleType:
    """The ``juliacall`` module: ``Main`` starts the fake Julia on first access, checking the environment."""
    module = types.ModuleType("juliacall")

    def __getattr__(name: str) -> Any:  # noqa: N807 - a module's __getattr__ (PEP 562)
        if name != "Main":
            raise AttributeError(name)
        env = {k: v for k, v in os.environ.items() if k.startswith(("PYTHON_JULIACALL_", "PYTHON_JULIAPKG_"))}
        if ("PYTHON_JULIACALL_EXE" in env) != ("PYTHON_JULIACALL_PROJECT" in env):
            raise RuntimeError("PYTHON_JULIACALL_EXE and PYTHON_JULIACALL_PROJECT must be set together")
        julia.environ = env
        module.Main = julia
        return julia

    module.__getattr__ = __getattr__
    return module
