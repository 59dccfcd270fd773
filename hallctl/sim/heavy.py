"""Heavy-species kernels: Rusanov fluxes, reconstruction, sources, SSPRK22, limiter, boundaries.

Implements physics.md §4 (neutrals and isothermal ions with six charge-changing reactions),
§8 (boundary conditions and the stage limiter) and §11.1–11.4 (finite volumes, van Leer
reconstruction, Heun/SSPRK22, the adaptive time-step proposal). All functions are numba kernels
over the packed arrays of :mod:`hallctl.sim.layout`; they allocate nothing.
"""

import math

from hallctl.sim import layout as L
from hallctl.sim._jit import jit
from hallctl.sim.constants import E_CHARGE, K_B
from hallctl.sim.rates import lookup_rate_row

__all__ = [
    "apply_boundaries",
    "work_rows",
    "erf_approx",
    "heavy_derived",
    "heavy_rhs",
    "limited_slope",
    "ssprk22_step",
    "stage_limiter",
]


@jit
def limited_slope(q_m, q_i, q_p):
    """van Leer limited half-slope δ of physics.md §11.2.

    r = (q₊ - q_i)/(q_i - q₋), φ(r) = 4r/(1 + r)² for finite r ≥ 0 else 0, δ = ¼ φ (q₊ - q₋);
    the face values of the cell are q_i ∓ δ.
    """
    a = q_i - q_m
    b = q_p - q_i
    if a * b > 0.0:
        return a * b / (a + b)
    return 0.0


@jit
def erf_approx(y):
    """Upstream's approximate erf, 1 - exp(-y²)/(y√π) g/(1 + g), g = √π y + (π - 2) y²
    (odd extension for y < 0), used in the anode Bohm-speed reduction (physics.md §8.1)."""
    if y == 0.0:
        return 0.0
    a = abs(y)
    g = math.sqrt(math.pi) * a + (math.pi - 2.0) * a * a
    v = 1.0 - math.exp(-a * a) / (a * math.sqrt(math.pi)) * g / (1.0 + g)
    return v if y > 0.0 else -v


@jit
def _min_ratio(num, den, n, tol_row):
    """min_j num[j]/den[j] over j < n, exactly as the plain loop would give it, with one
    division per candidate only: a first pass finds the largest den/num by multiplication,
    a second divides where den/num is within 1e-12 of it (``tol_row`` holds den/num)."""
    best = 0.0
    for j in range(n):
        q = den[j] * (1.0 / num[j]) if num[j] > 0.0 else math.inf
        tol_row[j] = q
        best = max(best, q)
    if best == 0.0:
        return math.inf
    lo = best * (1.0 - 1e-12)
    out = math.inf
    for j in range(n):
        if tol_row[j] >= lo:
            out = min(out, num[j] / den[j])
    return out


