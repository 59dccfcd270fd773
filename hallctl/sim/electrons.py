"""Electron kernels: collisions, wall losses, Ohm's law, discharge current, potential, κ.

Implements docs/physics.md §5 (collision frequencies, mobility, generalized Ohm's law with drag,
discharge current for an imposed voltage, anode sheath, potential, drift kinetic energy), §6.2
(thermal conductivity), §7.2/7.4 (wall models) and §7.3 (ion wall-loss frequencies), in the
order of §11.6 step 3a–e. The energy equation (step 3f) is in :mod:`hallctl.sim.energy`.

Speed (docs/physics.md §17): cell loops over few rows each, free of calls (the logarithms are
:func:`hallctl.sim.vecmath.log_vec`) and of data-dependent branches, so that LLVM vectorizes
them; only the table lookup of ν_en runs in a scalar loop.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hallctl.sim import layout as lay
from hallctl.sim._jit import jit
from hallctl.sim.constants import E_CHARGE, M_E
from hallctl.sim.rates import lookup_rate
from hallctl.sim.thruster import linear_transition
from hallctl.sim.vecmath import log_vec
from hallctl.sim.walls import EDGE_TO_CENTER_RATIO

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "anode_sheath_potential",
    "braginskii_coefficient",
    "coulomb_logarithm",
    "electron_fields",
    "freq_electron_ion",
    "trapezoid_edges",
]


@jit(inline=True)
def coulomb_logarithm(ne: float, Te_eV: float, Z: float) -> float:
    """ln Λ = 23 - ½ ln(1e-6 n_e Z²/T_e³) for T_e < 10 Z², else 24 - ½ ln(1e-6 n_e/T_e²)
    (docs/physics.md §5.1; n_e in m⁻³, T_e in eV). Branch-free, for vector loops."""
    low = Te_eV < 10.0 * Z * Z
    num = 1e-6 * ne * Z * Z if low else 1e-6 * ne
    x = num / (Te_eV * Te_eV * Te_eV if low else Te_eV * Te_eV)
    return (23.0 if low else 24.0) - 0.5 * log_vec(x)


@jit(inline=True)
def freq_electron_ion(ne: float, Te_eV: float, Z: float) -> float:
    """ν_ei = 2.9e-12 Z² n_e ln Λ / T_e^(3/2) [1/s] (docs/physics.md §5.1)."""
    return 2.9e-12 * Z * Z * ne * coulomb_logarithm(ne, Te_eV, Z) / (Te_eV * math.sqrt(Te_eV))


@jit
def braginskii_coefficient(Zeff: float) -> float:
    """Braginskii κ coefficient C(Z_eff): linear through (1, 4.66), (2, 4.0), (3, 3.7), (4, 3.6),
    (5, 3.2), clamped outside [1, 5] (docs/physics.md §6.2)."""
    if Zeff <= 1.0:
        return 4.66
    if Zeff >= 5.0:
        return 3.2
    if Zeff < 2.0:
        t = Zeff - 1.0
        return (1.0 - t) * 4.66 + t * 4.0
    if Zeff < 3.0:
        t = Zeff - 2.0
        return (1.0 - t) * 4.0 + t * 3.7
    if Zeff < 4.0:
        t = Zeff - 3.0
        return (1.0 - t) * 3.7 + t * 3.6
    t = Zeff - 4.0
    return (1.0 - t) * 3.6 + t * 3.2


@jit
def anode_sheath_potential(Te1_eV: float, ne1: float, ji1: float, Id_A: float, A_ch: float) -> float:
    """Anode sheath potential V_s ≥ 0 [V] (docs/physics.md §5.6).

    j_th = e n_e c̄_e/4, c̄_e = √(8 e T_e/(π m_e)); j_e = I_d/A_ch - j_i; V_s = -T_e ln min(1,
    j_e/j_th) if j_e/j_th > 0 else 0 (electron-attracting sheaths are not modelled).
    """
    ce = math.sqrt(8.0 * E_CHARGE * Te1_eV / (math.pi * M_E))
    jth = E_CHARGE * ne1 * ce / 4.0
    ratio = (Id_A / A_ch - ji1) / jth
    if not ratio > 0.0:
        return 0.0
    return -Te1_eV * math.log(min(1.0, ratio))


@jit
def trapezoid_edges(F: np.ndarray, row: int, zc: np.ndarray, z_edge: np.ndarray, N: int) -> float:
    """Trapezoid rule of F[row] on {z_0, cell centres 1..N, z_N}, F[row, 0] and F[row, N+1]
    already being edge values."""
    acc = 0.5 * (F[row, 0] + F[row, 1]) * (zc[1] - z_edge[0])
    # k + 1 rather than k - 1 with k from 2: LLVM then proves the indices non-negative and
    # vectorizes with plain loads instead of gathers
    for k in range(1, N):
        acc += 0.5 * (F[row, k] + F[row, k + 1]) * (zc[k + 1] - zc[k])
    acc += 0.5 * (F[row, N] + F[row, N + 1]) * (z_edge[N] - zc[N])
    return acc


@jit
def collision_frequencies(F: np.ndarray, P: np.ndarray, el_tab: np.ndarray) -> None:
    """Step 3a of docs/physics.md §11.6: ν_en = k_el(3/2 T_e) n_n, ν_ei (§5.1, when enabled),
    ν_c = ν_en + ν_ei (+ ν_iz + ν_ex unless LANDMARK); ghosts copy their interior neighbours."""
    N = int(P[lay.P_N])
    n2 = N + 2
    for i in range(1, N + 1):  # table lookups (gathers): scalar loop
        F[lay.NU_EN, i] = lookup_rate(el_tab, 1.5 * F[lay.TEV, i]) * F[lay.NN, i]
    if P[lay.P_EI_COLL] != 0.0:
        for i in range(1, N + 1):  # vector loop (the logarithm is vecmath.log_vec)
            F[lay.NU_EI, i] = freq_electron_ion(F[lay.NE, i], F[lay.TEV, i], F[lay.ZEFF, i])
    else:
        for i in range(1, N + 1):
            F[lay.NU_EI, i] = 0.0
    for row in (lay.NU_EN, lay.NU_EI):
        F[row, 0] = F[row, 1]
        F[row, N + 1] = F[row, N]
    if P[lay.P_LANDMARK] != 0.0:
        for i in range(n2):
            F[lay.NU_CLASS, i] = F[lay.NU_EN, i] + F[lay.NU_EI, i]
    else:
        for i in range(n2):
            F[lay.NU_CLASS, i] = (F[lay.NU_EN, i] + F[lay.NU_EI, i]) + (F[lay.NU_IZ, i] + F[lay.NU_EX, i])


@jit
def wall_losses(F: np.ndarray, zc: np.ndarray, P: np.ndarray) -> None:
    """Step 3b of docs/physics.md §11.6: wall model (§7.2 sheath with SEE, §7.4 constant sheath)
    and the ion wall-loss frequencies (§7.3), at every cell.

    WallSheath: γ = min(γ_max, σ_0 + 1.5 T_w (1 - σ_0)/ε*), ν_ew = α h √(e T_w/m) Σ_Z Z^(3/2) n_Z
    /(Δr (1 - γ) n_e), ν_wall = lt(1 → 0) ν_ew, W = ν_ew lt(1 → β) (2 T_w + (1 - γ) φ_s) with
    φ_s = T_w ln[(1 - γ) √(m/(2π m_e))] (``walls.see_yield`` / ``walls.sheath_potential_V``).
    """
    N = int(P[lay.P_N])
    n2 = N + 2
    model = int(P[lay.P_WALL_MODEL])
    inv_m = P[lay.P_INV_MASS]
    h = EDGE_TO_CENTER_RATIO
    if model == 1:
        alpha = P[lay.P_WALL_SCALE]
        dr = P[lay.P_DR]
        shielded = P[lay.P_SHIELDED] != 0.0
        gmax = P[lay.P_GAMMA_MAX]
        sigma0 = P[lay.P_SIGMA0]
        see_slope = 1.5 * (1.0 - sigma0) / P[lay.P_EPS_STAR]
        log_mass = 0.5 * math.log(P[lay.P_MASS] / (2.0 * math.pi * M_E))  # m_eff = m, one propellant
        Lch = P[lay.P_LCH]
        ell = P[lay.P_ELL]
        Te0 = F[lay.TEV, 0]
        for i in range(n2):  # vector loop (the logarithm is vecmath.log_vec)
            Te = F[lay.TEV, i]
            Tw = linear_transition(zc[i], Lch, ell, Te0, Te) if shielded else Te
            one_m_gamma = 1.0 - min(gmax, sigma0 + see_slope * Tw)
            flux = alpha * h * math.sqrt(E_CHARGE * Tw * inv_m) * F[lay.ZN_WALL, i] * inv_m
            nu_ew = flux * F[lay.INV_NE, i] / (dr * one_m_gamma)
            phi_s = Tw * (log_vec(one_m_gamma) + log_mass)
            F[lay.NU_EW, i] = nu_ew
            F[lay.NU_WALL, i] = nu_ew * F[lay.LT_IN, i]
            F[lay.W_WALL, i] = nu_ew * F[lay.LT_BETA, i] * (2.0 * Tw + one_m_gamma * phi_s)
    elif model == 2:
        U_s = P[lay.P_WALL_U]
        for i in range(n2):
            eps = F[lay.NEPS, i] * F[lay.INV_NE, i]
            F[lay.WORK3, i] = -U_s / eps
        for i in range(n2):
            F[lay.WORK3, i] = math.exp(F[lay.WORK3, i])
        for i in range(n2):
            eps = F[lay.NEPS, i] * F[lay.INV_NE, i]
            F[lay.NU_EW, i] = 1e7
            F[lay.NU_WALL, i] = 1e7 * F[lay.LT_IN, i]
            F[lay.W_WALL, i] = 1e7 * F[lay.ALPHA_Z, i] * eps * F[lay.WORK3, i]
    else:
        for i in range(n2):
            F[lay.NU_EW, i] = 0.0
            F[lay.NU_WALL, i] = 0.0
            F[lay.W_WALL, i] = 0.0
    if P[lay.P_ION_WALL] != 0.0:
        # ν_iw,Z = lt(1 → 0) √(Z e T_e/m) h α / Δr with the local T_e (interior cells)
        iw_coeff = h * P[lay.P_WALL_SCALE] / P[lay.P_DR]
        sq2 = math.sqrt(2.0)
        sq3 = math.sqrt(3.0)
        for i in range(1, N + 1):
            base = F[lay.LT_IN, i] * math.sqrt(E_CHARGE * F[lay.TEV, i] * inv_m) * iw_coeff
            F[lay.NU_IW1, i] = base
            F[lay.NU_IW2, i] = sq2 * base
            F[lay.NU_IW3, i] = sq3 * base


@jit
def electron_fields(U: np.ndarray, F: np.ndarray, zc: np.ndarray, z_edge: np.ndarray, P: np.ndarray, S: np.ndarray,
                    el_tab: np.ndarray, iteration: int, t: float) -> int:
    """Electron update steps 3a–3e of docs/physics.md §11.6.

    Fills ν_en, ν_ei, ν_class, the wall model (ν_ew, ν_wall, W_wall), the ion wall-loss
    frequencies, ν_an (configured model for t > 0 and iteration ≤ 5), ν_e, μ, V_s (with the
    previous I_d), I_d, E, φ, u_e, K and κ. Reads n_e, 1/n_e and the other derived heavy
    quantities of :func:`hallctl.sim.heavy.heavy_derived`.

    Returns:
        0, or ``layout.FAIL_CURRENT`` / ``layout.FAIL_PHI`` for a non-finite I_d / potential.
    """
    N = int(P[lay.P_N])
    n2 = N + 2
    landmark = P[lay.P_LANDMARK] != 0.0

    # ---- 3a–3b: collision frequencies, wall losses (§5.1, §7)
    collision_frequencies(F, P, el_tab)
    wall_losses(F, zc, P)

    # ---- 3c: anomalous transport, configured model only for t > 0 and iteration ≤ 5 (§16.4)
    if t > 0.0 and iteration <= 5:
        for i in range(n2):
            F[lay.NU_AN, i] = F[lay.NU_AN_MODEL, i]

    # ---- 3d: ν_e, μ, V_s, I_d, E, φ, u_e, K
    e_me = E_CHARGE / M_E
    for i in range(n2):
        nu_e = F[lay.NU_CLASS, i] + F[lay.NU_AN, i] + F[lay.NU_WALL, i]
        F[lay.NU_E, i] = nu_e
        inv_nu = 1.0 / nu_e
        Omega = e_me * F[lay.B, i] * inv_nu
        F[lay.OMEGA2, i] = Omega * Omega
        F[lay.MU, i] = e_me * inv_nu / (1.0 + Omega * Omega)
    A_ch = P[lay.P_ACH]
    Vs = 0.0
    if P[lay.P_SHEATH_BC] != 0.0 and not landmark:
        Vs = anode_sheath_potential(F[lay.TEV, 1], F[lay.NE, 1], F[lay.JI, 1], S[lay.S_ID], A_ch)
    S[lay.S_VS] = Vs
    # drag (§5.3): m_e/e (ū_i (ν_ei + ν_an) + u_n ν_en), in WORK4
    drag = 1.0 if iteration > 5 and not landmark else 0.0
    me_e = M_E / E_CHARGE
    un = P[lay.P_UN]
    for i in range(n2):
        F[lay.WORK4, i] = drag * me_e * (F[lay.UI_BAR, i] * (F[lay.NU_EI, i] + F[lay.NU_AN, i])
                                         + un * F[lay.NU_EN, i])
    for i in range(n2):
        r = 1.0 / (E_CHARGE * F[lay.NE, i] * F[lay.MU, i])  # 1/(e n_e μ)
        F[lay.TRI_X, i] = r
        F[lay.WORK1, i] = r / F[lay.AREA, i]
        F[lay.WORK2, i] = F[lay.JI, i] * r + F[lay.GRAD_PE, i] * F[lay.INV_NE, i] - F[lay.WORK4, i]
    for row in (lay.WORK1, lay.WORK2):
        F[row, 0] = 0.5 * (F[row, 0] + F[row, 1])
        F[row, N + 1] = 0.5 * (F[row, N + 1] + F[row, N])
    int1 = trapezoid_edges(F, lay.WORK1, zc, z_edge, N)
    int2 = trapezoid_edges(F, lay.WORK2, zc, z_edge, N)
    V_anode = P[lay.P_VD] + Vs
    Id = (V_anode - P[lay.P_VCC] + int2) / int1
    if Id - Id != 0.0:
        S[lay.S_ID] = Id
        return lay.FAIL_CURRENT
    Id = max(0.0, min(P[lay.P_ILIMIT], Id))
    S[lay.S_ID] = Id
    for i in range(n2):
        jd = Id / F[lay.AREA, i] - F[lay.JI, i]  # electron current density (sign: toward the anode)
        F[lay.EF, i] = jd * F[lay.TRI_X, i] - F[lay.GRAD_PE, i] * F[lay.INV_NE, i] + F[lay.WORK4, i]
        ue = -jd * F[lay.INV_NE, i] / E_CHARGE
        F[lay.UE, i] = ue
        F[lay.KIN, i] = 0.5 * me_e * (1.0 + F[lay.OMEGA2, i]) * ue * ue
    # potential: cumulative trapezoid of -E from the anode edge (φ = V_d + V_s there)
    E_left = 0.5 * (F[lay.EF, 0] + F[lay.EF, 1])
    phi = V_anode - 0.5 * (E_left + F[lay.EF, 1]) * (zc[1] - z_edge[0])
    F[lay.PHI, 1] = phi
    for k in range(1, N):
        phi -= 0.5 * (F[lay.EF, k] + F[lay.EF, k + 1]) * (zc[k + 1] - zc[k])
        F[lay.PHI, k + 1] = phi
    E_right = 0.5 * (F[lay.EF, N] + F[lay.EF, N + 1])
    phi_right = phi - 0.5 * (F[lay.EF, N] + E_right) * (z_edge[N] - zc[N])
    F[lay.PHI, 0] = 2.0 * V_anode - F[lay.PHI, 1]
    F[lay.PHI, N + 1] = 2.0 * phi_right - F[lay.PHI, N]
    if phi_right - phi_right != 0.0:
        return lay.FAIL_PHI

    # ---- 3e: thermal conductivity κ (§6.2)
    cond = int(P[lay.P_COND])
    if cond == lay.COND_LANDMARK:
        # κ = 10/9 μ nε with nε taken as 3/2 n_e T_e from the *current* n_e (after the heavy
        # step), not the stored nε: this reproduces upstream's LANDMARK outputs bit for bit
        for i in range(n2):
            F[lay.KAPPA, i] = 10.0 / 9.0 * F[lay.MU, i] * 1.5 * F[lay.NE, i] * F[lay.TEV, i]
    elif cond == lay.COND_MITCHNER:
        for i in range(n2):
            k0 = 2.4 / (1.0 + F[lay.NU_EI, i] / (math.sqrt(2.0) * F[lay.NU_E, i]))
            F[lay.KAPPA, i] = k0 * F[lay.MU, i] * F[lay.NE, i] * F[lay.TEV, i]
    else:
        for i in range(n2):
            F[lay.KAPPA, i] = (braginskii_coefficient(F[lay.ZEFF, i]) * F[lay.MU, i] * F[lay.NE, i]
                               * F[lay.TEV, i])
    return 0
