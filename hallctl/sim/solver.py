"""The compiled time loop (docs/physics.md §11.6) and frame saving (§13).

:func:`run_chunk` advances the whole simulation state, held in the packed arrays of
:mod:`hallctl.sim.layout`, until a stop time, entirely in compiled code: no Python and no
allocation inside the step loop. The driver (:mod:`hallctl.sim.simulate`) calls it for a few
chunks so that it can report progress in between.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hallctl.sim import layout as lay
from hallctl.sim._jit import jit
from hallctl.sim.boundaries import apply_boundaries
from hallctl.sim.electrons import electron_fields
from hallctl.sim.energy import electron_energy, update_plume
from hallctl.sim.heavy import heavy_derived, ssprk22_step

if TYPE_CHECKING:
    import numpy as np

__all__ = ["electron_step", "frame_metrics", "initialize", "run_chunk", "save_frame"]


@jit
def electron_step(U: np.ndarray, F: np.ndarray, zc: np.ndarray, z_edge: np.ndarray, dz_cell: np.ndarray,
                  dz_edge: np.ndarray, P: np.ndarray, S: np.ndarray, el_tab: np.ndarray, ex_tab: np.ndarray,
                  iteration: int, t: float, dt: float) -> int:
    """Electron update, docs/physics.md §11.6 step 3 (a–f). Returns 0 or a failure code."""
    code = electron_fields(U, F, zc, z_edge, P, S, el_tab, iteration, t)
    if code != 0:
        return code
    return electron_energy(F, zc, dz_cell, dz_edge, P, S, ex_tab, dt)


@jit
def frame_metrics(U: np.ndarray, F: np.ndarray, P: np.ndarray) -> tuple[float, float]:
    """(thrust [N], ion current [A]) of the current state from boundary-edge values (§13)."""
    N = int(P[lay.P_N])
    nZ = int(P[lay.P_NZ])
    m = P[lay.P_MASS]
    A_L = 0.5 * (F[lay.AREA, 0] + F[lay.AREA, 1])
    A_R = 0.5 * (F[lay.AREA, N] + F[lay.AREA, N + 1])
    thrust = 0.0
    for Z in range(1, nZ + 1):
        nL = 0.5 * (U[2 * Z - 1, 0] / m + U[2 * Z - 1, 1] / m)
        fL = 0.5 * (U[2 * Z, 0] / m + U[2 * Z, 1] / m)
        nR = 0.5 * (U[2 * Z - 1, N] / m + U[2 * Z - 1, N + 1] / m)
        fR = 0.5 * (U[2 * Z, N] / m + U[2 * Z, N + 1] / m)
        thrust += A_R * m * fR * fR / nR - A_L * m * fL * fL / nL
    if P[lay.P_DIV_CORR] != 0.0:
        tan_R = 0.5 * (F[lay.TAN_DIV, N] + F[lay.TAN_DIV, N + 1])
        thrust *= math.cos(math.atan(tan_R))
    I_i = 0.5 * (F[lay.JI, N] + F[lay.JI, N + 1]) * A_R
    return thrust, I_i


@jit
def save_frame(U: np.ndarray, F: np.ndarray, AV: np.ndarray, P: np.ndarray, S: np.ndarray, k: int, ser_id: np.ndarray,
               ser_thrust: np.ndarray, ser_ii: np.ndarray) -> None:
    """Record frame ``k``: time series, and the running sums of the time average (§13)."""
    thrust, I_i = frame_metrics(U, F, P)
    ser_id[k] = S[lay.S_ID]
    ser_thrust[k] = thrust
    ser_ii[k] = I_i
    if k < int(P[lay.P_AVG_START]):
        return
    n2 = F.shape[1]
    nZ = int(P[lay.P_NZ])
    m = P[lay.P_MASS]
    rows = (lay.B, lay.NU_E, lay.NU_AN, lay.NU_EN, lay.NU_EI, lay.NU_IZ, lay.NU_EX, lay.NU_WALL, lay.NU_CLASS, lay.MU,
            lay.NN, lay.NE)
    for j in range(len(rows)):
        r = rows[j]
        for i in range(n2):
            AV[lay.A_B + j, i] += F[r, i]
    rows2 = (lay.UE, lay.JI, lay.PHI, lay.EF, lay.TEV, lay.PE, lay.GRAD_PE, lay.AREA, lay.TAN_DIV, lay.DADZ)
    for j in range(len(rows2)):
        r = rows2[j]
        for i in range(n2):
            AV[lay.A_UE + j, i] += F[r, i]
    for Z in range(1, nZ + 1):
        for i in range(n2):
            rho = U[2 * Z - 1, i]
            AV[lay.A_NI1 + Z - 1, i] += rho / m
            AV[lay.A_UI1 + Z - 1, i] += U[2 * Z, i] / rho
            AV[lay.A_NIUI1 + Z - 1, i] += U[2 * Z, i] / m
    S[lay.S_NAVG] += 1.0
    S[lay.S_AVG_ID] += S[lay.S_ID]
    S[lay.S_AVG_DT] += S[lay.S_DT_NEXT]


@jit
def run_chunk(U: np.ndarray, U1: np.ndarray, dU: np.ndarray, F: np.ndarray, W: np.ndarray, AV: np.ndarray,
              zc: np.ndarray, z_edge: np.ndarray, dz_cell: np.ndarray, dz_edge: np.ndarray, P: np.ndarray,
              S: np.ndarray, iz_tab: np.ndarray, iz_energy: np.ndarray, iz_react: np.ndarray, iz_prod: np.ndarray,
              ex_tab: np.ndarray, el_tab: np.ndarray, save_t: np.ndarray, ser_id: np.ndarray, ser_thrust: np.ndarray,
              ser_ii: np.ndarray, t_stop: float) -> int:
    """Advance the simulation until ``S[S_T] ≥ t_stop`` or the last frame (docs/physics.md §11.6).

    Each step: choose Δt (§11.4: first step 100 ε, adaptive proposal clamped to
    [min_dt, max_dt], small-step escape hatch, shortened to land on the next output time),
    SSPRK22 heavy step, boundary conditions, derived quantities, electron update, plume,
    iteration += 1, t += Δt, save, new proposal.

    Returns:
        ``layout.OK`` (stop time reached), ``layout.DONE`` (all frames saved) or a failure code
        (``S[S_FAIL_T]`` holds the time of the failed step).
    """
    nsave = save_t.shape[0]
    adaptive = P[lay.P_ADAPTIVE] != 0.0
    min_dt = P[lay.P_MIN_DT]
    max_dt = P[lay.P_MAX_DT]
    dt_base = P[lay.P_DT_BASE]
    max_small = P[lay.P_MAX_SMALL]
    cfl = P[lay.P_CFL]
    plume = P[lay.P_PLUME] != 0.0
    while True:
        k = int(S[lay.S_SAVE_IDX])
        if k >= nsave:
            return lay.DONE
        t = S[lay.S_T]
        if t >= t_stop:
            return lay.OK
        it = int(S[lay.S_ITER])
        if it == 1:
            dt = S[lay.S_DT]
        elif not adaptive:
            dt = dt_base
        elif S[lay.S_UNIFORM] > 0.0:
            # escape hatch: fixed base steps after too many minimum-size steps (§11.4)
            dt = dt_base
            S[lay.S_UNIFORM] += 1.0
            if S[lay.S_UNIFORM] > max_small:
                S[lay.S_UNIFORM] = 0.0
        else:
            dt = min(max(S[lay.S_DT_NEXT], min_dt), max_dt)
            if dt <= min_dt:
                S[lay.S_SMALL] += 1.0
                if S[lay.S_SMALL] >= max_small:
                    S[lay.S_UNIFORM] = 1.0
                    S[lay.S_SMALL] = 0.0
            else:
                S[lay.S_SMALL] = 0.0
        if not (dt > 0.0 and dt - dt == 0.0):
            S[lay.S_FAIL_T] = t
            S[lay.S_FAIL_CODE] = lay.FAIL_DT
            return lay.FAIL_DT
        t_next = save_t[k]
        land = t + dt >= t_next
        if land:
            dt = t_next - t
        S[lay.S_DT] = dt
        if not ssprk22_step(U, U1, dU, F, W, dz_cell, dz_edge, P, S, dt, iz_tab, iz_energy, iz_react,
                            iz_prod):
            S[lay.S_FAIL_T] = t
            S[lay.S_FAIL_CODE] = lay.FAIL_HEAVY
            return lay.FAIL_HEAVY
        apply_boundaries(U, F, P, S)
        heavy_derived(U, F, P)
        code = electron_step(U, F, zc, z_edge, dz_cell, dz_edge, P, S, el_tab, ex_tab, it, t, dt)
        if code != 0:
            S[lay.S_FAIL_T] = t
            S[lay.S_FAIL_CODE] = code
            return code
        if plume:
            update_plume(F, zc, P)
        S[lay.S_ITER] = it + 1
        S[lay.S_T] = t_next if land else t + dt
        S[lay.S_STEPS] += 1.0
        S[lay.S_DT_NEXT] = min(cfl * S[lay.S_DT_IZ], math.sqrt(cfl) * S[lay.S_DT_E], cfl * S[lay.S_DT_U])
        if land:
            save_frame(U, F, AV, P, S, k, ser_id, ser_thrust, ser_ii)
            S[lay.S_SAVE_IDX] = k + 1


@jit
def initialize(U: np.ndarray, U1: np.ndarray, dU: np.ndarray, F: np.ndarray, W: np.ndarray, AV: np.ndarray,
               zc: np.ndarray, z_edge: np.ndarray, dz_cell: np.ndarray, dz_edge: np.ndarray, P: np.ndarray,
               S: np.ndarray, iz_tab: np.ndarray, iz_energy: np.ndarray, iz_react: np.ndarray, iz_prod: np.ndarray,
               ex_tab: np.ndarray, el_tab: np.ndarray, save_t: np.ndarray, ser_id: np.ndarray,
               ser_thrust: np.ndarray, ser_ii: np.ndarray) -> int:
    """Set-up before the loop (docs/physics.md §11.6): boundary conditions, derived quantities, one
    electron update at t = 0 with iteration = -1, Δt = 100 ε and I_d = 0, then frame 0.

    Same arguments as :func:`run_chunk` (without ``t_stop``). Returns 0 or a failure code.
    """
    apply_boundaries(U, F, P, S)
    heavy_derived(U, F, P)
    code = electron_step(U, F, zc, z_edge, dz_cell, dz_edge, P, S, el_tab, ex_tab, -1, 0.0, S[lay.S_DT])
    if code != 0:
        S[lay.S_FAIL_CODE] = code
        return code
    S[lay.S_ITER] = 1.0
    S[lay.S_DT_NEXT] = S[lay.S_DT]
    save_frame(U, F, AV, P, S, 0, ser_id, ser_thrust, ser_ii)
    S[lay.S_SAVE_IDX] = 1.0
    return 0
