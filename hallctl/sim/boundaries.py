"""Heavy-species boundary conditions and the positivity limiter (docs/physics.md §8).

Anode ghost cell: Bohm-type ion outflow with the sheath reduction of Hara (PSST 28, 2019) and
the neutral inflow that re-emits recombined ions (§8.1); cathode ghost cell: outflow copy or
floored inflow (§8.2); after each RK stage the densities are floored at 1 m⁻³ (§8.3).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hallctl.sim import layout as lay
from hallctl.sim._jit import jit
from hallctl.sim.constants import E_CHARGE, K_B

if TYPE_CHECKING:
    import numpy as np

__all__ = ["apply_boundaries", "erf_approx", "floor_densities", "stage_limiter"]


@jit
def erf_approx(y: float) -> float:
    """Upstream's approximate erf, 1 - exp(-y²)/(y√π) g/(1 + g), g = √π y + (π - 2) y²
    (odd extension for y < 0), used in the anode Bohm-speed reduction (docs/physics.md §8.1)."""
    if y == 0.0:
        return 0.0
    a = abs(y)
    g = math.sqrt(math.pi) * a + (math.pi - 2.0) * a * a
    v = 1.0 - math.exp(-a * a) / (a * math.sqrt(math.pi)) * g / (1.0 + g)
    return v if y > 0.0 else -v


@jit
def stage_limiter(U: np.ndarray, P: np.ndarray) -> bool:
    """Positivity limiter after each RK stage, all cells incl. ghosts (docs/physics.md §8.3).

    Returns False (and changes nothing more) when a density or momentum is not finite;
    otherwise floors every density at 1 m⁻³ × m, ions keeping their velocity
    (:func:`floor_densities`).
    """
    nvar, n2 = U.shape
    bad = 0.0
    for v in range(nvar):
        for i in range(n2):
            bad += U[v, i] * 0.0  # NaN if any entry is NaN or ±inf
    if bad != 0.0:
        return False
    floor_densities(U, P)
    return True


@jit
def floor_densities(U: np.ndarray, P: np.ndarray) -> None:
    """Floor every density of U at 1 m⁻³ × m, ions keeping their velocity (docs/physics.md §8.3)."""
    nvar, n2 = U.shape
    floor = P[lay.P_MASS]  # MIN_NUMBER_DENSITY (1 m⁻³) × m
    # the common case first: nothing to floor (a cheap vector count, no divisions)
    nlow = 0
    for v in range(nvar):
        if v == 0 or v % 2 == 1:
            for i in range(n2):
                nlow += 1 if U[v, i] < floor else 0
    if nlow == 0:
        return
    # row by row with selects instead of branches, so that the loops vectorize
    for i in range(n2):
        U[0, i] = max(U[0, i], floor)
    for v in range(1, nvar, 2):
        for i in range(n2):
            r = U[v, i]
            low = r < floor
            U[v + 1, i] = floor * (U[v + 1, i] / r) if low else U[v + 1, i]
            U[v, i] = floor if low else r


@jit
def apply_boundaries(U: np.ndarray, F: np.ndarray, P: np.ndarray, S: np.ndarray) -> None:
    """Anode and cathode ghost states (docs/physics.md §8.1–8.2).

    Uses T_e of the first interior cell and the sheath potential V_s of the last electron update
    (docs/physics.md §16 item 10).
    """
    N = int(P[lay.P_N])
    nZ = int(P[lay.P_NZ])
    m = P[lay.P_MASS]
    un = P[lay.P_UN]
    Te1 = F[lay.TEV, 1]
    Vs = S[lay.S_VS]
    b = 1.0
    if P[lay.P_SHEATH_BC] != 0.0 and Vs > 0.0:
        # Bohm-speed reduction in an electron-repelling sheath (Hara, PSST 28, 2019)
        x = Vs / Te1 + 1e-6
        chi = math.exp(-x) / (math.sqrt(math.pi * x) * (1.0 + erf_approx(math.sqrt(x))))
        b = 1.0 / math.sqrt(1.0 + chi)
    kTi = K_B * P[lay.P_TI_K]
    rho_n = (P[lay.P_MDOT] + P[lay.P_MDOT_INGEST]) / (P[lay.P_ACH] * un)
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
