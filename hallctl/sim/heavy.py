"""Heavy-species kernels: Rusanov fluxes, reconstruction, sources, SSPRK22, derived quantities.

Implements physics.md §4 (neutrals and isothermal ions with six charge-changing reactions),
§3 (derived quantities) and §11.1–11.4 (finite volumes, van Leer reconstruction, Heun/SSPRK22,
the adaptive time-step proposal). Boundary conditions and the stage limiter (§8) are in
:mod:`hallctl.sim.boundaries`. All functions are numba kernels over the packed arrays of
:mod:`hallctl.sim.layout`; they allocate nothing.
"""

import math

from hallctl.sim import layout as lay
from hallctl.sim._jit import jit
from hallctl.sim.boundaries import stage_limiter
from hallctl.sim.constants import E_CHARGE
from hallctl.sim.rates import table_index

__all__ = [
    "heavy_derived",
    "heavy_rhs",
    "limited_slope",
    "ssprk22_step",
    "work_rows",
]


@jit
def limited_slope(q_m, q_i, q_p):
    """van Leer limited half-slope δ of physics.md §11.2; the face values are q_i ∓ δ.

    The spec's r = (q₊ - q_i)/(q_i - q₋), φ(r) = 4r/(1 + r)² (0 unless r is finite and ≥ 0),
    δ = ¼ φ (q₊ - q₋) equals a b/(a + b) with a = q_i - q₋, b = q₊ - q_i when a b > 0, and 0
    otherwise (extrema, flat neighbours); that form needs one division instead of two.
    """
    a = q_i - q_m
    b = q_p - q_i
    if a * b > 0.0:
        return a * b / (a + b)
    return 0.0


@jit
def _ion_flux(W, FM, FP, j, rl, ul, rr, ur, a_i, kTi_m):
    """Rusanov flux of the isothermal ion equations at edge j from face states (ρ, u) left and
    right (physics.md §11.1); writes W[FM, j], W[FP, j] and returns the wave speed s."""
    fl = rl * ul
    fr = rr * ur
    s = max(abs(ul), abs(ur)) + a_i
    W[FM, j] = 0.5 * (fl + fr - s * (rr - rl))
    W[FP, j] = 0.5 * (rl * (ul * ul + kTi_m) + rr * (ur * ur + kTi_m) - s * (fr - fl))
    return s


