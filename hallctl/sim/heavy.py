"""Heavy-species kernels: Rusanov fluxes, reconstruction, SSPRK22, derived quantities.

Implements docs/physics.md §4.1–4.2 (neutrals and isothermal ions), §3 (derived quantities) and
§11.1–11.4 (finite volumes, van Leer reconstruction, Heun/SSPRK22, the adaptive time-step
proposal). The source terms (§4.3–4.4, §7.3) are in :mod:`hallctl.sim.sources`, boundary
conditions and the stage limiter (§8) in :mod:`hallctl.sim.boundaries`. All functions are numba
kernels over the packed arrays of :mod:`hallctl.sim.layout`; they allocate nothing.

Speed (docs/physics.md §17): each kernel is a sequence of short loops over the cells of a few rows,
written so that LLVM vectorizes them — no calls, no data-dependent branches (selects instead),
indices it can prove non-negative (numba wraps negative indices), and few output rows per loop
(numba cannot tell LLVM that arrays do not alias, so every loop checks that at run time, and
LLVM gives up past ~128 checks). Quantities needed by several loops go through work rows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hallctl.sim import layout as lay
from hallctl.sim._jit import jit
from hallctl.sim.boundaries import floor_densities
from hallctl.sim.constants import E_CHARGE
from hallctl.sim.sources import add_sources, reaction_rates

if TYPE_CHECKING:
    import numpy as np

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
def limited_slope(q_m: float, q_i: float, q_p: float) -> float:
    """van Leer limited half-slope δ of docs/physics.md §11.2; the face values are q_i ∓ δ.

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
    return 1 + 2 * nZ + nZ + 7 + MAX_REACTIONS


@jit
def _slopes(Q: np.ndarray, q: int, W: np.ndarray, row: int, N: int) -> None:
    """W[row, 1..N] = van Leer half-slopes of Q[q] (§11.2); one vector loop."""
    for i in range(1, N + 1):
        W[row, i] = limited_slope(Q[q, i - 1], Q[q, i], Q[q, i + 1])


@jit
def _ion_flux(W: np.ndarray, FM: int, FP: int, j: int, rl: float, ul: float, rr: float, ur: float, a_i: float,
             kTi_m: float) -> float:
    """Rusanov flux of the isothermal ion equations at edge j from face states (ρ, u) left and
    right (docs/physics.md §11.1); writes W[FM, j], W[FP, j] and returns the wave speed s."""
    fl = rl * ul
    fr = rr * ur
    s = max(abs(ul), abs(ur)) + a_i
    W[FM, j] = 0.5 * (fl + fr - s * (rr - rl))
    W[FP, j] = 0.5 * (rl * (ul * ul + kTi_m) + rr * (ur * ur + kTi_m) - s * (fr - fl))
    return s


@jit
def _ion_fluxes(U: np.ndarray, W: np.ndarray, dU: np.ndarray, F: np.ndarray, rz: int, mz: int, vz: int, FM: int,
                FP: int, SPD: int, N: int, recon: bool, a_i: float, kTi_m: float) -> None:
    """Rusanov fluxes of one isothermal ion fluid (docs/physics.md §11.1) and their divergence.

    Face states (ρ, u) are the cell values ± the slopes W[rz], W[mz] of ρ and u on interior
    edges; the two boundary edges always use first-order states (docs/physics.md §11.2, §16 item 9).
    Writes the mass and momentum fluxes to W[FM], W[FP], the wave speed / spacing to W[SPD] and
    (F_(i-1/2) - F_(i+1/2))/Δz_i to dU[rz], dU[mz].
    """
    for j in (0, N):
        W[SPD, j] = _ion_flux(W, FM, FP, j, U[rz, j], W[vz, j], U[rz, j + 1], W[vz, j + 1], a_i,
                              kTi_m) * F[lay.INV_DZE, j]
    if recon:
        for j in range(1, N):
            W[SPD, j] = _ion_flux(W, FM, FP, j, U[rz, j] + W[rz, j], W[vz, j] + W[mz, j],
                                  U[rz, j + 1] - W[rz, j + 1], W[vz, j + 1] - W[mz, j + 1], a_i,
                                  kTi_m) * F[lay.INV_DZE, j]
    else:
        for j in range(1, N):
            W[SPD, j] = _ion_flux(W, FM, FP, j, U[rz, j], W[vz, j], U[rz, j + 1], W[vz, j + 1], a_i,
                                  kTi_m) * F[lay.INV_DZE, j]
    for i in range(1, N + 1):
        dU[rz, i] = (W[FM, i - 1] - W[FM, i]) * F[lay.INV_DZC, i]
        dU[mz, i] = (W[FP, i - 1] - W[FP, i]) * F[lay.INV_DZC, i]


