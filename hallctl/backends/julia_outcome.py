"""The julia driver's result for one simulation, as the backend-independent :class:`SimOutcome`.

``julia/generate.jl`` returns, per simulation, a Dict (docs/julia-backend.md, "What the driver
returns"): HallThruster.jl's ``retcode`` and ``error``, the save times, the grid, every frame's
discharge current and time step, every frame's two boundary values of the quantities thrust and
ion current need, and the frames of the averaging window averaged. Everything the native backend
derives from those (performance, maxima of T_e and E, thrust and ion current per frame) is
computed here by the functions the native solver uses (:mod:`hallctl.sim.metrics`).

juliacall hands back Julia containers wrapped (``DictValue``, ``VectorValue``, …): :func:`plain`
turns them into dicts, float arrays and Python scalars first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hallctl.jobs import PERFORMANCE_NAMES, RECORD_FIELDS, SERIES_NAMES, SimOutcome
from hallctl.sim.config import SimConfig
from hallctl.sim.metrics import frame_thrust_ion_current, performance

__all__ = ["BOUNDARY_NAMES", "estimated_steps", "outcome_from_driver", "plain"]

#: HallThruster.jl's ``retcode`` → hallctl's status (as the native backend maps its own outcomes).
_STATUS = {"success": "success", "failure": "failure", "error": "error"}

#: Quantities of which the driver returns both boundary values per frame (``ni_Z``/``niui_Z`` per charge).
BOUNDARY_NAMES = ("channel_area", "tan_div_angle", "ji")


def plain(value: Any) -> Any:
    """A value returned through juliacall as plain Python: mappings → dict, numeric vectors → float
    arrays, other vectors → lists, strings and numbers unchanged."""
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, Mapping) or hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    items = list(value)
    if all(isinstance(x, int | float) and not isinstance(x, bool) for x in items):
        return np.asarray(items, dtype=float)
    return [plain(x) for x in items]


def estimated_steps(t_s: np.ndarray, dt_s: np.ndarray) -> int:
    """Time steps taken, estimated from the saved frames: Σ_k (t_k − t_{k−1}) / Δt_k, with Δt_k the step
    in use at frame k (HallThruster.jl v0.21.6 does not report its step count)."""
    n = min(len(t_s), len(dt_s))
    if n < 2:
        return 0
    gaps, dt = np.diff(np.asarray(t_s[:n], dtype=float)), np.asarray(dt_s[1:n], dtype=float)
    ok = np.isfinite(dt) & (dt > 0)
    return round(float(np.sum(gaps[ok] / dt[ok])))


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def _full_profiles(averaged: dict[str, np.ndarray], config: SimConfig, n2: int) -> dict[str, np.ndarray]:
    """The averaged frame by hallctl's names, N+2 entries each; ion species above max_charge are zeros
    (as the native solver reports them) and everything is NaN when no frame was averaged."""
    if not averaged:
        return {}
    prof = {name: np.asarray(v, dtype=float) for name, v in averaged.items()}
    for Z in range(config.max_charge + 1, 4):
        for name in (f"ni_{Z}", f"ui_{Z}", f"niui_{Z}"):
            prof[name] = np.zeros(n2)
    return prof


def _series(raw: dict[str, Any], config: SimConfig, frames: int) -> dict[str, np.ndarray]:
    bounds = raw.get("boundaries") or {}
    names = [*BOUNDARY_NAMES, *(f"{q}_{Z}" for Z in range(1, config.max_charge + 1) for q in ("ni", "niui"))]
    edges = {name: np.stack([np.asarray(bounds[f"{name}_left"], dtype=float),
                             np.asarray(bounds[f"{name}_right"], dtype=float)], axis=-1).reshape(frames, 2)
             for name in names}
    thrust, ion_current = frame_thrust_ion_current(edges, config)
    series = {"discharge_current_A": np.asarray(raw["discharge_current"], dtype=float),
              "ion_current_A": ion_current, "thrust_N": thrust}
    return {name: series[name] for name in SERIES_NAMES}


def outcome_from_driver(raw: Mapping[str, Any], config: SimConfig) -> SimOutcome:
    """One simulation's driver result (already :func:`plain`) as a :class:`SimOutcome` of the native schema.

    ``retcode`` success/failure/error maps to the same status; an exception the driver caught
    (``retcode`` "exception": HallThruster.jl refused the input or crashed) is an "error", like an
    exception in the native backend.
    """
    raw = dict(raw)
    retcode = str(raw.get("retcode", "exception"))
    status = _STATUS.get(retcode, "error")
    reason = "" if status == "success" else (
        f"HallThruster.jl: {_first_line(raw.get('error', ''))}" if retcode == "exception"
        else f"HallThruster.jl returned {retcode}: {_first_line(raw.get('error', ''))}")
    wall_s = float(raw.get("wall_s", 0.0))
    t = raw.get("t")
    if t is None or len(t) == 0:
        return SimOutcome(status=status if status != "success" else "error", reason=reason or "no frame saved",
                          wall_s=wall_s)
    t_s = np.asarray(t, dtype=float)
    z_full = np.asarray(raw["grid"], dtype=float)
    full = _full_profiles(raw.get("averaged") or {}, config, z_full.size)
    profiles = {name: (full[name] if full else np.full(z_full.size, np.nan))[1:-1] for name in RECORD_FIELDS}
    perf = dict.fromkeys(PERFORMANCE_NAMES, math.nan)
    if full:
        perf.update(performance(config, full, float(raw["averaged_discharge_current"]), z_full))
    return SimOutcome(status=status, reason=reason, z_m=z_full[1:-1], profiles=profiles, t_s=t_s,
                      series=_series(raw, config, t_s.size), performance=perf,
                      steps=estimated_steps(t_s, np.asarray(raw.get("dt", []), dtype=float)), wall_s=wall_s)
