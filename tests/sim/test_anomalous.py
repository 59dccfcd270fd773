"""Tests of hallctl/sim/anomalous.py: Bohm-type anomalous transport models (§10)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hallctl.errors import SimulationInputError
from hallctl.sim.anomalous import (
    ANOM_MODELS,
    AnomContext,
    GaussianBohm,
    LogisticPressureShift,
    MultiLogBohm,
    NoAnom,
    TwoZoneBohm,
    anom_coefficients,
    gp_perturbation,
    pressure_shift_m,
    six_parameter_profile,
)

CTX = AnomContext(channel_length_m=0.025, transition_length_m=0.0025)


def test_registry_names():
    assert set(ANOM_MODELS) == {"NoAnom", "Bohm", "TwoZoneBohm", "GaussianBohm", "MultiLogBohm",
                                "LogisticPressureShift"}


def test_bohm_is_one_coefficient_everywhere():
    from hallctl.sim.anomalous import AnomContext, Bohm, anom_coefficients

    c = anom_coefficients(Bohm(0.05), np.linspace(0.0, 0.08, 9), AnomContext(0.025, 0.0025))
    assert np.all(c == 0.05)


def test_two_zone_switches_at_the_exit():
    m = TwoZoneBohm(1 / 160, 1 / 16)
    assert m.coefficient(0.01, CTX) == 1 / 160
    assert m.coefficient(0.03, CTX) == 1 / 16
    assert m.coefficient(0.025, CTX) == pytest.approx(0.5 * (1 / 160 + 1 / 16))
    assert NoAnom().coefficient(0.01, CTX) == 0.0


def test_multilog_interpolates_log_linearly_and_clamps():
    m = MultiLogBohm((0.01, 0.02, 0.04), (0.01, 0.1, 1.0))
    assert m.coefficient(0.0, CTX) == 0.01  # clamped below z_1
    assert m.coefficient(0.05, CTX) == 1.0  # clamped above z_K
    assert m.coefficient(0.04, CTX) == 1.0  # at z_K
    assert m.coefficient(0.015, CTX) == pytest.approx(math.sqrt(0.01 * 0.1), rel=1e-12)
    assert m.coefficient(0.03, CTX) == pytest.approx(math.sqrt(0.1), rel=1e-12)
    assert m.coefficient(0.02, CTX) == pytest.approx(0.1, rel=1e-14)


def test_multilog_validation():
    with pytest.raises(SimulationInputError, match="positive"):
        MultiLogBohm((0.0, 0.1), (0.1, 0.0))
    with pytest.raises(SimulationInputError, match="increasing"):
        MultiLogBohm((0.1, 0.0), (0.1, 0.1))
    with pytest.raises(SimulationInputError, match="same"):
        MultiLogBohm((0.0, 0.1), (0.1,))


def test_gaussian_bohm_trough():
    m = GaussianBohm(hall_min=0.2, hall_max=0.1, center_m=0.025, width_m=0.005)
    assert m.coefficient(0.025, CTX) == pytest.approx(0.02)
    assert m.coefficient(1.0, CTX) == pytest.approx(0.1)


def test_pressure_shift_moves_the_profile():
    base = TwoZoneBohm(0.01, 0.1)
    shifted = LogisticPressureShift(base, z0=0.0, dz=0.2, pstar=3e-5, alpha=15.0)
    delta = pressure_shift_m(L_ch_m=0.025, z0=0.0, dz=0.2, pstar_Torr=3e-5, alpha=15.0, pB_Torr=0.0)
    assert delta > 0
    assert shifted.coefficient(0.025 + delta, CTX) == pytest.approx(base.coefficient(0.025, CTX))
    with pytest.raises(SimulationInputError):
        LogisticPressureShift(shifted, 0.0, 0.2, 3e-5, 15.0)


def test_six_parameter_profile_and_noise(rng):
    z = np.linspace(0.0, 0.08, 256)
    c = six_parameter_profile(z, L_ch_m=0.025, anom_minimum=0.05, anom_width=0.3, anom_slope=0.5, anom_step=0.5,
                              anom_scale=0.1, anom_center=1.1)
    assert np.all(c > 0)
    i = int(np.argmin(c))
    assert z[i] == pytest.approx(1.1 * 0.025, abs=0.002)  # trough at the centre L
    xi = gp_perturbation(np.random.default_rng(1), z, L_ch_m=0.025)
    assert xi.shape == (256,)
    assert np.array_equal(xi, gp_perturbation(np.random.default_rng(1), z, L_ch_m=0.025))
    assert 0.2 < np.std(xi) < 3.0


def test_anom_coefficients_vector():
    z = np.array([0.0, 0.05])
    assert anom_coefficients(TwoZoneBohm(0.1, 0.2), z, CTX).tolist() == [0.1, 0.2]