@jit
def heavy_rhs(U, dU, F, W, dz_cell, dz_edge, P, S, iz_tab, iz_energy, iz_react, iz_prod):
    """Right-hand side L(U) of all heavy fluids (physics.md §4, §11.1–11.4).

    Fills ``dU`` at interior cells (ghost rows are set to zero), overwrites ``F[NU_IZ]`` and
    ``F[INEL_IZ]`` with the ionization frequency [1/s] and power density [eV m⁻³ s⁻¹], and
    stores the time-step limits Δt_iz, Δt_E, Δt_u [s] in ``S``. Frozen inputs from the last
    electron update: ``F[EF]`` (E), ``F[NEPS]`` (nε), ``F[KIN]`` (K), ``F[NU_IW*]``.

    Args:
        U: conserved state (nvar, N+2); dU: output, same shape.
        F: fields (NUM_F, N+2); W: work array (``work_rows(nZ)`` rows, N+2).
        dz_cell: cell widths (N+2,); dz_edge: centre spacing across each edge (N+1,).
        P, S: parameters and scalar state; iz_*: reaction tables (rates.RateTables).
    """
    N = int(P[L.P_N])
    nZ = int(P[L.P_NZ])
    m = P[L.P_MASS]
    recon = P[L.P_RECON] != 0.0
    landmark = P[L.P_LANDMARK] != 0.0
    un = P[L.P_UN]
    kTi_m = P[L.P_KTI_M]
    a_i = P[L.P_AI_SPEED]
    nvar = 1 + 2 * nZ
    VEL = nvar  # W rows: [0, nvar) slopes, [nvar, nvar + nZ) ion velocities,
    FM = nvar + nZ  # mass flux, momentum flux, edge wave speed, scratch
    FP = FM + 1
    SP = FM + 2
    SC = FM + 3

    for v in range(nvar):
        dU[v, 0] = 0.0
        dU[v, N + 1] = 0.0

    # ---- neutrals: constant-velocity advection, Rusanov flux (§11.1)
    s_n = abs(un) + P[L.P_AN_SPEED]
    if recon:
        for i in range(1, N + 1):
            W[0, i] = limited_slope(U[0, i - 1], U[0, i], U[0, i + 1])
    dz_min = math.inf
    for j in range(N + 1):
        # the two boundary edges always use first-order states (physics.md §11.2, §16 item 9)
        if recon and 0 < j < N:
            rl = U[0, j] + W[0, j]
            rr = U[0, j + 1] - W[0, j + 1]
        else:
            rl = U[0, j]
            rr = U[0, j + 1]
        W[FM, j] = 0.5 * (un * (rl + rr) - s_n * (rr - rl))
        dz_min = min(dz_min, dz_edge[j])
    dt_u = dz_min / s_n  # = min_j dz_edge[j]/s_n (division is monotonic)
    for i in range(1, N + 1):
        dU[0, i] = (W[FM, i - 1] - W[FM, i]) / dz_cell[i]

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
        for j in range(N + 1):
            rl = U[rz, j]
            ul = W[vz, j]
            rr = U[rz, j + 1]
            ur = W[vz, j + 1]
            if recon and 0 < j < N:
                rl = rl + W[rz, j]
                ul = ul + W[mz, j]
                rr = rr - W[rz, j + 1]
                ur = ur - W[mz, j + 1]
            fl = rl * ul
            fr = rr * ur
            s = max(abs(ul), abs(ur)) + a_i
            W[FM, j] = 0.5 * (fl + fr - s * (rr - rl))
            W[FP, j] = 0.5 * (rl * (ul * ul + kTi_m) + rr * (ur * ur + kTi_m) - s * (fr - fl))
            W[SP, j] = s
        dt_u = min(dt_u, _min_ratio(dz_edge, W[SP], N + 1, W[SC]))
        for i in range(1, N + 1):
            dU[rz, i] = (W[FM, i - 1] - W[FM, i]) / dz_cell[i]
            dU[mz, i] = (W[FP, i - 1] - W[FP, i]) / dz_cell[i]

    # ---- sources: ionization (§4.3), acceleration (§4.4), ion wall losses (§7.3), plume (§2.4)
    nreact = int(P[L.P_NREACT])
    ion_wall = P[L.P_ION_WALL] != 0.0
    plume = P[L.P_PLUME] != 0.0
    max_kne = 0.0
    min_acc = math.inf
    qm_max = nZ * E_CHARGE / m
    for i in range(1, 1):
        ne = 0.0
        for Z in range(1, nZ + 1):
            ne += Z * (U[2 * Z - 1, i] / m)
        eps = F[L.NEPS, i] / ne
        if not landmark:
            eps += F[L.KIN, i]
        # rate-table index shared by all reactions (physics.md §9.2, stage 2)
        if eps - eps == 0.0:
            jf = min(max(math.floor(eps), 0.0), 254.0)
        else:
            jf = 0.0
        t = eps - jf
        jt = int(jf)
        nu_iz = 0.0
        inel = 0.0
        for r in range(nreact):
            k = (1.0 - t) * iz_tab[r, jt] + t * iz_tab[r, jt + 1]
            sr = iz_react[r]
            pr = iz_prod[r]
            row_s = 0 if sr == 0 else 2 * sr - 1
            rdot = k * ne * U[row_s, i]
            dU[row_s, i] -= rdot
            dU[2 * pr - 1, i] += rdot
            if not landmark:
                if sr == 0:
                    us = un
                else:
                    us = W[VEL + sr - 1, i]
                    dU[2 * sr, i] -= rdot * us
                dU[2 * pr, i] += rdot * us
            ndot = rdot / m
            nu_iz += ndot
            inel += ndot * iz_energy[r]
            max_kne = max(max_kne, k * ne)  # Δt_iz = min 1/(k n_e) = 1/max(k n_e)
        F[L.NU_IZ, i] = nu_iz / ne
        F[L.INEL_IZ, i] = inel
        E = F[L.EF, i]
        # Δt_E: the largest |Z e E/m| of a cell belongs to the highest charge
        min_acc = min(min_acc, dz_cell[i] / abs(qm_max * E))
        for Z in range(1, nZ + 1):
            rz = 2 * Z - 1
            mz = 2 * Z
            dU[mz, i] += Z * E_CHARGE / m * E * U[rz, i]
            if ion_wall:
                nu_w = F[L.NU_IW1 + Z - 1, i]
                dU[rz, i] -= nu_w * U[rz, i]
                dU[mz, i] -= nu_w * U[mz, i]
                dU[0, i] += nu_w * U[rz, i]
            if plume:
                dlna = F[L.DLNA, i]
                dU[rz, i] -= U[mz, i] * dlna
                dU[mz, i] -= U[mz, i] * W[VEL + Z - 1, i] * dlna
    S[L.S_DT_IZ] = 1.0 / max_kne
    S[L.S_DT_E] = math.sqrt(min_acc)
    S[L.S_DT_U] = dt_u


