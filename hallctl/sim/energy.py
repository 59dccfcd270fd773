"""Implicit electron energy equation and pressure gradient (physics.md §6, §11.5).

One linearly implicit upwind finite-volume solve per time step (θ = ``implicit_energy``,
1 = backward Euler) for nε = 3/2 n_e T_e, with the conductive flux -κ ∂(nε/n_e) — the gradient
of the mean energy, not of T_e (physics.md §16 item 1) — followed by the T_e floor.
"""

import math

from hallctl.sim import layout as L
from hallctl.sim._jit import jit
from hallctl.sim.constants import E_CHARGE
from hallctl.sim.rates import lookup_rate

__all__ = ["electron_energy", "pressure_gradient", "solve_tridiagonal", "update_plume"]


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


@jit
def electron_energy(F, zc, dz_cell, dz_edge, P, S, ex_tab, dt):
    """Electron energy update, physics.md §11.6 step 3f (§6.3 sources, §6.4 scheme).

    Computes ν_ex and the excitation loss (k_ex at the ε of step 2, minus the fresh K), Ohmic
    heating, wall and ionization losses, assembles and solves the tridiagonal system for nε at
    all N+2 cells, applies the T_e floor, then p_e and ∂p_e.

    Returns:
        0, or ``layout.FAIL_TE`` when a ghost-cell nε is not finite.
    """
    N = int(P[L.P_N])
    n2 = N + 2
    landmark = P[L.P_LANDMARK] != 0.0
    theta = P[L.P_THETA]
    E_ex = P[L.P_EX_ENERGY]
    Tmin = P[L.P_TMIN]
    plume = P[L.P_PLUME] != 0.0
    sheath_bc = P[L.P_SHEATH_BC] != 0.0
    ne_ = F[L.NE]
    ue_ = F[L.UE]
    kap = F[L.KAPPA]
    nE = F[L.NEPS]
    a = F[L.TRI_A]
    b = F[L.TRI_B]
    c = F[L.TRI_C]
    d = F[L.TRI_D]
    F[L.NU_EX, 0] = 0.0
    F[L.NU_EX, N + 1] = 0.0
    five3 = 5.0 / 3.0
    for i in range(1, N + 1):
        ne = ne_[i]
        nn = F[L.NN, i]
        K = F[L.KIN, i]
        # sources (§6.3)
        k_ex = lookup_rate(ex_tab, F[L.EPS, i])
        F[L.NU_EX, i] = k_ex * nn
        ndot_ex = k_ex * ne * nn
        if landmark:
            Q_ohm = ne * ue_[i] * (-F[L.EF, i])
            Q_inel = F[L.INEL_IZ, i] + ndot_ex * E_ex
        else:
            Q_ohm = 2.0 * ne * K * F[L.NU_E, i] + ue_[i] * F[L.GRAD_PE, i]
            Q_inel = F[L.INEL_IZ, i] + ndot_ex * (E_ex - K)
        Q = Q_ohm - ne * F[L.W_WALL, i] - Q_inel
        # fluxes as linear combinations of nε_(i-1), nε_i, nε_(i+1) (§6.4)
        dzL = dz_edge[i - 1]
        dzR = dz_edge[i]
        dz = dz_cell[i]
        uL = ue_[i - 1]
        ui = ue_[i]
        uR = ue_[i + 1]
        ubar = 0.25 * (dzL * (uL + ui) + dzR * (ui + uR)) / dz
        FR_i = 0.0
        FR_R = 0.0
        FL_L = 0.0
        FL_i = 0.0
        if ubar > 0.0:
            FR_i = five3 * ui + kap[i] / (ne * dzR)
            FR_R = -kap[i] / (ne_[i + 1] * dzR)
            FL_L = five3 * uL + kap[i - 1] / (ne_[i - 1] * dzL)
            FL_i = -kap[i - 1] / (ne * dzL)
        else:
            FR_R = five3 * uR - kap[i + 1] / (ne_[i + 1] * dzR)
            FR_i = kap[i + 1] / (ne * dzR)
            if i == 1 and sheath_bc:
                Te1 = 2.0 / 3.0 * nE[1] / ne
                FL_i = 4.0 / 3.0 * ui * (1.0 + S[L.S_VS] / Te1)
            elif i == 1:
                FL_L = five3 * uL + kap[i - 1] / (ne_[i - 1] * dzL)
                FL_i = -kap[i - 1] / (ne * dzL)
            else:
                FL_i = five3 * ui - kap[i] / (ne * dzL)
                FL_L = kap[i] / (ne_[i - 1] * dzL)
        f = theta * dt / dz
        a[i] = -f * FL_L
        b[i] = 1.0 + f * (FR_i - FL_i)
        c[i] = f * FR_R
        rhs = nE[i] + dt * Q
        if theta < 1.0:
            FR_old = FR_i * nE[i] + FR_R * nE[i + 1]
            FL_old = FL_L * nE[i - 1] + FL_i * nE[i]
            rhs -= dt * (1.0 - theta) * (FR_old - FL_old) / dz
        if plume:
            rhs -= dt * five3 * nE[i] * ui * F[L.DLNA, i]
        d[i] = rhs
    # boundary rows
    if (not sheath_bc) or ue_[1] > 0.0:
        b[0] = 0.5 / ne_[0]
        c[0] = 0.5 / ne_[1]
        d[0] = 1.5 * P[L.P_TE_ANODE]
    else:
        b[0] = 1.0 / ne_[0]
        c[0] = -1.0 / ne_[1]
        d[0] = 0.0
    a[0] = 0.0
    a[N + 1] = 0.5 / ne_[N]
    b[N + 1] = 0.5 / ne_[N + 1]
    c[N + 1] = 0.0
    d[N + 1] = 1.5 * P[L.P_TE_CATHODE]
    solve_tridiagonal(a, b, c, d, nE, F[L.TRI_W])
    # floor (§6.4 steps 1–2)
    for i in range(1, N + 1):
        floor = 1.5 * Tmin * ne_[i]
        v = nE[i]
        if not (v - v == 0.0) or v < floor:
            nE[i] = floor
    if not (nE[0] - nE[0] == 0.0 and nE[N + 1] - nE[N + 1] == 0.0):
        return L.FAIL_TE
    for i in range(n2):
        Te = max(Tmin, nE[i] / (1.5 * ne_[i]))
        F[L.TEV, i] = Te
        nE[i] = 1.5 * ne_[i] * Te
        F[L.PE, i] = nE[i] if landmark else 2.0 / 3.0 * nE[i]
    pressure_gradient(F[L.PE], zc, F[L.GRAD_PE])
    return 0


