"""Tests of hallctl/sim/heavy.py and boundaries.py: reconstruction, erf, limiter, boundaries, RHS."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hallctl.sim import layout as lay
from hallctl.sim.boundaries import apply_boundaries, erf_approx, stage_limiter
from hallctl.sim.config import SimConfig
from hallctl.sim.constants import E_CHARGE, M_XE
from hallctl.sim.heavy import heavy_derived, heavy_rhs, limited_slope
from hallctl.sim.setup import build_arrays


def test_erf_approximation_close_to_erf():
    y = np.linspace(-4, 4, 401)
    approx = np.array([erf_approx(v) for v in y])
    exact = np.array([math.erf(v) for v in y])
    assert np.max(np.abs(approx - exact)) < 6e-3  # the approximation is good to ~0.5 %
    assert erf_approx(0.0) == 0.0
    assert erf_approx(-1.3) == -erf_approx(1.3)


def test_limited_slope_is_van_leer():
    # harmonic mean of the one-sided differences, halved; zero at extrema
    assert limited_slope(0.0, 1.0, 3.0) == pytest.approx(1.0 * 2.0 / 3.0)
    assert limited_slope(0.0, 1.0, 2.0) == pytest.approx(0.5)
    assert limited_slope(0.0, 1.0, 0.5) == 0.0
    assert limited_slope(1.0, 1.0, 2.0) == 0.0
    # the reconstructed faces stay within the neighbours (TVD)
    rng = np.random.default_rng(0)
    for a, b, c in rng.normal(size=(200, 3)):
        d = limited_slope(a, b, c)
        assert min(a, b, c) - 1e-12 <= b - d <= max(a, b, c) + 1e-12
        assert min(a, b, c) - 1e-12 <= b + d <= max(a, b, c) + 1e-12


def test_stage_limiter_floors_and_detects_nonfinite():
    P = np.zeros(lay.NUM_P)
    P[lay.P_MASS] = M_XE
    U = np.full((3, 4), 1e-6)
    U[2] = 1e-6 * 300.0
    U[1, 2] = -1e-30
    U[2, 2] = 5.0e-30
    assert stage_limiter(U, P)
    assert U[1, 2] == M_XE
    assert U[2, 2] == pytest.approx(M_XE * (5.0e-30 / -1e-30))  # velocity kept
    U[0, 3] = math.nan
    assert not stage_limiter(U, P)
    U[0, 3] = 1.0
    U[2, 0] = math.inf
    assert not stage_limiter(U, P)


def _arrays(**kw):
    a = build_arrays(SimConfig.hall_diffusion(**kw))
    heavy_derived(a.U, a.F, a.P)
    return a


def test_boundaries_bohm_inflow_and_neutral_balance():
    a = _arrays()
    a.S[lay.S_VS] = 0.0
    apply_boundaries(a.U, a.F, a.P, a.S)
    Te1 = a.F[lay.TEV, 1]
    un = a.P[lay.P_UN]
    ion_flux = 0.0
    for Z in (1, 2, 3):
        c = math.sqrt((1.380649e-23 * 1000.0 + Z * E_CHARGE * Te1) / M_XE)
        u_ghost = a.U[2 * Z, 0] / a.U[2 * Z - 1, 0]
        u1 = a.U[2 * Z, 1] / a.U[2 * Z - 1, 1]
        if u1 > -c:
            assert u_ghost == pytest.approx(-c)
        ion_flux += a.U[2 * Z, 0]
    mdot = 5e-6
    expected = mdot / (a.P[lay.P_ACH] * un) - ion_flux / un
    assert a.U[0, 0] == pytest.approx(expected, rel=1e-12)
    assert a.U[0, -1] == a.U[0, -2]


def test_cathode_ghost_floors_inflowing_ions():
    a = _arrays()
    N = a.grid.num_cells
    a.U[2, N] = -abs(a.U[2, N])
    apply_boundaries(a.U, a.F, a.P, a.S)
    assert a.U[1, N + 1] == M_XE
    assert a.U[2, N + 1] == pytest.approx(M_XE * a.U[2, N] / a.U[1, N])


def test_rhs_conserves_mass_without_sources_in_the_interior():
    """With E = 0, no ionization, the total mass changes only by the two boundary fluxes."""
    a = _arrays(max_charge=1)
    a.F[lay.EF] = 0.0
    a.F[lay.NEPS] = 1e-30  # ε ≈ 0 -> zero ionization rate
    a.F[lay.KIN] = 0.0
    g = a.grid
    tb = a.tables
    tb.iz[:] = 0.0
    heavy_rhs(a.U, a.dU, a.F, a.W, g.dz_cell, g.dz_edge, a.P, a.S, tb.iz, tb.iz_energy_eV, tb.iz_reactant,
              tb.iz_product)
    N = g.num_cells
    nvar = a.U.shape[0]
    FM = nvar + 1  # mass flux row of the last fluid (ions)
    total = np.sum(a.dU[1, 1:-1] * g.dz_cell[1:-1])
    assert total == pytest.approx(a.W[FM, 0] - a.W[FM, N], rel=1e-9, abs=1e-30)
    assert np.all(a.dU[:, 0] == 0.0) and np.all(a.dU[:, -1] == 0.0)
    assert a.S[lay.S_DT_IZ] == math.inf
