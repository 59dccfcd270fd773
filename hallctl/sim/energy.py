"""Implicit electron energy equation and pressure gradient (physics.md §6, §11.5).

One linearly implicit upwind finite-volume solve per time step (θ = ``implicit_energy``,
1 = backward Euler) for nε = 3/2 n_e T_e, with the conductive flux -κ ∂(nε/n_e) — the gradient
of the mean energy, not of T_e (physics.md §16 item 1) — followed by the T_e floor.
"""

import math

from hallctl.sim import layout as lay
from hallctl.sim._jit import jit
from hallctl.sim.constants import E_CHARGE
from hallctl.sim.rates import lookup_rate

__all__ = [
    "apply_gradient",
    "electron_energy",
    "gradient_weights",
    "pressure_gradient",
    "solve_tridiagonal",
    "update_plume",
]


@jit
def solve_tridiagonal(a, b, c, d, x, w):
    """Thomas algorithm (no pivoting) for a_i x_(i-1) + b_i x_i + c_i x_(i+1) = d_i.

    Args:
        a: sub-diagonal (a[0] unused); b: diagonal; c: super-diagonal (c[-1] unused);
        d: right-hand side; x: output; w: scratch; all shape (n,). ``d`` is overwritten.
    """
    n = b.shape[0]
    w[0] = c[0] / b[0]
    d[0] = d[0] / b[0]
    for i in range(1, n):
        den = b[i] - a[i] * w[i - 1]
        w[i] = c[i] / den
        d[i] = (d[i] - a[i] * d[i - 1]) / den
    x[n - 1] = d[n - 1]
    for i in range(n - 2, -1, -1):
        x[i] = d[i] - w[i] * x[i + 1]


@jit
def pressure_gradient(p, z, out):
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


def gradient_weights(z):
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
def apply_gradient(p, w0, w1, w2, out):
    """∂p with precomputed :func:`gradient_weights` (same stencils as :func:`pressure_gradient`)."""
    n = p.shape[0]
    out[0] = w0[0] * p[0] + w1[0] * p[1] + w2[0] * p[2]
    for i in range(1, n - 1):
        out[i] = w0[i] * p[i - 1] + w1[i] * p[i] + w2[i] * p[i + 1]
    out[n - 1] = w0[n - 1] * p[n - 3] + w1[n - 1] * p[n - 2] + w2[n - 1] * p[n - 1]


