"""Driver: ``simulate(config) -> Result`` (docs/physics.md §11–13).

Validates the configuration, builds the grid and every array once (:mod:`hallctl.sim.setup`),
runs the compiled time loop in a few chunks of simulated time (reporting progress in between),
and turns the running sums into time-averaged profiles and performance metrics. A numerical
failure is returned as a ``Result`` with ``status`` "failure"/"error" and a short reason; only
invalid input raises (:class:`hallctl.errors.SimulationInputError`).
"""

from __future__ import annotations

import math
import time

import numpy as np

from hallctl.errors import SimulationInputError
from hallctl.report import Reporter, resolve
from hallctl.sim import layout as lay
from hallctl.sim.config import SimConfig
from hallctl.sim.metrics import performance
from hallctl.sim.result import PERFORMANCE_KEYS, Result
from hallctl.sim.setup import SimArrays, build_arrays
from hallctl.sim.solver import initialize, run_chunk

__all__ = ["simulate"]

NUM_CHUNKS = 20
"""Chunks of simulated time between progress reports (and Python-side checks)."""

_FAIL_REASONS = {
    lay.FAIL_HEAVY: "non-finite heavy-species density or momentum",
    lay.FAIL_CURRENT: "non-finite discharge current",
    lay.FAIL_TE: "non-finite electron energy",
    lay.FAIL_PHI: "non-finite potential",
    lay.FAIL_DT: "non-finite time step",
}

_AV_ROWS = {
    "B": lay.A_B, "nu_e": lay.A_NU_E, "nu_an": lay.A_NU_AN, "nu_en": lay.A_NU_EN, "nu_ei": lay.A_NU_EI,
    "nu_iz": lay.A_NU_IZ, "nu_ex": lay.A_NU_EX, "nu_wall": lay.A_NU_WALL, "nu_class": lay.A_NU_CLASS,
    "mobility": lay.A_MU, "nn": lay.A_NN, "ne": lay.A_NE, "ni_1": lay.A_NI1, "ni_2": lay.A_NI2, "ni_3": lay.A_NI3,
    "ui_1": lay.A_UI1, "ui_2": lay.A_UI2, "ui_3": lay.A_UI3, "niui_1": lay.A_NIUI1, "niui_2": lay.A_NIUI2,
    "niui_3": lay.A_NIUI3, "ue": lay.A_UE, "ji": lay.A_JI, "phi": lay.A_PHI, "E": lay.A_EF, "Tev": lay.A_TEV,
    "pe": lay.A_PE, "grad_pe": lay.A_GRAD_PE, "channel_area": lay.A_AREA, "tan_div_angle": lay.A_TAN,
}


def simulate(config: SimConfig, *, report: Reporter | None = None) -> Result:
    """Run one simulation of ``config`` and return its :class:`Result`.

    Args:
        config: the configuration (validated again here).
        report: progress sink (simulated time); None = silent.

    Raises:
        SimulationInputError: invalid configuration or unreadable input file. Numerical failures
            never raise; they come back as ``status`` "failure" or "error".
    """
    if not isinstance(config, SimConfig):
        raise SimulationInputError(f"simulate: config must be a SimConfig, got {type(config).__name__}")
    config.validate()
    report = resolve(report)
    arrays = build_arrays(config)
    args = arrays.kernel_args()
    z_m = np.concatenate(([arrays.grid.z_edge[0]], arrays.grid.z_cell[1:-1], [arrays.grid.z_edge[-1]]))

    t0 = time.perf_counter()
    try:
        code = initialize(*args)
        run_chunk(*args, -1.0)  # compiles (or loads from cache); takes no step
    except Exception as exc:
        return _finish(config, arrays, z_m, "error", f"set-up failed: {exc}", 0.0, time.perf_counter() - t0)
    compile_s = time.perf_counter() - t0
    if code != 0:
        return _finish(config, arrays, z_m, "failure", f"{_FAIL_REASONS[code]} at set-up", 0.0, compile_s)

    status, reason = "success", ""
    t_start = time.perf_counter()
    duration = config.duration_s
    with report.progress("simulating", total=duration, unit="s") as bar:
        for c in range(1, NUM_CHUNKS + 1):
            t_stop = duration if c == NUM_CHUNKS else duration * c / NUM_CHUNKS
            try:
                code = run_chunk(*args, t_stop)
            except Exception as exc:
                status, reason = "error", f"{type(exc).__name__}: {exc}"
                break
            bar.update(completed=float(arrays.S[lay.S_T]), steps=int(arrays.S[lay.S_STEPS]))
            if code == lay.DONE:
                break
            if code != lay.OK:
                status = "failure"
                reason = f"{_FAIL_REASONS.get(code, 'numerical failure')} at t={arrays.S[lay.S_FAIL_T]:.4g} s"
                break
    wall_s = time.perf_counter() - t_start
    return _finish(config, arrays, z_m, status, reason, wall_s, compile_s)


def _edges(a: np.ndarray) -> np.ndarray:
    """Replace the ghost entries by boundary-edge values (mean of ghost and neighbour, §13)."""
    out = a.copy()
    out[0] = 0.5 * (a[0] + a[1])
    out[-1] = 0.5 * (a[-1] + a[-2])
    return out


def _finish(config: SimConfig, arrays: SimArrays, z_m: np.ndarray, status: str, reason: str, wall_s: float,
            compile_s: float) -> Result:
    S = arrays.S
    nsaved = int(S[lay.S_SAVE_IDX])
    navg = S[lay.S_NAVG]
    n2 = z_m.size
    profiles: dict[str, np.ndarray] = {}
    for name, row in _AV_ROWS.items():
        if navg > 0:
            profiles[name] = _edges(arrays.AV[row] / navg)
        else:
            profiles[name] = np.full(n2, np.nan)
    perf = dict.fromkeys(PERFORMANCE_KEYS, math.nan)
    if navg > 0:
        perf.update(performance(config, profiles, S[lay.S_AVG_ID] / navg, z_m))
    return Result(status=status, reason=reason, config=config, z_m=z_m, profiles=profiles,
                  t_s=arrays.save_t[:nsaved].copy(), discharge_current_A=arrays.ser_id[:nsaved].copy(),
                  ion_current_A=arrays.ser_ii[:nsaved].copy(), thrust_N=arrays.ser_thrust[:nsaved].copy(),
                  performance=perf, steps=int(S[lay.S_STEPS]),
                  mean_dt_s=S[lay.S_AVG_DT] / navg if navg > 0 else math.nan, wall_s=wall_s, compile_s=compile_s)
