"""Heavy-species kernels: Rusanov fluxes, reconstruction, sources, SSPRK22, derived quantities.

Implements physics.md §4 (neutrals and isothermal ions with six charge-changing reactions),
§3 (derived quantities) and §11.1–11.4 (finite volumes, van Leer reconstruction, Heun/SSPRK22,
the adaptive time-step proposal). Boundary conditions and the stage limiter (§8) are in
:mod:`hallctl.sim.boundaries`. All functions are numba kernels over the packed arrays of
:mod:`hallctl.sim.layout`; they allocate nothing.

Speed (physics.md §17): the kernels are written as short loops over the cells of one or a few
rows, each free of calls and branches that would keep LLVM from vectorizing it; per-cell work
that cannot vectorize (the rate-table gathers, the source assembly) runs in its own loop fed
by rows precomputed in vector loops, so that its dependency chains stay short.
"""

import math

from hallctl.sim import layout as lay
from hallctl.sim._jit import jit
from hallctl.sim.boundaries import stage_limiter
from hallctl.sim.constants import E_CHARGE
from hallctl.sim.rates import table_index

__all__ = [
    "MAX_REACTIONS",
    "heavy_derived",
    "heavy_rhs",
    "limited_slope",
    "ssprk22_step",
    "work_rows",
]

MAX_REACTIONS = 6
"""Most ionization reactions of a simulation (Xe 0→1, 0→2, 0→3, 1→2, 1→3, 2→3)."""


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


def work_rows(nZ: int) -> int:
    """Rows of the work array ``W`` that :func:`heavy_rhs` needs for ``nZ`` ion charges."""
    return 1 + 2 * nZ + nZ + 6 + MAX_REACTIONS


@jit
def _slopes(q, W, row, N):
    """W[row, 1..N] = van Leer half-slopes of q (§11.2); one vector loop."""
    for i in range(1, N + 1):
        W[row, i] = limited_slope(q[i - 1], q[i], q[i + 1])


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
def _ion_fluxes(rho, W, dU, rz, mz, vz, FM, FP, SPD, idzc, idze, N, recon, a_i, kTi_m):
    """Rusanov fluxes of one isothermal ion fluid (physics.md §11.1) and their divergence.

    Face states (ρ, u) are the cell values ± the slopes W[rz], W[mz] of ρ and u on interior
    edges; the two boundary edges always use first-order states (physics.md §11.2, §16 item 9).
    Writes the mass and momentum fluxes to W[FM], W[FP], the wave speed / spacing to W[SPD] and
    (F_(i-1/2) - F_(i+1/2))/Δz_i to dU[rz], dU[mz].
    """
    u = W[vz]
    for j in (0, N):
        W[SPD, j] = _ion_flux(W, FM, FP, j, rho[j], u[j], rho[j + 1], u[j + 1], a_i, kTi_m) * idze[j]
    if recon:
        for j in range(1, N):
            W[SPD, j] = _ion_flux(W, FM, FP, j, rho[j] + W[rz, j], u[j] + W[mz, j], rho[j + 1] - W[rz, j + 1],
                                  u[j + 1] - W[mz, j + 1], a_i, kTi_m) * idze[j]
    else:
        for j in range(1, N):
            W[SPD, j] = _ion_flux(W, FM, FP, j, rho[j], u[j], rho[j + 1], u[j + 1], a_i, kTi_m) * idze[j]
    for i in range(1, N + 1):
        dU[rz, i] = (W[FM, i - 1] - W[FM, i]) * idzc[i]
        dU[mz, i] = (W[FP, i - 1] - W[FP, i]) * idzc[i]


@jit
def _row_max(a, lo, hi):
    """max(a[lo:hi]) (0 if empty) with four independent accumulators (short dependency chain)."""
    m0 = 0.0
    m1 = 0.0
    m2 = 0.0
    m3 = 0.0
    i = lo
    while i + 4 <= hi:
        m0 = max(m0, a[i])
        m1 = max(m1, a[i + 1])
        m2 = max(m2, a[i + 2])
        m3 = max(m3, a[i + 3])
        i += 4
    while i < hi:
        m0 = max(m0, a[i])
        i += 1
    return max(max(m0, m1), max(m2, m3))