@jit
def electron_energy(F, zc, dz_cell, dz_edge, P, S, ex_tab, dt):
    """Electron energy update, physics.md §11.6 step 3f (§6.3 sources, §6.4 scheme).

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
    ne_ = F[lay.NE]
    ue_ = F[lay.UE]
    kap = F[lay.KAPPA]
    nE = F[lay.NEPS]
    a = F[lay.TRI_A]
    b = F[lay.TRI_B]
    c = F[lay.TRI_C]
    d = F[lay.TRI_D]
    F[lay.NU_EX, 0] = 0.0
    F[lay.NU_EX, N + 1] = 0.0
    five3 = 5.0 / 3.0
    inv_ne = F[lay.INV_NE]  # 1/n_e, filled by electron_fields for this step
    idzc = F[lay.INV_DZC]
    idze = F[lay.INV_DZE]
    for i in range(1, N + 1):
        ne = ne_[i]
        nn = F[lay.NN, i]
        K = F[lay.KIN, i]
        # sources (§6.3)
        k_ex = lookup_rate(ex_tab, F[lay.EPS, i])
        F[lay.NU_EX, i] = k_ex * nn
        ndot_ex = k_ex * ne * nn
        if landmark:
            Q_ohm = ne * ue_[i] * (-F[lay.EF, i])
            Q_inel = F[lay.INEL_IZ, i] + ndot_ex * E_ex
        else:
            Q_ohm = 2.0 * ne * K * F[lay.NU_E, i] + ue_[i] * F[lay.GRAD_PE, i]
            Q_inel = F[lay.INEL_IZ, i] + ndot_ex * (E_ex - K)
        Q = Q_ohm - ne * F[lay.W_WALL, i] - Q_inel
        # fluxes as linear combinations of nε_(i-1), nε_i, nε_(i+1) (§6.4)
        gL = idze[i - 1]  # 1/Δz_L
        gR = idze[i]  # 1/Δz_R
        uL = ue_[i - 1]
        ui = ue_[i]
        uR = ue_[i + 1]
        # upwind selector ū = ¼[Δz_L(u_L + u_i) + Δz_R(u_i + u_R)]/Δz; only its sign matters
        ubar = dz_edge[i - 1] * (uL + ui) + dz_edge[i] * (ui + uR)
        FR_i = 0.0
        FR_R = 0.0
        FL_L = 0.0
        FL_i = 0.0
        if ubar > 0.0:
            FR_i = five3 * ui + kap[i] * inv_ne[i] * gR
            FR_R = -kap[i] * inv_ne[i + 1] * gR
            FL_L = five3 * uL + kap[i - 1] * inv_ne[i - 1] * gL
            FL_i = -kap[i - 1] * inv_ne[i] * gL
        else:
            FR_R = five3 * uR - kap[i + 1] * inv_ne[i + 1] * gR
            FR_i = kap[i + 1] * inv_ne[i] * gR
            if i == 1 and sheath_bc:
                # anode sheath energy flux 2 n_e u_sh (T_e + V_s), T_e1 = ⅔ nε_1/n_e1 (§6.4)
                Te1 = 2.0 / 3.0 * nE[1] * inv_ne[1]
                FL_i = 4.0 / 3.0 * ui * (1.0 + S[lay.S_VS] / Te1)
            elif i == 1:
                FL_L = five3 * uL + kap[i - 1] * inv_ne[i - 1] * gL
                FL_i = -kap[i - 1] * inv_ne[i] * gL
            else:
                FL_i = five3 * ui - kap[i] * inv_ne[i] * gL
                FL_L = kap[i] * inv_ne[i - 1] * gL
        f = theta * dt * idzc[i]
        a[i] = -f * FL_L
        b[i] = 1.0 + f * (FR_i - FL_i)
        c[i] = f * FR_R
        rhs = nE[i] + dt * Q
        if theta < 1.0:
            FR_old = FR_i * nE[i] + FR_R * nE[i + 1]
            FL_old = FL_L * nE[i - 1] + FL_i * nE[i]
            rhs -= dt * (1.0 - theta) * (FR_old - FL_old) * idzc[i]
        if plume:
            rhs -= dt * five3 * nE[i] * ui * F[lay.DLNA, i]
        d[i] = rhs
    # boundary rows
    if (not sheath_bc) or ue_[1] > 0.0:
        b[0] = 0.5 * inv_ne[0]
        c[0] = 0.5 * inv_ne[1]
        d[0] = 1.5 * P[lay.P_TE_ANODE]
    else:
        b[0] = inv_ne[0]
        c[0] = -inv_ne[1]
        d[0] = 0.0
    a[0] = 0.0
    a[N + 1] = 0.5 * inv_ne[N]
    b[N + 1] = 0.5 * inv_ne[N + 1]
    c[N + 1] = 0.0
    d[N + 1] = 1.5 * P[lay.P_TE_CATHODE]
    solve_tridiagonal(a, b, c, d, nE, F[lay.TRI_W])
    # floor (§6.4 steps 1–2)
    for i in range(1, N + 1):
        floor = 1.5 * Tmin * ne_[i]
        v = nE[i]
        if v - v != 0.0 or v < floor:
            nE[i] = floor
    if not (nE[0] - nE[0] == 0.0 and nE[N + 1] - nE[N + 1] == 0.0):
        return lay.FAIL_TE
    for i in range(n2):
        Te = max(Tmin, nE[i] * inv_ne[i] * (2.0 / 3.0))
        F[lay.TEV, i] = Te
        nE[i] = 1.5 * ne_[i] * Te
        F[lay.PE, i] = nE[i] if landmark else 2.0 / 3.0 * nE[i]
    apply_gradient(F[lay.PE], F[lay.GW0], F[lay.GW1], F[lay.GW2], F[lay.GRAD_PE])
    return 0


@jit
def update_plume(F, zc, P):
    """Quasi-1D plume expansion after an electron update (physics.md §2.4)."""
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
