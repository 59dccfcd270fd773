"""Heavy-species source terms: ionization, acceleration, ion wall losses, plume (docs/physics.md §4).

Per RK stage, after the fluxes (:mod:`hallctl.sim.heavy`):

1. :func:`reaction_rates` — k_r(ε) of every reaction at every interior cell by the run-time
   table lookup of docs/physics.md §9.2 (one table index per cell, shared by all reactions);
2. :func:`add_sources` — the mass and momentum sources of §4.3 (ionization; products born at
   the reactant's velocity), §4.4 (Z e E ρ_Z/m), §7.3 (ion wall losses, recombined ions return
   as neutrals) and §2.4 (plume area growth), added to the flux divergence in ``dU``; also the
   ionization frequency ν_iz = Σ_r ṅ_r / n_e and the ionization power Σ_r ṅ_r E_r (§6.3).

The lookup (a gather) cannot vectorize, so it has its own loop and the source assembly, which
can, reads its result from work rows. The six-reaction xenon set (the hall_diffusion case) has
a written-out, branch-free assembly; any other reaction set goes through the generic loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hallctl.sim import layout as lay
from hallctl.sim._jit import jit
from hallctl.sim.constants import E_CHARGE
from hallctl.sim.rates import table_index

if TYPE_CHECKING:
    import numpy as np

__all__ = ["add_sources", "reaction_rates"]


@jit
def reaction_rates(W: np.ndarray, EPSW: int, KR: int, N: int, nreact: int, iz_tab: np.ndarray) -> None:
    """W[KR + r, i] = (1 - t) k_r[j] + t k_r[j + 1], j = floor(ε) clamped, t = ε - j (§9.2),
    with ε = W[EPSW, i] [eV], for the interior cells i = 1..N and reactions r < nreact."""
    if nreact == 6:  # the full Xe set: a fixed count lets the reaction loop unroll
        for i in range(1, N + 1):
            eps = W[EPSW, i]
            jt = table_index(eps)
            t = eps - jt
            t1 = 1.0 - t
            for r in range(6):
                W[KR + r, i] = t1 * iz_tab[r, jt] + t * iz_tab[r, jt + 1]
        return
    for i in range(1, N + 1):
        eps = W[EPSW, i]
        jt = table_index(eps)
        t = eps - jt
        t1 = 1.0 - t
        for r in range(nreact):
            W[KR + r, i] = t1 * iz_tab[r, jt] + t * iz_tab[r, jt + 1]


@jit
def add_sources(U: np.ndarray, dU: np.ndarray, F: np.ndarray, W: np.ndarray, P: np.ndarray, iz_energy: np.ndarray,
                iz_react: np.ndarray, iz_prod: np.ndarray, VEL: int, NEW: int, INV: int, KR: int, KMAX: int,
                final: bool) -> None:
    """Add the sources of docs/physics.md §4.3–4.4, §7.3, §2.4 to ``dU`` at the interior cells.

    Reads the stage velocities W[VEL + Z - 1], n_e = W[NEW] [m⁻³], 1/n_e = W[INV] and the rate
    coefficients W[KR + r] [m³/s]; writes F[NU_IZ] [1/s], F[INEL_IZ] [eV m⁻³ s⁻¹] and
    W[KMAX] = max_r k_r n_e [1/s] (for Δt_iz, §11.4) — for the six-reaction Xe set only when
    ``final`` (the second RK stage, whose values are the ones kept, docs/physics.md §11.3–11.4).
    """
    if P[lay.P_XE_FULL] != 0.0:
        _xe_sources(U, dU, F, W, P, iz_energy, VEL, NEW, INV, KR, KMAX, final)
    else:
        _generic_sources(U, dU, F, W, P, iz_energy, iz_react, iz_prod, VEL, NEW, INV, KR, KMAX)


@jit
def _xe_sources(U: np.ndarray, dU: np.ndarray, F: np.ndarray, W: np.ndarray, P: np.ndarray, iz_energy: np.ndarray,
                VEL: int, NEW: int, INV: int, KR: int, KMAX: int, final: bool) -> None:
    """:func:`add_sources` for Xe 0→1, 0→2, 0→3, 1→2, 1→3, 2→3 (three charges), branch-free.

    ṅ_ab = k_ab n_e ρ_a is the mass rate of a → b; ions are born with the reactant's velocity
    (u_n for neutrals; at rest in LANDMARK mode, docs/physics.md §15, through the factor ``born``).
    Without ion wall losses or plume the rows F[NU_IW*] and F[DLNA] stay zero (they are only
    written when those options are on), so their terms vanish exactly.
    """
    N = int(P[lay.P_N])
    inv_m = P[lay.P_INV_MASS]
    un = P[lay.P_UN]
    born = 0.0 if P[lay.P_LANDMARK] != 0.0 else 1.0
    qm1 = E_CHARGE * inv_m
    E01 = iz_energy[0]
    E02 = iz_energy[1]
    E03 = iz_energy[2]
    E12 = iz_energy[3]
    E13 = iz_energy[4]
    E23 = iz_energy[5]
    # three vector loops with few output rows each (diagnostics, mass, momentum): one loop
    # writing all rows would need more run-time alias checks than LLVM allows, and stay scalar
    if final:  # ν_iz, ionization power and max k n_e: only the second stage's are used
        for i in range(1, N + 1):
            rn = U[0, i]
            r1 = U[1, i]
            r2 = U[3, i]
            ne = W[NEW, i]
            k01 = W[KR, i]
            k02 = W[KR + 1, i]
            k03 = W[KR + 2, i]
            k12 = W[KR + 3, i]
            k13 = W[KR + 4, i]
            k23 = W[KR + 5, i]
            W[KMAX, i] = max(max(max(k01, k02), max(k03, k12)), max(k13, k23)) * ne
            a01 = k01 * ne * rn
            a02 = k02 * ne * rn
            a03 = k03 * ne * rn
            a12 = k12 * ne * r1
            a13 = k13 * ne * r1
            a23 = k23 * ne * r2
            F[lay.NU_IZ, i] = ((a01 + a02 + a03) + (a12 + a13 + a23)) * inv_m * W[INV, i]
            F[lay.INEL_IZ, i] = (a01 * E01 + a02 * E02 + a03 * E03 + a12 * E12 + a13 * E13 + a23 * E23) * inv_m
    for i in range(1, N + 1):
        rn = U[0, i]
        r1 = U[1, i]
        r2 = U[3, i]
        r3 = U[5, i]
        ne = W[NEW, i]
        a01 = W[KR, i] * ne * rn
        a02 = W[KR + 1, i] * ne * rn
        a03 = W[KR + 2, i] * ne * rn
        a12 = W[KR + 3, i] * ne * r1
        a13 = W[KR + 4, i] * ne * r1
        a23 = W[KR + 5, i] * ne * r2
        w1 = F[lay.NU_IW1, i]
        w2 = F[lay.NU_IW2, i]
        w3 = F[lay.NU_IW3, i]
        dlna = F[lay.DLNA, i]
        dU[0, i] += -(a01 + a02 + a03) + (w1 * r1 + w2 * r2 + w3 * r3)
        dU[1, i] += (a01 - a12 - a13) - w1 * r1 - U[2, i] * dlna
        dU[3, i] += (a02 + a12 - a23) - w2 * r2 - U[4, i] * dlna
        dU[5, i] += (a03 + a13 + a23) - w3 * r3 - U[6, i] * dlna
    for i in range(1, N + 1):
        rn = U[0, i]
        r1 = U[1, i]
        f1 = U[2, i]
        r2 = U[3, i]
        f2 = U[4, i]
        r3 = U[5, i]
        f3 = U[6, i]
        u1 = W[VEL, i]
        u2 = W[VEL + 1, i]
        u3 = W[VEL + 2, i]
        ne = W[NEW, i]
        a01 = W[KR, i] * ne * rn
        a02 = W[KR + 1, i] * ne * rn
        a03 = W[KR + 2, i] * ne * rn
        a12 = W[KR + 3, i] * ne * r1
        a13 = W[KR + 4, i] * ne * r1
        a23 = W[KR + 5, i] * ne * r2
        qE = qm1 * F[lay.EF, i]
        dlna = F[lay.DLNA, i]
        dU[2, i] += (born * (a01 * un - (a12 + a13) * u1) + qE * r1) - F[lay.NU_IW1, i] * f1 - f1 * u1 * dlna
        dU[4, i] += ((born * (a02 * un + a12 * u1 - a23 * u2) + 2.0 * qE * r2) - F[lay.NU_IW2, i] * f2
                     - f2 * u2 * dlna)
        dU[6, i] += ((born * (a03 * un + a13 * u1 + a23 * u2) + 3.0 * qE * r3) - F[lay.NU_IW3, i] * f3
                     - f3 * u3 * dlna)


@jit
def _generic_sources(U: np.ndarray, dU: np.ndarray, F: np.ndarray, W: np.ndarray, P: np.ndarray,
                     iz_energy: np.ndarray, iz_react: np.ndarray, iz_prod: np.ndarray, VEL: int, NEW: int, INV: int,
                     KR: int, KMAX: int) -> None:
    """:func:`add_sources` for any reaction set (reactant charge iz_react[r] → iz_prod[r])."""
    N = int(P[lay.P_N])
    nZ = int(P[lay.P_NZ])
    inv_m = P[lay.P_INV_MASS]
    un = P[lay.P_UN]
    nreact = int(P[lay.P_NREACT])
    landmark = P[lay.P_LANDMARK] != 0.0
    ion_wall = P[lay.P_ION_WALL] != 0.0
    plume = P[lay.P_PLUME] != 0.0
    qm1 = E_CHARGE * inv_m
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
        max_kne = 0.0
        for r in range(nreact):
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
        W[KMAX, i] = max_kne
        if landmark:  # ions are born at rest in LANDMARK mode (docs/physics.md §15)
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