@jit
def heavy_rhs(U, dU, F, W, dz_cell, dz_edge, P, S, iz_tab, iz_energy, iz_react, iz_prod):
    """Right-hand side L(U) of all heavy fluids (physics.md §4, §11.1–11.4).

    Fills ``dU`` at interior cells (ghost rows are set to zero), overwrites ``F[NU_IZ]`` and
    ``F[INEL_IZ]`` with the ionization frequency [1/s] and power density [eV m⁻³ s⁻¹], and
    stores the time-step limits Δt_iz, Δt_E, Δt_u [s] in ``S``. Frozen inputs from the last
    electron update: ``F[EF]`` (E), ``F[NEPS]`` (nε), ``F[KIN]`` (K), ``F[NU_IW*]``.

    Args:
        U: conserved state (nvar, N+2); dU: output, same shape.
        F: fields (NUM_F, N+2), including the inverse spacings ``INV_DZC``/``INV_DZE``;
        W: work array (``work_rows(nZ)`` rows, N+2).
        dz_cell: cell widths (N+2,); dz_edge: centre spacing across each edge (N+1,).
        P, S: parameters and scalar state; iz_*: reaction tables (rates.RateTables).
    """
    N = int(P[lay.P_N])
    nZ = int(P[lay.P_NZ])
    inv_m = P[lay.P_INV_MASS]
    recon = P[lay.P_RECON] != 0.0
    landmark = P[lay.P_LANDMARK] != 0.0
    un = P[lay.P_UN]
    kTi_m = P[lay.P_KTI_M]
    a_i = P[lay.P_AI_SPEED]
    nvar = 1 + 2 * nZ
    VEL = nvar  # W rows: [0, nvar) slopes, [nvar, nvar + nZ) ion velocities,
    FM = nvar + nZ  # then the mass and momentum fluxes
    FP = FM + 1
    SPD = FM + 2  # wave speed / spacing per edge
    idzc = F[lay.INV_DZC]
    idze = F[lay.INV_DZE]

    for v in range(nvar):
        dU[v, 0] = 0.0
        dU[v, N + 1] = 0.0

    # ---- neutrals: constant-velocity advection, Rusanov flux (§11.1)
    s_n = abs(un) + P[lay.P_AN_SPEED]
    if recon:
        for i in range(1, N + 1):
            W[0, i] = limited_slope(U[0, i - 1], U[0, i], U[0, i + 1])
    max_rate = 0.0  # largest wave speed / spacing over all fluids and edges
    for j in range(N + 1):
        # the two boundary edges always use first-order states (physics.md §11.2, §16 item 9)
        rl = U[0, j]
        rr = U[0, j + 1]
        if recon and 0 < j < N:
            rl += W[0, j]
            rr -= W[0, j + 1]
        W[FM, j] = 0.5 * (un * (rl + rr) - s_n * (rr - rl))
    for j in range(N + 1):
        max_rate = max(max_rate, s_n * idze[j])
    for i in range(1, N + 1):
        dU[0, i] = (W[FM, i - 1] - W[FM, i]) * idzc[i]

    # ---- ions: isothermal Euler, reconstruction of ρ and u (§11.1–11.2)
    for Z in range(1, nZ + 1):
        rz = 2 * Z - 1
        mz = 2 * Z
        vz = VEL + Z - 1
        for i in range(N + 2):
            W[vz, i] = U[mz, i] / U[rz, i]
        if recon:
            for i in range(1, N + 1):
                W[rz, i] = limited_slope(U[rz, i - 1], U[rz, i], U[rz, i + 1])
                W[mz, i] = limited_slope(W[vz, i - 1], W[vz, i], W[vz, i + 1])
        # the two boundary edges always use first-order states (physics.md §11.2, §16 item 9)
        for j in (0, N):
            W[SPD, j] = _ion_flux(W, FM, FP, j, U[rz, j], W[vz, j], U[rz, j + 1], W[vz, j + 1], a_i,
                                  kTi_m) * idze[j]
        if recon:
            for j in range(1, N):
                W[SPD, j] = _ion_flux(W, FM, FP, j, U[rz, j] + W[rz, j], W[vz, j] + W[mz, j],
                                      U[rz, j + 1] - W[rz, j + 1], W[vz, j + 1] - W[mz, j + 1], a_i,
                                      kTi_m) * idze[j]
        else:
            for j in range(1, N):
                W[SPD, j] = _ion_flux(W, FM, FP, j, U[rz, j], W[vz, j], U[rz, j + 1], W[vz, j + 1], a_i,
                                      kTi_m) * idze[j]
        for j in range(N + 1):  # kept apart so that the flux loops above can vectorize
            max_rate = max(max_rate, W[SPD, j])
        for i in range(1, N + 1):
            dU[rz, i] = (W[FM, i - 1] - W[FM, i]) * idzc[i]
            dU[mz, i] = (W[FP, i - 1] - W[FP, i]) * idzc[i]

    # ---- sources: ionization (§4.3), acceleration (§4.4), ion wall losses (§7.3), plume (§2.4)
    nreact = int(P[lay.P_NREACT])
    xe_full = P[lay.P_XE_FULL] != 0.0
    ion_wall = P[lay.P_ION_WALL] != 0.0
    plume = P[lay.P_PLUME] != 0.0
    max_kne = 0.0
    max_acc = 0.0
    qm1 = E_CHARGE * inv_m
    for i in range(1, N + 1):
        # stage densities and velocities of up to three charge states, kept in registers
        r1 = U[1, i]
        r2 = U[3, i] if nZ >= 2 else 0.0
        r3 = U[5, i] if nZ >= 3 else 0.0
        u1 = W[VEL, i]
        u2 = W[VEL + 1, i] if nZ >= 2 else 0.0
        u3 = W[VEL + 2, i] if nZ >= 3 else 0.0
        f1 = U[2, i]
        f2 = U[4, i] if nZ >= 2 else 0.0
        f3 = U[6, i] if nZ >= 3 else 0.0
        rn = U[0, i]
        ne = (r1 + 2.0 * r2 + 3.0 * r3) * inv_m
        inv_ne = 1.0 / ne
        eps = F[lay.NEPS, i] * inv_ne
        if not landmark:
            eps += F[lay.KIN, i]
        # rate-table index shared by all reactions (physics.md §9.2, stage 2)
        jt = table_index(eps)
        t = eps - jt
        sn = 0.0  # mass sources of neutrals and ions 1..3, momentum sources of ions 1..3
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        m1 = 0.0
        m2 = 0.0
        m3 = 0.0
        rdot_sum = 0.0
        inel = 0.0
        if xe_full:
            # the six Xe reactions written out (same sums as the generic loop below)
            t1 = 1.0 - t
            k01 = t1 * iz_tab[0, jt] + t * iz_tab[0, jt + 1]
            k02 = t1 * iz_tab[1, jt] + t * iz_tab[1, jt + 1]
            k03 = t1 * iz_tab[2, jt] + t * iz_tab[2, jt + 1]
            k12 = t1 * iz_tab[3, jt] + t * iz_tab[3, jt + 1]
            k13 = t1 * iz_tab[4, jt] + t * iz_tab[4, jt + 1]
            k23 = t1 * iz_tab[5, jt] + t * iz_tab[5, jt + 1]
            kmax = max(max(max(k01, k02), max(k03, k12)), max(k13, k23))
            max_kne = max(max_kne, kmax * ne)
            a01 = k01 * ne * rn
            a02 = k02 * ne * rn
            a03 = k03 * ne * rn
            a12 = k12 * ne * r1
            a13 = k13 * ne * r1
            a23 = k23 * ne * r2
            sn = -(a01 + a02 + a03)
            s1 = a01 - a12 - a13
            s2 = a02 + a12 - a23
            s3 = a03 + a13 + a23
            m1 = a01 * un - (a12 + a13) * u1
            m2 = a02 * un + a12 * u1 - a23 * u2
            m3 = a03 * un + a13 * u1 + a23 * u2
            rdot_sum = (a01 + a02 + a03) + (a12 + a13 + a23)
            inel = (a01 * iz_energy[0] + a02 * iz_energy[1] + a03 * iz_energy[2]
                    + a12 * iz_energy[3] + a13 * iz_energy[4] + a23 * iz_energy[5])
            nreact_loop = 0
        else:
            nreact_loop = nreact
        for r in range(nreact_loop):
            k = (1.0 - t) * iz_tab[r, jt] + t * iz_tab[r, jt + 1]
            kne = k * ne
            max_kne = max(max_kne, kne)
            sr = iz_react[r]
            pr = iz_prod[r]
            if sr == 0:
                rdot = kne * rn
                sn -= rdot
                us = un
            elif sr == 1:
                rdot = kne * r1
                s1 -= rdot
                us = u1
                m1 -= rdot * us
            else:
                rdot = kne * r2
                s2 -= rdot
                us = u2
                m2 -= rdot * us
            if pr == 1:
                s1 += rdot
                m1 += rdot * us
            elif pr == 2:
                s2 += rdot
                m2 += rdot * us
            else:
                s3 += rdot
                m3 += rdot * us
            rdot_sum += rdot
            inel += rdot * iz_energy[r]
        if landmark:  # ions are born at rest in LANDMARK mode (physics.md §15)
            m1 = 0.0
            m2 = 0.0
            m3 = 0.0
        F[lay.NU_IZ, i] = rdot_sum * inv_m * inv_ne
        F[lay.INEL_IZ, i] = inel * inv_m
        E = F[lay.EF, i]
        max_acc = max(max_acc, abs(E) * idzc[i])
        qE = qm1 * E
        m1 += qE * r1
        m2 += 2.0 * qE * r2
        m3 += 3.0 * qE * r3
        if ion_wall:
            w1 = F[lay.NU_IW1, i]
            w2 = F[lay.NU_IW2, i] if nZ >= 2 else 0.0
            w3 = F[lay.NU_IW3, i] if nZ >= 3 else 0.0
            s1 -= w1 * r1
            s2 -= w2 * r2
            s3 -= w3 * r3
            m1 -= w1 * f1
            m2 -= w2 * f2
            m3 -= w3 * f3
            sn += w1 * r1 + w2 * r2 + w3 * r3  # recombined ions return as neutrals
        if plume:
            dlna = F[lay.DLNA, i]
            s1 -= f1 * dlna
            s2 -= f2 * dlna
            s3 -= f3 * dlna
            m1 -= f1 * u1 * dlna
            m2 -= f2 * u2 * dlna
            m3 -= f3 * u3 * dlna
        dU[0, i] += sn
        dU[1, i] += s1
        dU[2, i] += m1
        if nZ >= 2:
            dU[3, i] += s2
            dU[4, i] += m2
        if nZ >= 3:
            dU[5, i] += s3
            dU[6, i] += m3
    # Δt_iz = min over reactions and cells of 1/(k n_e)
    S[lay.S_DT_IZ] = 1.0 / max_kne
    # Δt_E = sqrt(min dz/|Z e E/m|), the highest charge Z = nZ being the binding one
    S[lay.S_DT_E] = math.sqrt(1.0 / (nZ * qm1 * max_acc))
    S[lay.S_DT_U] = 1.0 / max_rate