def work_rows(nZ: int) -> int:
    """Rows of the work array ``W`` that :func:`heavy_rhs` needs for ``nZ`` ion charges."""
    return 1 + 2 * nZ + nZ + 4


@jit
def stage_limiter(U, P):
    """Positivity limiter after each RK stage, all cells incl. ghosts (physics.md §8.3).

    Returns False (and changes nothing more) when a density or momentum is not finite;
    otherwise floors every density at 1 m⁻³ × m, ions keeping their velocity.
    """
    n2 = U.shape[1]
    nZ = int(P[L.P_NZ])
    floor = P[L.P_MASS]  # MIN_NUMBER_DENSITY (1 m⁻³) × m
    for i in range(n2):
        r = U[0, i]
        if not (r - r == 0.0):
            return False
        U[0, i] = max(r, floor)
        for Z in range(1, nZ + 1):
            r = U[2 * Z - 1, i]
            f = U[2 * Z, i]
            if not (r - r == 0.0 and f - f == 0.0):
                return False
            u = f / r
            r = max(r, floor)
            U[2 * Z - 1, i] = r
            U[2 * Z, i] = r * u
    return True


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
def apply_boundaries(U, F, P, S):
    """Anode and cathode ghost states (physics.md §8.1–8.2).

    Uses T_e of the first interior cell and the sheath potential V_s of the last electron update
    (physics.md §16 item 10).
    """
    N = int(P[L.P_N])
    nZ = int(P[L.P_NZ])
    m = P[L.P_MASS]
    un = P[L.P_UN]
    Te1 = F[L.TEV, 1]
    Vs = S[L.S_VS]
    b = 1.0
    if P[L.P_SHEATH_BC] != 0.0 and Vs > 0.0:
        # Bohm-speed reduction in an electron-repelling sheath (Hara, PSST 28, 2019)
        x = Vs / Te1 + 1e-6
        chi = math.exp(-x) / (math.sqrt(math.pi * x) * (1.0 + erf_approx(math.sqrt(x))))
        b = 1.0 / math.sqrt(1.0 + chi)
    kTi = K_B * P[L.P_TI_K]
    rho_n = (P[L.P_MDOT] + P[L.P_MDOT_INGEST]) / (P[L.P_ACH] * un)
    for Z in range(1, nZ + 1):
        rz = 2 * Z - 1
        mz = 2 * Z
        c = math.sqrt((kTi + Z * E_CHARGE * Te1) / m)
        ub = -b * c
        r1 = U[rz, 1]
        u1 = U[mz, 1] / r1
        if u1 <= -c:
            U[rz, 0] = r1
            U[mz, 0] = U[mz, 1]
        else:
            rb = r1 * math.exp((ub - u1) / c)
            U[rz, 0] = rb
            U[mz, 0] = rb * ub
        # ions striking the anode recombine and return as neutrals at u_n
        rho_n -= U[mz, 0] / un
    U[0, 0] = rho_n
    # cathode
    U[0, N + 1] = U[0, N]
    for Z in range(1, nZ + 1):
        rz = 2 * Z - 1
        mz = 2 * Z
        uN = U[mz, N] / U[rz, N]
        if uN >= 0.0:
            U[rz, N + 1] = U[rz, N]
            U[mz, N + 1] = U[mz, N]
        else:
            U[rz, N + 1] = m
            U[mz, N + 1] = m * uN


@jit
def heavy_derived(U, F, P):
    """Derived heavy quantities at all cells (physics.md §3): n_n, n_e, Σn_Z, j_i, Z_eff,
    m_eff, ū_i and the reaction energy ε = nε/n_e + K (LANDMARK: nε/n_e)."""
    n2 = U.shape[1]
    nZ = int(P[L.P_NZ])
    m = P[L.P_MASS]
    landmark = P[L.P_LANDMARK] != 0.0
    for i in range(n2):
        F[L.NN, i] = U[0, i] / m
        ne = 0.0
        ns = 0.0
        ji = 0.0
        nu = 0.0
        rho = 0.0
        for Z in range(1, nZ + 1):
            n = U[2 * Z - 1, i] / m
            flux = U[2 * Z, i] / m
            ne += Z * n
            ns += n
            ji += Z * E_CHARGE * flux
            nu += flux
            rho += U[2 * Z - 1, i]
        F[L.NE, i] = ne
        F[L.NI_SUM, i] = ns
        F[L.JI, i] = ji
        F[L.ZEFF, i] = ne / ns
        F[L.MEFF, i] = rho / ns
        F[L.UI_BAR, i] = nu / ns
        eps = F[L.NEPS, i] / ne
        if not landmark:
            eps += F[L.KIN, i]
        F[L.EPS, i] = eps
