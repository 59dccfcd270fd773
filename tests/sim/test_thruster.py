"""Tests of hallctl/sim/thruster.py: geometry, B-field stations and the CSV loader (§2)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hallctl.errors import SimulationInputError
from hallctl.sim.setup import build_grid
from hallctl.sim.thruster import (
    HALL_DIFFUSION_STATIONS,
    Thruster,
    field_on_cells,
    linear_transition,
    load_bfield_csv,
    two_sided_gaussian_field,
)


def test_spt100_geometry():
    th = Thruster.spt100()
    assert th.channel_area_m2 == pytest.approx(4.00553e-3, rel=1e-5)
    assert th.channel_width_m == pytest.approx(0.015)
    assert Thruster.spt100_hallthruster().channel_area_m2 == pytest.approx(4.11470e-3, rel=1e-5)


def test_hall_diffusion_field_at_stations_equals_formula():
    th = Thruster.spt100()
    z = np.array(th.bfield_z_m)
    assert len(z) == 58 == len(HALL_DIFFUSION_STATIONS)
    assert z[0] == pytest.approx(0.000239, abs=1e-6) and z[-1] == pytest.approx(0.095045, abs=1e-6)
    B = np.array(th.bfield_T)
    sigma = np.where(z < 0.025, 0.011, 0.018)
    assert np.allclose(B, 0.016 * np.exp(-0.5 * ((z - 0.025) / sigma) ** 2), rtol=1e-14, atol=0)
    assert max(B) <= 0.016


def test_hallthruster_field_is_256_points_on_four_channel_lengths():
    th = Thruster.spt100_hallthruster()
    assert len(th.bfield_z_m) == 256
    assert th.bfield_z_m[0] == 0.0 and th.bfield_z_m[-1] == pytest.approx(0.1)
    assert th.bfield_T[0] == pytest.approx(0.0011336081206959115, rel=1e-12)


def test_two_sided_gaussian_is_asymmetric():
    up, down = two_sided_gaussian_field([0.015, 0.035], B_max_T=1.0, center_m=0.025)
    assert up < down  # σ = 11 mm upstream, 18 mm downstream


def test_field_on_cells_interpolates_clamps_and_extrapolates_ghosts():
    th = Thruster("t", 0.025, 0.03, 0.05, (0.01, 0.03), (0.0, 0.02))
    grid = build_grid((0.0, 0.04), 4)  # centres 0.005 ... 0.035
    B = field_on_cells(th, grid.z_cell, 2.0)
    assert B[1] == 0.0  # clamped below the first station, then scaled
    assert B[2] == pytest.approx(2.0 * 0.005)
    assert B[4] == pytest.approx(2.0 * 0.02)  # clamped above the last station
    assert B[0] == max(2 * B[1] - B[2], 0.0) == 0.0
    assert B[-1] == pytest.approx(2 * B[-2] - B[-3])


def test_linear_transition():
    assert linear_transition(0.0, 0.025, 0.002, 1.0, 0.0) == 1.0
    assert linear_transition(0.025, 0.025, 0.002, 1.0, 0.0) == pytest.approx(0.5)
    assert linear_transition(0.0255, 0.025, 0.002, 2.0, 4.0) == pytest.approx(3.5)
    assert linear_transition(0.03, 0.025, 0.002, 1.0, 0.0) == 0.0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("0.0\n0.1\n", "two columns"),
        ("0.0, 0.1\n0.01, abc\n", "non-numeric"),
        ("0.02, 0.1\n0.01, 0.2\n", "strictly increasing"),
        ("0.0, 0.1\n0.01, -0.2\n", "non-negative"),
        ("0.0, 0.1\n", "at least two rows"),
    ],
)
def test_bfield_csv_errors(tmp_path, text, match):
    path = tmp_path / "b.csv"
    path.write_text(text)
    with pytest.raises(SimulationInputError, match=match):
        load_bfield_csv(path)


def test_bfield_csv_missing_file(tmp_path):
    with pytest.raises(SimulationInputError, match="not found"):
        Thruster.from_csv("x", 0.025, 0.035, 0.05, tmp_path / "missing.csv")


def test_bfield_csv_with_header(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("z_m,B_T\n0.0,0.01\n0.05,0.02\n")
    th = Thruster.from_csv("x", 0.025, 0.035, 0.05, path)
    assert th.bfield_z_m == (0.0, 0.05) and th.bfield_T == (0.01, 0.02)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"channel_length_m": 0.0}, "channel_length_m"), ({"inner_radius_m": -1.0}, "inner_radius_m"),
     ({"outer_radius_m": 0.02}, "outer_radius_m")],
)
def test_thruster_validation(kwargs, match):
    base = {"name": "t", "channel_length_m": 0.025, "inner_radius_m": 0.035, "outer_radius_m": 0.05,
            "bfield_z_m": (0.0, 0.1), "bfield_T": (0.01, 0.01)}
    base.update(kwargs)
    with pytest.raises(SimulationInputError, match=match):
        Thruster(**base)


def test_fields_match_validation_copies(reference):
    hd = np.loadtxt(reference("magnetic_field", "bfield_spt100_hall_diffusion.csv"), delimiter=",")
    th = Thruster.spt100()
    assert np.allclose(th.bfield_z_m, hd[:, 0], rtol=0, atol=1e-15)
    assert np.allclose(th.bfield_T, hd[:, 1], rtol=0, atol=1e-16)
    ref = json.loads(reference("hallthruster_regression", "ref_landmark_1.json").read_text())
    mf = ref["config"]["thruster"]["magnetic_field"]
    th = Thruster.spt100_hallthruster()
    assert np.allclose(th.bfield_z_m, mf["z"], rtol=0, atol=1e-16)
    assert np.allclose(th.bfield_T, mf["B"], rtol=0, atol=1e-16)