def work_rows(nZ: int) -> int:
    """Rows of the work array ``W`` that :func:`heavy_rhs` needs for ``nZ`` ion charges."""
    return 1 + 2 * nZ + nZ + 3


@jit
def ssprk22_step(U, U1, dU, F, W, dz_cell, dz_edge, P, S, dt, iz_tab, iz_energy, iz_react, iz_prod):
    """One Heun/SSPRK22 step of the heavy species (physics.md §11.3); ghosts are not updated.

    Returns False on a non-finite density or momentum (physics.md §11.7 ``failure``).
    """
    nvar, n2 = U.shape
    heavy_rhs(U, dU, F, W, dz_cell, dz_edge, P, S, iz_tab, iz_energy, iz_react, iz_prod)
    for v in range(nvar):
        for i in range(n2):
            U1[v, i] = U[v, i] + dt * dU[v, i]
    if not stage_limiter(U1, P):
        return False
    heavy_rhs(U1, dU, F, W, dz_cell, dz_edge, P, S, iz_tab, iz_energy, iz_react, iz_prod)
    for v in range(nvar):
        for i in range(n2):
            U[v, i] = 0.5 * (U[v, i] + U1[v, i] + dt * dU[v, i])
    return stage_limiter(U, P)


@jit
def heavy_derived(U, F, P):
    """Derived heavy quantities at all cells (physics.md §3): n_n, n_e, Σn_Z, j_i, Z_eff,
    m_eff, ū_i and the reaction energy ε = nε/n_e + K (LANDMARK: nε/n_e)."""
    n2 = U.shape[1]
    nZ = int(P[lay.P_NZ])
    inv_m = P[lay.P_INV_MASS]
    landmark = P[lay.P_LANDMARK] != 0.0
    for i in range(n2):
        F[lay.NN, i] = U[0, i] * inv_m
        ne = 0.0
        ns = 0.0
        ji = 0.0
        flux = 0.0
        rho = 0.0
        for Z in range(1, nZ + 1):
            r = U[2 * Z - 1, i]
            f = U[2 * Z, i]
            ne += Z * r
            ns += r
            ji += Z * f
            flux += f
            rho += r
        ne *= inv_m
        inv_ns = 1.0 / (ns * inv_m)
        F[lay.NE, i] = ne
        F[lay.NI_SUM, i] = ns * inv_m
        F[lay.JI, i] = E_CHARGE * ji * inv_m
        F[lay.ZEFF, i] = ne * inv_ns
        F[lay.MEFF, i] = rho * inv_ns
        F[lay.UI_BAR, i] = flux * inv_m * inv_ns
        eps = F[lay.NEPS, i] / ne
        if not landmark:
            eps += F[lay.KIN, i]
        F[lay.EPS, i] = eps