@jit
def _row_max(A: np.ndarray, row: int, lo: int, hi: int) -> float:
    """max(A[row, lo:hi]) (0 if empty) with four independent accumulators (short chains)."""
    m0 = 0.0
    m1 = 0.0
    m2 = 0.0
    m3 = 0.0
    i = lo
    while i + 4 <= hi:
        m0 = max(m0, A[row, i])
        m1 = max(m1, A[row, i + 1])
        m2 = max(m2, A[row, i + 2])
        m3 = max(m3, A[row, i + 3])
        i += 4
    while i < hi:
        m0 = max(m0, A[row, i])
        i += 1
    return max(max(m0, m1), max(m2, m3))


@jit
def heavy_rhs(U: np.ndarray, dU: np.ndarray, F: np.ndarray, W: np.ndarray, dz_cell: np.ndarray, dz_edge: np.ndarray,
              P: np.ndarray, S: np.ndarray, iz_tab: np.ndarray, iz_energy: np.ndarray, iz_react: np.ndarray,
              iz_prod: np.ndarray) -> None:
    """Right-hand side L(U) of all heavy fluids and the time-step limits (docs/physics.md §4, §11).

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
def heavy_stage_rhs(U: np.ndarray, dU: np.ndarray, F: np.ndarray, W: np.ndarray, P: np.ndarray, S: np.ndarray,
                    iz_tab: np.ndarray, iz_energy: np.ndarray, iz_react: np.ndarray, iz_prod: np.ndarray,
                    final: bool) -> None:
    """:func:`heavy_rhs` of one RK stage; ``final`` marks the second stage, whose ν_iz, ionization
    power and time-step limits (§11.3–11.4) are the ones kept: only then are they computed."""
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
    KMAX = FM + 6  # max_r k_r n_e per cell,
    KR = FM + 7  # and the rate coefficient of each reaction per cell
    for v in range(nvar):
        dU[v, 0] = 0.0
        dU[v, N + 1] = 0.0

    # ---- neutrals: constant-velocity advection, Rusanov flux (§11.1)
    s_n = abs(un) + P[lay.P_AN_SPEED]
    if recon:
        _slopes(U, 0, W, 0, N)
    # the two boundary edges always use first-order states (docs/physics.md §11.2, §16 item 9)
    for j in (0, N):
        W[FM, j] = 0.5 * (un * (U[0, j] + U[0, j + 1]) - s_n * (U[0, j + 1] - U[0, j]))
    for j in range(1, N):
        rl = U[0, j]
        rr = U[0, j + 1]
        if recon:
            rl += W[0, j]
            rr -= W[0, j + 1]
        W[FM, j] = 0.5 * (un * (rl + rr) - s_n * (rr - rl))
    for i in range(1, N + 1):
        dU[0, i] = (W[FM, i - 1] - W[FM, i]) * F[lay.INV_DZC, i]
    max_rate = 0.0  # largest wave speed / spacing over all fluids and edges
    if final:
        max_rate = s_n * _row_max(F, lay.INV_DZE, 0, N + 1)

    # ---- ions: isothermal Euler, reconstruction of ρ and u (§11.1–11.2)
    for Z in range(1, nZ + 1):
        rz = 2 * Z - 1
        mz = 2 * Z
        vz = VEL + Z - 1
        for i in range(n2):
            W[vz, i] = U[mz, i] / U[rz, i]
        if recon:
            _slopes(U, rz, W, rz, N)
            _slopes(W, vz, W, mz, N)
        _ion_fluxes(U, W, dU, F, rz, mz, vz, FM, FP, SPD, N, recon, P[lay.P_AI_SPEED], P[lay.P_KTI_M])
        if final:
            max_rate = max(max_rate, _row_max(W, SPD, 0, N + 1))

    # ---- stage n_e, 1/n_e, ε = nε/n_e + K (LANDMARK: nε/n_e) and k_r(ε) (§4.3, §9.2)
    landmark = P[lay.P_LANDMARK] != 0.0
    for i in range(n2):
        ne = U[1, i]  # Σ_Z Z ρ_Z / m (the nZ tests are hoisted out of the loop by LLVM)
        if nZ >= 2:
            ne += 2 * U[3, i]
        if nZ >= 3:
            ne += 3 * U[5, i]
        ne *= inv_m
        W[NEW, i] = ne
        inv_ne = 1.0 / ne
        W[INV, i] = inv_ne
        eps = F[lay.NEPS, i] * inv_ne
        if not landmark:
            eps += F[lay.KIN, i]
        W[EPSW, i] = eps
    reaction_rates(W, EPSW, KR, N, int(P[lay.P_NREACT]), iz_tab)

    # ---- sources: ionization (§4.3), acceleration (§4.4), ion wall losses (§7.3), plume (§2.4)
    add_sources(U, dU, F, W, P, iz_energy, iz_react, iz_prod, VEL, NEW, INV, KR, KMAX, final)
    if not final:
        return
    # Δt_iz = min over reactions and cells of 1/(k n_e)
    S[lay.S_DT_IZ] = 1.0 / _row_max(W, KMAX, 1, N + 1)
    # Δt_E = sqrt(min dz/|Z e E/m|), the highest charge Z = nZ being the binding one
    max_acc = 0.0
    for i in range(1, N + 1):
        max_acc = max(max_acc, abs(F[lay.EF, i]) * F[lay.INV_DZC, i])
    S[lay.S_DT_E] = math.sqrt(1.0 / (nZ * E_CHARGE * inv_m * max_acc))
    S[lay.S_DT_U] = 1.0 / max_rate


@jit
def ssprk22_step(U: np.ndarray, U1: np.ndarray, dU: np.ndarray, F: np.ndarray, W: np.ndarray, dz_cell: np.ndarray,
                 dz_edge: np.ndarray, P: np.ndarray, S: np.ndarray, dt: float, iz_tab: np.ndarray,
                 iz_energy: np.ndarray, iz_react: np.ndarray, iz_prod: np.ndarray) -> bool:
    """One Heun/SSPRK22 step of the heavy species (docs/physics.md §11.3); ghosts are not updated.

    U⁽¹⁾ = U + Δt L(U), limiter; U ← ½(U + U⁽¹⁾ + Δt L(U⁽¹⁾)), limiter. The limiter's finiteness
    test (``boundaries.stage_limiter``) is folded into the update loops.

    Returns False on a non-finite density or momentum (docs/physics.md §11.7 ``failure``).
    """
    nvar, n2 = U.shape
    heavy_stage_rhs(U, dU, F, W, P, S, iz_tab, iz_energy, iz_react, iz_prod, False)
    bad = 0.0  # NaN if any entry is NaN or ±inf
    for v in range(nvar):
        for i in range(n2):
            y = U[v, i] + dt * dU[v, i]
            U1[v, i] = y
            bad += y * 0.0
    if bad != 0.0:
        return False
    floor_densities(U1, P)
    heavy_stage_rhs(U1, dU, F, W, P, S, iz_tab, iz_energy, iz_react, iz_prod, True)
    for v in range(nvar):
        for i in range(n2):
            y = 0.5 * (U[v, i] + U1[v, i] + dt * dU[v, i])
            U[v, i] = y
            bad += y * 0.0
    if bad != 0.0:
        return False
    floor_densities(U, P)
    return True


@jit
def heavy_derived(U: np.ndarray, F: np.ndarray, P: np.ndarray) -> None:
    """Derived heavy quantities at all cells (docs/physics.md §3): n_n, n_e, 1/n_e, Σn_Z, j_i, Z_eff,
    m_eff, ū_i, the reaction energy ε = nε/n_e + K (LANDMARK: nε/n_e) and Σ_Z Z^(3/2) ρ_Z.

    Two cell loops of few output rows each (so that both vectorize); the charge-state terms
    are guarded by loop-invariant tests on nZ, which LLVM hoists out of the loops.
    """
    n2 = U.shape[1]
    nZ = int(P[lay.P_NZ])
    inv_m = P[lay.P_INV_MASS]
    landmark = P[lay.P_LANDMARK] != 0.0
    w2 = 2.0 * math.sqrt(2.0)
    w3 = 3.0 * math.sqrt(3.0)
    for i in range(n2):
        ne = U[1, i]  # Σ_Z Z ρ_Z / m
        if nZ >= 2:
            ne += 2 * U[3, i]
        if nZ >= 3:
            ne += 3 * U[5, i]
        ne *= inv_m
        F[lay.NN, i] = U[0, i] * inv_m
        F[lay.NE, i] = ne
        F[lay.INV_NE, i] = 1.0 / ne
        eps = F[lay.NEPS, i] / ne
        if not landmark:
            eps += F[lay.KIN, i]
        F[lay.EPS, i] = eps
    for i in range(n2):
        rho = U[1, i]  # Σ_Z ρ_Z, Σ_Z Z (ρu)_Z, Σ_Z (ρu)_Z, Σ_Z Z^(3/2) ρ_Z
        ji = U[2, i]
        flux = U[2, i]
        zn = U[1, i]
        if nZ >= 2:
            rho += U[3, i]
            ji += 2 * U[4, i]
            flux += U[4, i]
            zn += w2 * U[3, i]
        if nZ >= 3:
            rho += U[5, i]
            ji += 3 * U[6, i]
            flux += U[6, i]
            zn += w3 * U[5, i]
        ns = rho * inv_m
        inv_ns = 1.0 / ns
        F[lay.NI_SUM, i] = ns
        F[lay.JI, i] = E_CHARGE * ji * inv_m
        F[lay.ZEFF, i] = F[lay.NE, i] * inv_ns
        F[lay.MEFF, i] = rho * inv_ns
        F[lay.UI_BAR, i] = flux * inv_m * inv_ns
        F[lay.ZN_WALL, i] = zn
