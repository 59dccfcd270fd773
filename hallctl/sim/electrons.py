"""Electron kernels: collisions, wall losses, Ohm's law, discharge current, potential, κ.

Implements physics.md §5 (collision frequencies, mobility, generalized Ohm's law with drag,
discharge current for an imposed voltage, anode sheath, potential, drift kinetic energy), §6.2
(thermal conductivity), §7.2/7.4 (wall models) and §7.3 (ion wall-loss frequencies), in the
order of §11.6 step 3a–e. The energy equation (step 3f) is in :mod:`hallctl.sim.energy`.
"""

import math

from hallctl.sim import layout as L
from hallctl.sim._jit import jit
from hallctl.sim.constants import E_CHARGE, M_E
from hallctl.sim.rates import lookup_rate
from hallctl.sim.thruster import linear_transition
from hallctl.sim.walls import EDGE_TO_CENTER_RATIO, see_yield, sheath_potential_V, wall_ion_speed

__all__ = [
    "anode_sheath_potential",
    "braginskii_coefficient",
    "coulomb_logarithm",
    "electron_fields",
    "freq_electron_ion",
    "trapezoid_edges",
]


@jit
def coulomb_logarithm(ne, Te_eV, Z):
    """ln Λ = 23 - ½ ln(1e-6 n_e Z²/T_e³) for T_e < 10 Z², else 24 - ½ ln(1e-6 n_e/T_e²)
    (physics.md §5.1; n_e in m⁻³, T_e in eV)."""
    if Te_eV < 10.0 * Z * Z:
        return 23.0 - 0.5 * math.log(1e-6 * ne * Z * Z / (Te_eV * Te_eV * Te_eV))
    return 24.0 - 0.5 * math.log(1e-6 * ne / (Te_eV * Te_eV))


@jit
def freq_electron_ion(ne, Te_eV, Z):
    """ν_ei = 2.9e-12 Z² n_e ln Λ / T_e^(3/2) [1/s] (physics.md §5.1)."""
    return 2.9e-12 * Z * Z * ne * coulomb_logarithm(ne, Te_eV, Z) / Te_eV**1.5