@jit
def update_plume(F, zc, P):
    """Quasi-1D plume expansion after an electron update (physics.md §2.4)."""
    N = int(P[L.P_N])
    Lch = P[L.P_LCH]
    e_idx = 0
    while e_idx < N + 1 and zc[e_idx] < Lch:
        e_idx += 1
    Te_exit = F[L.TEV, e_idx]
    for i in range(e_idx + 1, N + 2):
        c_th = math.sqrt(5.0 / 3.0 * E_CHARGE * Te_exit / F[L.MEFF, i])
        u = max(F[L.UI_BAR, i], c_th)
        tan_d = min(1.0, max(0.0, c_th / u))
        F[L.TAN_DIV, i] = tan_d
        tt = 0.5 * (tan_d + F[L.TAN_DIV, i - 1])
        hz = zc[i] - zc[i - 1]
        r_in = max(0.0, F[L.R_IN, i - 1] - tt * hz)
        r_out = F[L.R_OUT, i - 1] + tt * hz
        F[L.R_IN, i] = r_in
        F[L.R_OUT, i] = r_out
        A = math.pi * (r_out * r_out - r_in * r_in)
        F[L.AREA, i] = A
        F[L.DADZ, i] = (A - F[L.AREA, i - 1]) / hz
        F[L.DLNA, i] = F[L.DADZ, i] / A