@jit
def heavy_rhs(U, dU, F, W, dz_cell, dz_edge, P, S, iz_tab, iz_energy, iz_react, iz_prod):
    """Right-hand side L(U) of all heavy fluids and the time-step limits (physics.md §4, §11).

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
    heavy_stage_rhs(U, dU, F, W, P, S, iz_tab, iz_energy, iz_react, iz_prod, True)


@jit
def heavy_stage_rhs(U, dU, F, W, P, S, iz_tab, iz_energy, iz_react, iz_prod, limits):
    """:func:`heavy_rhs`; the time-step limits (§11.4) only when ``limits`` (second stage)."""
    N = int(P[lay.P_N])
    nZ = int(P[lay.P_NZ])
    n2 = N + 2
    inv_m = P[lay.P_INV_MASS]
    recon = P[lay.P_RECON] != 0.0
    un = P[lay.P_UN]
    nvar = 1 + 2 * nZ
    VEL = nvar  # W rows: [0, nvar) slopes, [nvar, nvar + nZ) ion velocities,
    FM = nvar + nZ  # then the mass and momentum fluxes, the wave speed / spacing per edge,
    FP = FM + 1
    SPD = FM + 2
    NEW = FM + 3  # n_e, 1/n_e and ε of the stage per cell,
    INV = FM + 4
    EPSW = FM + 5
    KR = FM + 6  # and the rate coefficient of each reaction per cell
    idzc = F[lay.INV_DZC]
    idze = F[lay.INV_DZE]

    for v in range(nvar):
        dU[v, 0] = 0.0
        dU[v, N + 1] = 0.0

    # ---- neutrals: constant-velocity advection, Rusanov flux (§11.1)
    s_n = abs(un) + P[lay.P_AN_SPEED]
    rn = U[0]
    if recon:
        _slopes(rn, W, 0, N)
    W[FM, 0] = 0.5 * (un * (rn[0] + rn[1]) - s_n * (rn[1] - rn[0]))
    W[FM, N] = 0.5 * (un * (rn[N] + rn[N + 1]) - s_n * (rn[N + 1] - rn[N]))
    for j in range(1, N):
        rl = rn[j]
        rr = rn[j + 1]
        if recon:
            rl += W[0, j]
            rr -= W[0, j + 1]
        W[FM, j] = 0.5 * (un * (rl + rr) - s_n * (rr - rl))
    for i in range(1, N + 1):
        dU[0, i] = (W[FM, i - 1] - W[FM, i]) * idzc[i]
    max_rate = 0.0  # largest wave speed / spacing over all fluids and edges
    if limits:
        max_rate = s_n * _row_max(idze, 0, N + 1)

    # ---- ions: isothermal Euler, reconstruction of ρ and u (§11.1–11.2)
    for Z in range(1, nZ + 1):
        rz = 2 * Z - 1
        mz = 2 * Z
        vz = VEL + Z - 1
        for i in range(n2):
            W[vz, i] = U[mz, i] / U[rz, i]
        if recon:
            _slopes(U[rz], W, rz, N)
            _slopes(W[vz], W, mz, N)
        _ion_fluxes(U[rz], W, dU, rz, mz, vz, FM, FP, SPD, idzc, idze, N, recon, P[lay.P_AI_SPEED],
                    P[lay.P_KTI_M])
        if limits:
            max_rate = max(max_rate, _row_max(W[SPD], 0, N + 1))

    # ---- stage n_e, 1/n_e, ε = nε/n_e + K (LANDMARK: nε/n_e) and k_r(ε) (§4.3, §9.2)
    ne = W[NEW]
    for i in range(n2):
        ne[i] = U[1, i]
    for Z in range(2, nZ + 1):
        for i in range(n2):
            ne[i] += Z * U[2 * Z - 1, i]
    landmark = P[lay.P_LANDMARK] != 0.0
    for i in range(n2):
        ne[i] *= inv_m
        inv_ne = 1.0 / ne[i]
        W[INV, i] = inv_ne
        eps = F[lay.NEPS, i] * inv_ne
        if not landmark:
            eps += F[lay.KIN, i]
        W[EPSW, i] = eps
    nreact = int(P[lay.P_NREACT])
    for r in range(nreact):
        for i in range(1, N + 1):
            eps = W[EPSW, i]
            jt = table_index(eps)  # shared by all reactions (physics.md §9.2, stage 2)
            t = eps - jt
            W[KR + r, i] = (1.0 - t) * iz_tab[r, jt] + t * iz_tab[r, jt + 1]

    # ---- sources: ionization (§4.3), acceleration (§4.4), ion wall losses (§7.3), plume (§2.4)
    max_kne = _ionization_sources(U, dU, F, W, P, iz_energy, iz_react, iz_prod, VEL, KR, NEW, INV)
    if not limits:
        return
    # Δt_iz = min over reactions and cells of 1/(k n_e)
    S[lay.S_DT_IZ] = 1.0 / max_kne
    # Δt_E = sqrt(min dz/|Z e E/m|), the highest charge Z = nZ being the binding one
    max_acc = 0.0
    for i in range(1, N + 1):
        max_acc = max(max_acc, abs(F[lay.EF, i]) * idzc[i])
    S[lay.S_DT_E] = math.sqrt(1.0 / (nZ * E_CHARGE * inv_m * max_acc))
    S[lay.S_DT_U] = 1.0 / max_rate


@jit
def _ionization_sources(U, dU, F, W, P, iz_energy, iz_react, iz_prod, VEL, KR, NEW, INV):
    """Add the sources of §4.3–4.4, §7.3 and §2.4 to dU; fill F[NU_IZ], F[INEL_IZ].

    Reads the stage velocities W[VEL + Z - 1], n_e = W[NEW], 1/n_e = W[INV] and the rate
    coefficients W[KR + r]. Returns max over cells and reactions of k_r n_e [1/s].
    """
    N = int(P[lay.P_N])
    nZ = int(P[lay.P_NZ])
    inv_m = P[lay.P_INV_MASS]
    un = P[lay.P_UN]
    nreact = int(P[lay.P_NREACT])
    xe_full = P[lay.P_XE_FULL] != 0.0
    landmark = P[lay.P_LANDMARK] != 0.0
    ion_wall = P[lay.P_ION_WALL] != 0.0
    plume = P[lay.P_PLUME] != 0.0
    qm1 = E_CHARGE * inv_m
    max_kne = 0.0
    for i in range(1, N + 1):
        # stage densities, velocities and momenta of up to three charge states, in registers
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
        ne = W[NEW, i]
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
            k01 = W[KR, i]
            k02 = W[KR + 1, i]
            k03 = W[KR + 2, i]
            k12 = W[KR + 3, i]
            k13 = W[KR + 4, i]
            k23 = W[KR + 5, i]
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
            kne = W[KR + r, i] * ne
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
        F[lay.NU_IZ, i] = rdot_sum * inv_m * W[INV, i]
        F[lay.INEL_IZ, i] = inel * inv_m
        qE = qm1 * F[lay.EF, i]
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
    return max_kne


@jit
def ssprk22_step(U, U1, dU, F, W, dz_cell, dz_edge, P, S, dt, iz_tab, iz_energy, iz_react, iz_prod):
    """One Heun/SSPRK22 step of the heavy species (physics.md §11.3); ghosts are not updated.

    Returns False on a non-finite density or momentum (physics.md §11.7 ``failure``).
    """
    nvar, n2 = U.shape
    heavy_stage_rhs(U, dU, F, W, P, S, iz_tab, iz_energy, iz_react, iz_prod, False)
    for v in range(nvar):
        for i in range(n2):
            U1[v, i] = U[v, i] + dt * dU[v, i]
    if not stage_limiter(U1, P):
        return False
    heavy_stage_rhs(U1, dU, F, W, P, S, iz_tab, iz_energy, iz_react, iz_prod, True)
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
    # Σ_Z Z ρ_Z, Σ_Z ρ_Z, Σ_Z Z (ρu)_Z, Σ_Z (ρu)_Z accumulated row by row (vector loops)
    for i in range(n2):
        F[lay.NE, i] = U[1, i]
        F[lay.NI_SUM, i] = U[1, i]
        F[lay.JI, i] = U[2, i]
        F[lay.UI_BAR, i] = U[2, i]
    for Z in range(2, nZ + 1):
        for i in range(n2):
            r = U[2 * Z - 1, i]
            f = U[2 * Z, i]
            F[lay.NE, i] += Z * r
            F[lay.NI_SUM, i] += r
            F[lay.JI, i] += Z * f
            F[lay.UI_BAR, i] += f
    for i in range(n2):
        F[lay.NN, i] = U[0, i] * inv_m
        ne = F[lay.NE, i] * inv_m
        rho = F[lay.NI_SUM, i]
        ns = rho * inv_m
        inv_ns = 1.0 / ns
        F[lay.NE, i] = ne
        F[lay.NI_SUM, i] = ns
        F[lay.JI, i] = E_CHARGE * F[lay.JI, i] * inv_m
        F[lay.ZEFF, i] = ne * inv_ns
        F[lay.MEFF, i] = rho * inv_ns
        F[lay.UI_BAR, i] = F[lay.UI_BAR, i] * inv_m * inv_ns
        eps = F[lay.NEPS, i] / ne
        if not landmark:
            eps += F[lay.KIN, i]
        F[lay.EPS, i] = eps