@jit
def braginskii_coefficient(Zeff):
    """Braginskii κ coefficient C(Z_eff): linear through (1, 4.66), (2, 4.0), (3, 3.7), (4, 3.6),
    (5, 3.2), clamped outside [1, 5] (physics.md §6.2)."""
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
def anode_sheath_potential(Te1_eV, ne1, ji1, Id_A, A_ch):
    """Anode sheath potential V_s ≥ 0 [V] (physics.md §5.6).

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
def trapezoid_edges(f, zc, z_edge, N):
    """Trapezoid rule on {z_0, cell centres 1..N, z_N} with f[0], f[N+1] already edge values."""
    acc = 0.0
    x0 = z_edge[0]
    for k in range(1, N + 1):
        acc += 0.5 * (f[k - 1] + f[k]) * (zc[k] - x0)
        x0 = zc[k]
    acc += 0.5 * (f[N] + f[N + 1]) * (z_edge[N] - x0)
    return acc


@jit
def electron_fields(U, F, zc, z_edge, P, S, el_tab, iteration, t):
    """Electron update steps 3a–3e of physics.md §11.6.

    Fills ν_en, ν_ei, ν_class, the wall model (ν_ew, ν_wall, W_wall), the ion wall-loss
    frequencies, ν_an (configured model for t > 0 and iteration ≤ 5), ν_e, μ, V_s (with the
    previous I_d), I_d, E, φ, u_e, K and κ.

    Returns:
        0, or ``layout.FAIL_CURRENT`` / ``layout.FAIL_PHI`` for a non-finite I_d / potential.
    """
    N = int(P[L.P_N])
    nZ = int(P[L.P_NZ])
    n2 = N + 2
    m = P[L.P_MASS]
    landmark = P[L.P_LANDMARK] != 0.0
    ei_coll = P[L.P_EI_COLL] != 0.0

    # ---- 3a: collision frequencies (ghosts copy their interior neighbours)
    for i in range(1, N + 1):
        Te = F[L.TEV, i]
        F[L.NU_EN, i] = lookup_rate(el_tab, 1.5 * Te) * F[L.NN, i]
        if ei_coll:
            F[L.NU_EI, i] = freq_electron_ion(F[L.NE, i], Te, F[L.ZEFF, i])
        else:
            F[L.NU_EI, i] = 0.0
    for row in (L.NU_EN, L.NU_EI):
        F[row, 0] = F[row, 1]
        F[row, N + 1] = F[row, N]
    for i in range(n2):
        nc = F[L.NU_EN, i] + F[L.NU_EI, i]
        if not landmark:
            nc += F[L.NU_IZ, i] + F[L.NU_EX, i]
        F[L.NU_CLASS, i] = nc

    # ---- 3b: wall losses (§7.2, §7.4) and ion wall-loss frequencies (§7.3)
    model = int(P[L.P_WALL_MODEL])
    alpha = P[L.P_WALL_SCALE]
    dr = P[L.P_DR]
    h = EDGE_TO_CENTER_RATIO
    shielded = P[L.P_SHIELDED] != 0.0
    for i in range(n2):
        if model == 1:
            Tw = F[L.TEV, i]
            if shielded:
                Tw = linear_transition(zc[i], P[L.P_LCH], P[L.P_ELL], F[L.TEV, 0], Tw)
            gamma = see_yield(Tw, P[L.P_SIGMA0], P[L.P_EPS_STAR], P[L.P_GAMMA_MAX])
            flux = 0.0
            for Z in range(1, nZ + 1):
                flux += Z * alpha * h * (U[2 * Z - 1, i] / m) * wall_ion_speed(Z, Tw, m)
            nu_ew = flux / (dr * (1.0 - gamma) * F[L.NE, i])
            phi_s = sheath_potential_V(Tw, gamma, F[L.MEFF, i])
            F[L.NU_EW, i] = nu_ew
            F[L.NU_WALL, i] = nu_ew * F[L.LT_IN, i]
            F[L.W_WALL, i] = nu_ew * F[L.LT_BETA, i] * (2.0 * Tw + (1.0 - gamma) * phi_s)
        elif model == 2:
            eps = F[L.NEPS, i] / F[L.NE, i]
            F[L.NU_EW, i] = 1e7
            F[L.NU_WALL, i] = 1e7 * F[L.LT_IN, i]
            F[L.W_WALL, i] = 1e7 * F[L.ALPHA_Z, i] * eps * math.exp(-P[L.P_WALL_U] / eps)
        else:
            F[L.NU_EW, i] = 0.0
            F[L.NU_WALL, i] = 0.0
            F[L.W_WALL, i] = 0.0
    if P[L.P_ION_WALL] != 0.0:
        for i in range(1, N + 1):
            for Z in range(1, nZ + 1):
                F[L.NU_IW1 + Z - 1, i] = (F[L.LT_IN, i] * wall_ion_speed(Z, F[L.TEV, i], m)
                                          * h * alpha / dr)

    # ---- 3c: anomalous transport, configured model only for t > 0 and iteration ≤ 5 (§16.4)
    if t > 0.0 and iteration <= 5:
        for i in range(n2):
            F[L.NU_AN, i] = F[L.NU_AN_MODEL, i]

    # ---- 3d: ν_e, μ, V_s, I_d, E, φ, u_e, K
    for i in range(n2):
        nu_e = F[L.NU_CLASS, i] + F[L.NU_AN, i] + F[L.NU_WALL, i]
        F[L.NU_E, i] = nu_e
        Omega = E_CHARGE * F[L.B, i] / (M_E * nu_e)
        F[L.MU, i] = E_CHARGE / (M_E * nu_e * (1.0 + Omega * Omega))
    A_ch = P[L.P_ACH]
    Vs = 0.0
    if P[L.P_SHEATH_BC] != 0.0 and not landmark:
        Vs = anode_sheath_potential(F[L.TEV, 1], F[L.NE, 1], F[L.JI, 1], S[L.S_ID], A_ch)
    S[L.S_VS] = Vs
    drag = iteration > 5 and not landmark
    me_e = M_E / E_CHARGE
    un = P[L.P_UN]
    for i in range(n2):
        ne = F[L.NE, i]
        mu = F[L.MU, i]
        F[L.WORK1, i] = 1.0 / (E_CHARGE * ne * mu * F[L.AREA, i])
        v = F[L.JI, i] / (E_CHARGE * mu * ne) + F[L.GRAD_PE, i] / ne
        if drag:
            v -= me_e * (F[L.UI_BAR, i] * (F[L.NU_EI, i] + F[L.NU_AN, i]) + un * F[L.NU_EN, i])
        F[L.WORK2, i] = v
    for row in (L.WORK1, L.WORK2):
        F[row, 0] = 0.5 * (F[row, 0] + F[row, 1])
        F[row, N + 1] = 0.5 * (F[row, N + 1] + F[row, N])
    int1 = trapezoid_edges(F[L.WORK1], zc, z_edge, N)
    int2 = trapezoid_edges(F[L.WORK2], zc, z_edge, N)
    V_anode = P[L.P_VD] + Vs
    Id = (V_anode - P[L.P_VCC] + int2) / int1
    if not (Id - Id == 0.0):
        S[L.S_ID] = Id
        return L.FAIL_CURRENT
    Id = max(0.0, min(P[L.P_ILIMIT], Id))
    S[L.S_ID] = Id
    for i in range(n2):
        ne = F[L.NE, i]
        E = (Id / F[L.AREA, i] - F[L.JI, i]) / (E_CHARGE * ne * F[L.MU, i]) - F[L.GRAD_PE, i] / ne
        if drag:
            E += me_e * (F[L.UI_BAR, i] * (F[L.NU_EI, i] + F[L.NU_AN, i]) + un * F[L.NU_EN, i])
        F[L.EF, i] = E
    # potential: cumulative trapezoid of -E from the anode edge (φ = V_d + V_s there)
    E_left = 0.5 * (F[L.EF, 0] + F[L.EF, 1])
    phi = V_anode - 0.5 * (E_left + F[L.EF, 1]) * (zc[1] - z_edge[0])
    F[L.PHI, 1] = phi
    for k in range(2, N + 1):
        phi -= 0.5 * (F[L.EF, k - 1] + F[L.EF, k]) * (zc[k] - zc[k - 1])
        F[L.PHI, k] = phi
    E_right = 0.5 * (F[L.EF, N] + F[L.EF, N + 1])
    phi_right = phi - 0.5 * (F[L.EF, N] + E_right) * (z_edge[N] - zc[N])
    F[L.PHI, 0] = 2.0 * V_anode - F[L.PHI, 1]
    F[L.PHI, N + 1] = 2.0 * phi_right - F[L.PHI, N]
    if not (phi_right - phi_right == 0.0):
        return L.FAIL_PHI
    for i in range(n2):
        ne = F[L.NE, i]
        ue = (F[L.JI, i] - Id / F[L.AREA, i]) / (E_CHARGE * ne)
        F[L.UE, i] = ue
        Omega = E_CHARGE * F[L.B, i] / (M_E * F[L.NU_E, i])
        F[L.KIN, i] = 0.5 * M_E * (1.0 + Omega * Omega) * ue * ue / E_CHARGE

    # ---- 3e: thermal conductivity κ (§6.2)
    cond = int(P[L.P_COND])
    for i in range(n2):
        mu = F[L.MU, i]
        if cond == L.COND_LANDMARK:
            # κ = 10/9 μ nε with nε taken as 3/2 n_e T_e from the *current* n_e (after the heavy
            # step), not the stored nε: this reproduces upstream's LANDMARK outputs bit for bit
            F[L.KAPPA, i] = 10.0 / 9.0 * mu * 1.5 * F[L.NE, i] * F[L.TEV, i]
        elif cond == L.COND_MITCHNER:
            k0 = 2.4 / (1.0 + F[L.NU_EI, i] / (math.sqrt(2.0) * F[L.NU_E, i]))
            F[L.KAPPA, i] = k0 * mu * F[L.NE, i] * F[L.TEV, i]
        else:
            F[L.KAPPA, i] = braginskii_coefficient(F[L.ZEFF, i]) * mu * F[L.NE, i] * F[L.TEV, i]
    return 0
