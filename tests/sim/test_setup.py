"""Tests of hallctl/sim/setup.py: grid, parameters and the initial condition (§2.3, §12)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hallctl.sim import layout as lay
from hallctl.sim.config import SimConfig
from hallctl.sim.constants import M_XE
from hallctl.sim.setup import build_arrays, build_grid


def test_even_grid_with_ghosts():
    g = build_grid((0.0, 0.08), 128)
    dz = 0.08 / 128
    assert g.z_edge.size == 129 and g.z_cell.size == 130
    assert np.allclose(np.diff(g.z_edge), dz)
    assert g.z_cell[0] == pytest.approx(-dz / 2) and g.z_cell[-1] == pytest.approx(0.08 + dz / 2)
    assert np.allclose(g.z_cell[1:-1], 0.5 * (g.z_edge[1:] + g.z_edge[:-1]))
    assert np.allclose(g.dz_cell, dz) and np.allclose(g.dz_edge, dz)


def test_initial_condition_properties():
    cfg = SimConfig.hall_diffusion()
    a = build_arrays(cfg)
    U, F = a.U, a.F
    assert np.all(U[0] > 0) and all(np.all(U[2 * Z - 1] > 0) for Z in (1, 2, 3))
    # ρ_Z ∝ 1/Z², peak n_max at z_g + L/2
    assert np.allclose(U[3] * 4, U[1]) and np.allclose(U[5] * 9, U[1])
    assert np.max(U[1]) / M_XE == pytest.approx(1e18, rel=0.01)
    # ions leave the anode backwards and the cathode at √(2ZeV_d/m)
    u1 = U[2] / U[1]
    assert u1[1] < 0
    assert u1[-1] == pytest.approx(math.sqrt(2 * 1.602176634e-19 * 300 / M_XE), rel=1e-9)
    # neutrals fall from the anode value to 1 % of it
    assert U[0, 1] > 50 * U[0, -2]
    # T_e: 2 eV at the ends, about V_d/10 near the exit
    Te = F[lay.TEV]
    assert Te[np.argmin(np.abs(a.grid.z_cell - 0.025))] == pytest.approx(30.0, rel=0.05)
    assert np.allclose(F[lay.NEPS], 1.5 * Te * sum(Z * U[2 * Z - 1] / M_XE for Z in (1, 2, 3)))
    assert np.allclose(F[lay.PE], 2.0 / 3.0 * F[lay.NEPS])


def test_parameters_and_average_window():
    cfg = SimConfig.hall_diffusion()
    a = build_arrays(cfg)
    assert a.P[lay.P_AVG_START] == 999  # frame ⌊2001/2⌋ (1-based), t = 0.999 ms
    assert a.save_t[999] == pytest.approx(0.999e-3)
    assert a.P[lay.P_AN_SPEED] == pytest.approx(229.72, abs=0.01)
    assert a.P[lay.P_AI_SPEED] == pytest.approx(324.88, abs=0.01)
    assert a.P[lay.P_KTI_M] == pytest.approx(63327.5, rel=1e-5)
    assert a.P[lay.P_GAMMA_MAX] == pytest.approx(0.983034, abs=1e-6)
    assert a.P[lay.P_XE_FULL] == 1.0
    assert a.P[lay.P_ILIMIT] == 100.0
