"""Tests of hallctl/sim/electrons.py and walls.py: collision and wall formulas (§5, §7)."""

from __future__ import annotations

import math

import pytest

from hallctl.errors import SimulationInputError
from hallctl.sim.electrons import (
    anode_sheath_potential,
    braginskii_coefficient,
    coulomb_logarithm,
    freq_electron_ion,
)
from hallctl.sim.walls import (
    EDGE_TO_CENTER_RATIO,
    SEE_MATERIALS,
    WALL_MODELS,
    ConstantSheathPotential,
    WallSheath,
    see_yield,
    sheath_potential_V,
)


def test_coulomb_logarithm_branches():
    assert coulomb_logarithm(1e18, 5.0, 1.0) == pytest.approx(23 - 0.5 * math.log(1e12 / 125.0))
    assert coulomb_logarithm(1e18, 20.0, 1.0) == pytest.approx(24 - 0.5 * math.log(1e12 / 400.0))
    nu = freq_electron_ion(1e18, 5.0, 1.0)
    assert nu == pytest.approx(2.9e-12 * 1e18 * coulomb_logarithm(1e18, 5.0, 1.0) / 5.0**1.5)


def test_braginskii_coefficient_table():
    assert braginskii_coefficient(0.5) == 4.66
    assert braginskii_coefficient(1.0) == 4.66
    assert braginskii_coefficient(1.5) == pytest.approx(4.33)
    assert braginskii_coefficient(2.5) == pytest.approx(3.85)
    assert braginskii_coefficient(9.0) == 3.2


def test_anode_sheath_potential():
    # electron-repelling sheath when the needed current is below the thermal current
    Vs = anode_sheath_potential(2.0, 1e18, 0.0, 1.0, 4e-3)
    assert Vs > 0
    assert anode_sheath_potential(2.0, 1e18, 0.0, 0.0, 4e-3) == 0.0
    assert anode_sheath_potential(2.0, 1e10, 0.0, 100.0, 4e-3) == 0.0  # ratio ≥ 1 → 0


def test_see_and_sheath():
    gmax = 1 - 8.3 * math.sqrt(9.10938356e-31 / 2.1801715574645584e-25)
    assert gmax == pytest.approx(0.983034, abs=1e-6)
    s0, eps = SEE_MATERIALS["BNSiO2"]
    assert see_yield(10.0, s0, eps, gmax) == pytest.approx(0.54 + 1.5 * 10 * 0.46 / 40)
    assert see_yield(30.0, s0, eps, gmax) == gmax  # saturated above ≈ 25.7 eV
    phi = sheath_potential_V(10.0, 0.5, 2.1801715574645584e-25)
    assert phi == pytest.approx(10.0 * math.log(0.5 * 195.169), rel=1e-5)
    assert pytest.approx(0.496521, abs=1e-6) == EDGE_TO_CENTER_RATIO


def test_wall_model_registry_and_validation():
    assert set(WALL_MODELS) == {"NoWallLosses", "WallSheath", "ConstantSheathPotential"}
    with pytest.raises(SimulationInputError, match="material"):
        WallSheath("Unobtainium")
    with pytest.raises(SimulationInputError, match="loss_scale"):
        WallSheath("BNSiO2", -1.0)
    assert ConstantSheathPotential().kernel_params()[3] == 20.0


def test_electron_kernel_wall_terms_equal_scalar_twins():
    """The electron kernel inlines the wall formulas; they must equal walls.py's functions."""
    import numpy as np

    from hallctl.sim import layout as lay
    from hallctl.sim.boundaries import apply_boundaries
    from hallctl.sim.config import SimConfig
    from hallctl.sim.constants import M_XE
    from hallctl.sim.electrons import electron_fields
    from hallctl.sim.heavy import heavy_derived
    from hallctl.sim.setup import build_arrays
    from hallctl.sim.walls import wall_ion_speed

    a = build_arrays(SimConfig.hall_diffusion())
    apply_boundaries(a.U, a.F, a.P, a.S)
    heavy_derived(a.U, a.F, a.P)
    assert electron_fields(a.U, a.F, a.grid.z_cell, a.grid.z_edge, a.P, a.S, a.tables.el, 10, 1e-6) == 0
    s0, eps = SEE_MATERIALS["BNSiO2"]
    gmax = a.P[lay.P_GAMMA_MAX]
    h = EDGE_TO_CENTER_RATIO
    for i in (0, 5, 40, 64, 100, 129):
        Te = a.F[lay.TEV, i]
        gamma = see_yield(Te, s0, eps, gmax)
        flux = sum(Z * h * (a.U[2 * Z - 1, i] / M_XE) * wall_ion_speed(Z, Te, M_XE) for Z in (1, 2, 3))
        nu_ew = flux / (0.015 * (1 - gamma) * a.F[lay.NE, i])
        phi_s = sheath_potential_V(Te, gamma, a.F[lay.MEFF, i])
        W = nu_ew * a.F[lay.LT_BETA, i] * (2 * Te + (1 - gamma) * phi_s)
        assert a.F[lay.NU_EW, i] == pytest.approx(nu_ew, rel=1e-12)
        assert a.F[lay.W_WALL, i] == pytest.approx(W, rel=1e-10)
        if 0 < i < 129:
            for Z in (1, 2, 3):
                expected = a.F[lay.LT_IN, i] * wall_ion_speed(Z, Te, M_XE) * h / 0.015
                assert a.F[lay.NU_IW1 + Z - 1, i] == pytest.approx(expected, rel=1e-12)
    assert np.all(np.isfinite(a.F[lay.MU]))
