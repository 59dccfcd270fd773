"""Implicit electron energy equation and pressure gradient (docs/physics.md §6, §11.5).

One linearly implicit upwind finite-volume solve per time step (θ = ``implicit_energy``,
1 = backward Euler) for nε = 3/2 n_e T_e, with the conductive flux -κ ∂(nε/n_e) — the gradient
of the mean energy, not of T_e (docs/physics.md §16 item 1) — followed by the T_e floor.

Speed (docs/physics.md §17): the rate lookups run in a scalar loop of their own, sources and matrix
rows in vector loops (upwinding by selects), and the tridiagonal solve eliminates from both
ends at once, halving its chain of dependent divisions.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hallctl.sim import layout as lay
from hallctl.sim._jit import jit
from hallctl.sim.constants import E_CHARGE
from hallctl.sim.rates import lookup_rate

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "apply_gradient",
    "electron_energy",
    "gradient_weights",
    "pressure_gradient",
    "solve_tridiagonal",
    "update_plume",
]


@jit
def solve_tridiagonal(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, x: np.ndarray,
                      w: np.ndarray) -> None:
    """Solve a_i x_(i-1) + b_i x_i + c_i x_(i+1) = d_i without pivoting, eliminating from both
    ends at once ("burn at both ends"): rows 0..m-1 forward as in the Thomas algorithm, rows
    n-1..m+1 backward, m = n//2, then the middle row and the two back-substitutions.

    The two eliminations are independent chains of divisions that the CPU overlaps, which
    halves the latency of the solve; the result equals Thomas' up to rounding.

    Args:
        a: sub-diagonal (a[0] unused); b: diagonal; c: super-diagonal (c[-1] unused);
        d: right-hand side; x: output; w: scratch; all shape (n,). ``d`` is overwritten.
    """
    n = b.shape[0]
    if n < 3:
        w[0] = c[0] / b[0]
        d[0] = d[0] / b[0]
        for i in range(1, n):
            den = b[i] - a[i] * w[i - 1]
            w[i] = c[i] / den
            d[i] = (d[i] - a[i] * d[i - 1]) / den
        x[n - 1] = d[n - 1]
        for i in range(n - 2, -1, -1):
            x[i] = d[i] - w[i] * x[i + 1]
        return
    m = n // 2
    # forward: w_i = c_i/den_i, d_i ← (d_i - a_i d_(i-1))/den_i with den_i = b_i - a_i w_(i-1);
    # backward (rows j > m): w_j = a_j/den_j, d_j ← (d_j - c_j d_(j+1))/den_j, den_j = b_j - c_j w_(j+1).
    # The running w, d of both sweeps stay in registers (a reload through memory would lengthen
    # the dependency chain of every row).
    wf = c[0] / b[0]
    df = d[0] / b[0]
    w[0] = wf
    d[0] = df
    wb = a[n - 1] / b[n - 1]
    db = d[n - 1] / b[n - 1]
    w[n - 1] = wb
    d[n - 1] = db
    for k in range(1, m):
        den = b[k] - a[k] * wf
        wf = c[k] / den
        df = (d[k] - a[k] * df) / den
        w[k] = wf
        d[k] = df
        j = n - 1 - k
        if j > m:
            den = b[j] - c[j] * wb
            wb = a[j] / den
            db = (d[j] - c[j] * db) / den
            w[j] = wb
            d[j] = db
    # middle row with x_(m-1) = d_(m-1) - w_(m-1) x_m and x_(m+1) = d_(m+1) - w_(m+1) x_m
    xm = (d[m] - a[m] * d[m - 1] - c[m] * d[m + 1]) / (b[m] - a[m] * w[m - 1] - c[m] * w[m + 1])
    x[m] = xm
    xu = xm
    xd = xm
    for k in range(1, m + 1):
        xu = d[m - k] - w[m - k] * xu
        x[m - k] = xu
        if m + k < n:
            xd = d[m + k] - w[m + k] * xd
            x[m + k] = xd


@jit
def pressure_gradient(p: np.ndarray, z: np.ndarray, out: np.ndarray) -> None:
    """∂p/∂z by second-order three-point differences on the cell centres incl. ghosts
    (forward at 0, central inside, backward at the last cell; nonuniform weights, §11.5)."""
    n = p.shape[0]
    h1 = z[1] - z[0]
    h2 = z[2] - z[1]
    out[0] = (-(2.0 * h1 + h2) / (h1 * (h1 + h2)) * p[0] + (h1 + h2) / (h1 * h2) * p[1]
              - h1 / (h2 * (h1 + h2)) * p[2])
    for i in range(1, n - 1):
        h1 = z[i] - z[i - 1]
        h2 = z[i + 1] - z[i]
        out[i] = (-h2 / (h1 * (h1 + h2)) * p[i - 1] + (h2 - h1) / (h1 * h2) * p[i]
                  + h1 / (h2 * (h1 + h2)) * p[i + 1])
    h1 = z[n - 2] - z[n - 3]
    h2 = z[n - 1] - z[n - 2]
    out[n - 1] = (h2 / (h1 * (h1 + h2)) * p[n - 3] - (h1 + h2) / (h1 * h2) * p[n - 2]
                  + (h1 + 2.0 * h2) / (h2 * (h1 + h2)) * p[n - 1])


def gradient_weights(z: np.ndarray) -> np.ndarray:
    """Weights (w_left, w_centre, w_right) of :func:`pressure_gradient` at every cell, shape
    (3, n): ∂p_i = w0 p_(i-1) + w1 p_i + w2 p_(i+1) inside, with the one-sided stencils
    shifted to (0, 1, 2) at the first cell and (n-3, n-2, n-1) at the last."""
    import numpy as np

    z = np.asarray(z, dtype=float)
    n = z.size
    w = np.zeros((3, n))
    h1, h2 = z[1] - z[0], z[2] - z[1]
    w[:, 0] = (-(2 * h1 + h2) / (h1 * (h1 + h2)), (h1 + h2) / (h1 * h2), -h1 / (h2 * (h1 + h2)))
    h1 = z[1:-1] - z[:-2]
    h2 = z[2:] - z[1:-1]
    w[0, 1:-1] = -h2 / (h1 * (h1 + h2))
    w[1, 1:-1] = (h2 - h1) / (h1 * h2)
    w[2, 1:-1] = h1 / (h2 * (h1 + h2))
    h1, h2 = z[-2] - z[-3], z[-1] - z[-2]
    w[:, -1] = (h2 / (h1 * (h1 + h2)), -(h1 + h2) / (h1 * h2), (h1 + 2 * h2) / (h2 * (h1 + h2)))
    return w


@jit
def apply_gradient(F: np.ndarray, p: int, out: int, n: int) -> None:
    """F[out] = ∂F[p] with the precomputed :func:`gradient_weights` in F[GW0..GW2] (same stencils
    as :func:`pressure_gradient`; n = N+2 cells)."""
    F[out, 0] = F[lay.GW0, 0] * F[p, 0] + F[lay.GW1, 0] * F[p, 1] + F[lay.GW2, 0] * F[p, 2]
    for i in range(1, n - 1):
        F[out, i] = F[lay.GW0, i] * F[p, i - 1] + F[lay.GW1, i] * F[p, i] + F[lay.GW2, i] * F[p, i + 1]
    F[out, n - 1] = (F[lay.GW0, n - 1] * F[p, n - 3] + F[lay.GW1, n - 1] * F[p, n - 2]
                     + F[lay.GW2, n - 1] * F[p, n - 1])


@jit(inline=True)
def _implicit_row(FL_L: float, FL_i: float, FR_i: float, FR_R: float, nE_L: float, nE_i: float, nE_R: float, Q: float,
                  dt: float, theta: float, idz: float) -> tuple[float, float, float, float]:
    """(a, b, c, d) of one interior row of the θ-implicit energy system (docs/physics.md §6.4) from
    the edge fluxes F_L = FL_L nε_(i-1) + FL_i nε_i, F_R = FR_i nε_i + FR_R nε_(i+1) and the
    source Q [eV m⁻³ s⁻¹]: nε_i + θ Δt (F_R - F_L)/Δz = nε_i^old + Δt Q - (1-θ) Δt (F_R - F_L)^old/Δz."""
    f = theta * dt * idz
    rhs = nE_i + dt * Q
    if theta < 1.0:
        FR_old = FR_i * nE_i + FR_R * nE_R
        FL_old = FL_L * nE_L + FL_i * nE_i
        rhs -= dt * (1.0 - theta) * (FR_old - FL_old) * idz
    return -f * FL_L, 1.0 + f * (FR_i - FL_i), f * FR_R, rhs


@jit
def electron_energy(F: np.ndarray, zc: np.ndarray, dz_cell: np.ndarray, dz_edge: np.ndarray, P: np.ndarray,
                    S: np.ndarray, ex_tab: np.ndarray, dt: float) -> int:
    """Electron energy update, docs/physics.md §11.6 step 3f (§6.3 sources, §6.4 scheme).

    Computes ν_ex and the excitation loss (k_ex at the ε of step 2, minus the fresh K), Ohmic
    heating, wall and ionization losses, assembles and solves the tridiagonal system for nε at
    all N+2 cells, applies the T_e floor, then p_e and ∂p_e.

    Returns:
        0, or ``layout.FAIL_TE`` when a ghost-cell nε is not finite.
    """
    N = int(P[lay.P_N])
    n2 = N + 2
    landmark = P[lay.P_LANDMARK] != 0.0
    theta = P[lay.P_THETA]
    E_ex = P[lay.P_EX_ENERGY]
    Tmin = P[lay.P_TMIN]
    plume = P[lay.P_PLUME] != 0.0
    sheath_bc = P[lay.P_SHEATH_BC] != 0.0
    five3 = 5.0 / 3.0
    F[lay.NU_EX, 0] = 0.0
    F[lay.NU_EX, N + 1] = 0.0
    for i in range(1, N + 1):  # rate lookups (gathers): a scalar loop of their own
        k_ex = lookup_rate(ex_tab, F[lay.EPS, i])
        F[lay.WORK3, i] = k_ex
        F[lay.NU_EX, i] = k_ex * F[lay.NN, i]
    # sources (§6.3): Ohmic heating - wall losses - inelastic losses (ionization, excitation)
    for i in range(1, N + 1):
        ne = F[lay.NE, i]
        K = F[lay.KIN, i]
        ndot_ex = F[lay.WORK3, i] * ne * F[lay.NN, i]
        if landmark:
            Q_ohm = ne * F[lay.UE, i] * (-F[lay.EF, i])
            Q_inel = F[lay.INEL_IZ, i] + ndot_ex * E_ex
        else:
            Q_ohm = 2.0 * ne * K * F[lay.NU_E, i] + F[lay.UE, i] * F[lay.GRAD_PE, i]
            Q_inel = F[lay.INEL_IZ, i] + ndot_ex * (E_ex - K)
        Q = Q_ohm - ne * F[lay.W_WALL, i] - Q_inel
        if plume:  # area growth of the plume (§2.4): -5/3 nε u_e ∂ln A/∂z
            Q -= five3 * F[lay.NEPS, i] * F[lay.UE, i] * F[lay.DLNA, i]
        F[lay.WORK4, i] = Q
    # fluxes (§6.4) as linear combinations of nε_(i-1), nε_i, nε_(i+1): upwind convection 5/3 u_e nε
    # by the sign of ū = ¼[Δz_L(u_L + u_i) + Δz_R(u_i + u_R)]/Δz, and conduction -κ ∂(nε/n_e)
    for i in range(1, N + 1):
        gL = F[lay.INV_DZE, i - 1]  # 1/Δz_L
        gR = F[lay.INV_DZE, i]  # 1/Δz_R
        uL = F[lay.UE, i - 1]
        ui = F[lay.UE, i]
        uR = F[lay.UE, i + 1]
        kL = F[lay.KAPPA, i - 1]
        ki = F[lay.KAPPA, i]
        kR = F[lay.KAPPA, i + 1]
        up = dz_edge[i - 1] * (uL + ui) + dz_edge[i] * (ui + uR) > 0.0
        FR_i = five3 * ui + ki * F[lay.INV_NE, i] * gR if up else kR * F[lay.INV_NE, i] * gR
        FR_R = -ki * F[lay.INV_NE, i + 1] * gR if up else five3 * uR - kR * F[lay.INV_NE, i + 1] * gR
        FL_L = five3 * uL + kL * F[lay.INV_NE, i - 1] * gL if up else ki * F[lay.INV_NE, i - 1] * gL
        FL_i = -kL * F[lay.INV_NE, i] * gL if up else five3 * ui - ki * F[lay.INV_NE, i] * gL
        a, b, c, d = _implicit_row(FL_L, FL_i, FR_i, FR_R, F[lay.NEPS, i - 1], F[lay.NEPS, i],
                                   F[lay.NEPS, i + 1], F[lay.WORK4, i], dt, theta, F[lay.INV_DZC, i])
        F[lay.TRI_A, i] = a
        F[lay.TRI_B, i] = b
        F[lay.TRI_C, i] = c
        F[lay.TRI_D, i] = d
    # cell 1 with downwind flow: its left flux is the anode sheath's 2 n_e u_sh (T_e + V_s) with
    # T_e1 = ⅔ nε_1/n_e1 (sheath boundary) or the upwind form (§6.4)
    ui = F[lay.UE, 1]
    if not dz_edge[0] * (F[lay.UE, 0] + ui) + dz_edge[1] * (ui + F[lay.UE, 2]) > 0.0:
        gL = F[lay.INV_DZE, 0]
        gR = F[lay.INV_DZE, 1]
        kR = F[lay.KAPPA, 2]
        FR_i = kR * F[lay.INV_NE, 1] * gR
        FR_R = five3 * F[lay.UE, 2] - kR * F[lay.INV_NE, 2] * gR
        if sheath_bc:
            FL_L = 0.0
            FL_i = 4.0 / 3.0 * ui * (1.0 + S[lay.S_VS] / (2.0 / 3.0 * F[lay.NEPS, 1] * F[lay.INV_NE, 1]))
        else:
            FL_L = five3 * F[lay.UE, 0] + F[lay.KAPPA, 0] * F[lay.INV_NE, 0] * gL
            FL_i = -F[lay.KAPPA, 0] * F[lay.INV_NE, 1] * gL
        a, b, c, d = _implicit_row(FL_L, FL_i, FR_i, FR_R, F[lay.NEPS, 0], F[lay.NEPS, 1], F[lay.NEPS, 2],
                                   F[lay.WORK4, 1], dt, theta, F[lay.INV_DZC, 1])
        F[lay.TRI_A, 1] = a
        F[lay.TRI_B, 1] = b
        F[lay.TRI_C, 1] = c
        F[lay.TRI_D, 1] = d
    # boundary rows
    if (not sheath_bc) or F[lay.UE, 1] > 0.0:
        F[lay.TRI_B, 0] = 0.5 * F[lay.INV_NE, 0]
        F[lay.TRI_C, 0] = 0.5 * F[lay.INV_NE, 1]
        F[lay.TRI_D, 0] = 1.5 * P[lay.P_TE_ANODE]
    else:
        F[lay.TRI_B, 0] = F[lay.INV_NE, 0]
        F[lay.TRI_C, 0] = -F[lay.INV_NE, 1]
        F[lay.TRI_D, 0] = 0.0
    F[lay.TRI_A, 0] = 0.0
    F[lay.TRI_A, N + 1] = 0.5 * F[lay.INV_NE, N]
    F[lay.TRI_B, N + 1] = 0.5 * F[lay.INV_NE, N + 1]
    F[lay.TRI_C, N + 1] = 0.0
    F[lay.TRI_D, N + 1] = 1.5 * P[lay.P_TE_CATHODE]
    solve_tridiagonal(F[lay.TRI_A], F[lay.TRI_B], F[lay.TRI_C], F[lay.TRI_D], F[lay.NEPS], F[lay.TRI_W])
    # floor (§6.4 steps 1–2)
    for i in range(1, N + 1):
        floor = 1.5 * Tmin * F[lay.NE, i]
        v = F[lay.NEPS, i]
        F[lay.NEPS, i] = floor if (v - v != 0.0 or v < floor) else v
    if not (F[lay.NEPS, 0] - F[lay.NEPS, 0] == 0.0 and F[lay.NEPS, N + 1] - F[lay.NEPS, N + 1] == 0.0):
        return lay.FAIL_TE
    for i in range(n2):
        Te = max(Tmin, F[lay.NEPS, i] * F[lay.INV_NE, i] * (2.0 / 3.0))
        F[lay.TEV, i] = Te
        nE = 1.5 * F[lay.NE, i] * Te
        F[lay.NEPS, i] = nE
        F[lay.PE, i] = nE if landmark else 2.0 / 3.0 * nE
    apply_gradient(F, lay.PE, lay.GRAD_PE, n2)
    return 0


@jit
def update_plume(F: np.ndarray, zc: np.ndarray, P: np.ndarray) -> None:
    """Quasi-1D plume expansion after an electron update (docs/physics.md §2.4)."""
    N = int(P[lay.P_N])
    Lch = P[lay.P_LCH]
    e_idx = 0
    while e_idx < N + 1 and zc[e_idx] < Lch:
        e_idx += 1
    Te_exit = F[lay.TEV, e_idx]
    for i in range(e_idx + 1, N + 2):
        c_th = math.sqrt(5.0 / 3.0 * E_CHARGE * Te_exit / F[lay.MEFF, i])
        u = max(F[lay.UI_BAR, i], c_th)
        tan_d = min(1.0, max(0.0, c_th / u))
        F[lay.TAN_DIV, i] = tan_d
        tt = 0.5 * (tan_d + F[lay.TAN_DIV, i - 1])
        hz = zc[i] - zc[i - 1]
        r_in = max(0.0, F[lay.R_IN, i - 1] - tt * hz)
        r_out = F[lay.R_OUT, i - 1] + tt * hz
        F[lay.R_IN, i] = r_in
        F[lay.R_OUT, i] = r_out
        A = math.pi * (r_out * r_out - r_in * r_in)
        F[lay.AREA, i] = A
        F[lay.DADZ, i] = (A - F[lay.AREA, i - 1]) / hz
        F[lay.DLNA, i] = F[lay.DADZ, i] / A
