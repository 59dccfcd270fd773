"""Tests of hallctl/sim/rates.py: fitted rate coefficients and the two-stage lookup (§9)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hallctl.errors import SimulationInputError
from hallctl.sim.constants import XE_IONIZATION_EV
from hallctl.sim.rates import (
    EXCITATION_FIT,
    IONIZATION_FITS,
    NUM_LOOKUP,
    build_rate_tables,
    elastic_fit,
    fit_rate,
    fitted_elastic_table,
    fitted_excitation_table,
    fitted_ionization_table,
    ionization_nodes,
    lookup_rate,
    read_landmark_table,
    read_rate_file,
    resample_table,
    table_index,
)

_FILES = {(0, 1): "Xe_Xe+", (0, 2): "Xe_Xe2+", (0, 3): "Xe_Xe3+", (1, 2): "Xe+_Xe2+", (1, 3): "Xe+_Xe3+",
          (2, 3): "Xe2+_Xe3+"}


@pytest.mark.parametrize("key", sorted(IONIZATION_FITS))
def test_ionization_tables_positive_and_increasing_at_low_energy(key):
    k = fitted_ionization_table(*key)
    assert k.shape == (NUM_LOOKUP,)
    assert k[0] == 0.0
    assert np.all(k[1:] > 0.0)
    assert np.all(np.diff(k[:30]) > 0.0)  # rising well past every threshold


def test_excitation_and_elastic_tables_positive():
    assert np.all(fitted_excitation_table() > 0.0)
    el = fitted_elastic_table()
    assert el[0] == 0.0 and np.all(el[1:] > 0.0)
    # clamped to the 150 eV value above the last node (§9.2 stage 1)
    assert np.all(fitted_excitation_table()[150:] == fitted_excitation_table()[150])


def test_low_energy_interpolation_artefact_is_kept():
    # §9.2: linear from (0.03878, 0) to (5.045, k1) -> at 3 eV roughly 0.6 k1, far above a Maxwellian
    k = fitted_ionization_table(0, 1)
    nodes = ionization_nodes()
    k1 = fit_rate(nodes[1], *IONIZATION_FITS[(0, 1)])
    expected = k1 * (3.0 - nodes[0]) / (nodes[1] - nodes[0])
    assert k[3] == pytest.approx(expected, rel=1e-12)
    assert k[3] > 5 * fit_rate(3.0, *IONIZATION_FITS[(0, 1)])


def test_ionization_nodes_match_upstream_printing():
    nodes = ionization_nodes()
    assert nodes.size == 100
    assert nodes[:4].tolist() == [0.03878, 5.045, 10.09, 15.14]
    assert nodes[-1] == 499.5


def test_lookup_interpolates_clamps_index_and_extrapolates():
    table = np.arange(NUM_LOOKUP, dtype=float) ** 2
    assert lookup_rate(table, 3.25) == pytest.approx(0.75 * 9 + 0.25 * 16)
    assert lookup_rate(table, 7.0) == 49.0
    # above 255 eV the last interval is extrapolated linearly, below 0 the first
    assert lookup_rate(table, 256.0) == pytest.approx(254**2 + 2.0 * (255**2 - 254**2))
    assert lookup_rate(table, -1.0) == pytest.approx(-1.0)
    assert lookup_rate(table, math.nan) != lookup_rate(table, math.nan)  # NaN propagates
    assert table_index(math.inf) == 0 and table_index(math.nan) == 0
    assert table_index(254.9) == 254 and table_index(1000.0) == 254 and table_index(-3.0) == 0


def test_fit_rate_zero_at_nonpositive_energy():
    assert fit_rate(0.0, *EXCITATION_FIT) == 0.0
    assert fit_rate(-1.0, *EXCITATION_FIT) == 0.0
    assert elastic_fit(0.0) == 0.0


def test_resample_matches_numpy_interp():
    eps = np.array([1.0, 2.5, 10.0])
    k = np.array([1.0, 2.0, 4.0])
    out = resample_table(eps, k)
    assert out[0] == 1.0 and out[200] == 4.0
    assert out[2] == pytest.approx(1.0 + (1.0 / 1.5))


def test_build_tables_drop_reactions_above_max_charge():
    t1 = build_rate_tables(max_charge=1, reaction_model="lookup")
    t3 = build_rate_tables(max_charge=3, reaction_model="lookup")
    assert t1.iz.shape == (1, NUM_LOOKUP) and t3.iz.shape == (6, NUM_LOOKUP)
    assert list(zip(t3.iz_reactant, t3.iz_product, strict=True)) == sorted(XE_IONIZATION_EV)
    assert t3.iz_energy_eV.tolist() == [XE_IONIZATION_EV[k] for k in sorted(XE_IONIZATION_EV)]


def test_landmark_fallback_without_file():
    t = build_rate_tables(max_charge=1, reaction_model="landmark")
    assert t.iz.shape == (1, NUM_LOOKUP)
    assert np.all(t.el == 2.5e-13)
    assert t.iz[0, 20] > 0.0


def test_missing_rate_files_raise(tmp_path):
    with pytest.raises(SimulationInputError, match="cannot be read"):
        read_rate_file(tmp_path / "nope.dat")
    with pytest.raises(SimulationInputError, match="landmark_rates_file"):
        read_landmark_table(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("header\n1,2\n")
    with pytest.raises(SimulationInputError):
        read_landmark_table(bad)


# ---- against the upstream tables (validation data, skipped when ../shared is absent) ----------

def _reference_lookup(path):
    _, eps, k = read_rate_file(path)
    return resample_table(eps, k)


@pytest.mark.parametrize("key", sorted(_FILES))
def test_ionization_rates_within_one_percent_of_upstream(key, reference):
    path = reference("reactions", f"ionization_{_FILES[key]}.dat")
    energy, _, _ = read_rate_file(path)
    assert energy == XE_IONIZATION_EV[key]
    ref = _reference_lookup(path)
    ours = fitted_ionization_table(*key)
    eps = np.arange(NUM_LOOKUP)
    mask = (eps >= 3) & (ref > 0)
    assert np.max(np.abs(ours[mask] / ref[mask] - 1.0)) < 0.01


def test_excitation_and_elastic_within_one_percent_of_upstream(reference):
    ex = _reference_lookup(reference("reactions", "excitation_Xe.dat"))
    el = _reference_lookup(reference("reactions", "elastic_Xe.dat"))
    eps = np.arange(NUM_LOOKUP)
    mask = eps >= 3
    assert np.max(np.abs(fitted_excitation_table()[mask] / ex[mask] - 1.0)) < 0.01
    assert np.max(np.abs(fitted_elastic_table()[1:] / el[1:] - 1.0)) < 0.01


def test_user_rate_directory_replaces_fits(reference):
    directory = reference("reactions")
    t = build_rate_tables(max_charge=3, reaction_model="lookup", reaction_rate_directories=(str(directory),))
    ref = _reference_lookup(directory / "ionization_Xe_Xe+.dat")
    assert np.array_equal(t.iz[0], ref)


def test_landmark_fit_against_landmark_table(reference):
    path = reference("landmark", "landmark_rates.csv")
    _, k_iz, _ = read_landmark_table(path)
    table = build_rate_tables(max_charge=1, reaction_model="landmark", landmark_rates_file=str(path))
    fit = build_rate_tables(max_charge=1, reaction_model="landmark")
    mask = np.arange(NUM_LOOKUP) >= 3
    mask &= np.arange(NUM_LOOKUP) <= 150
    assert np.max(np.abs(fit.iz[0][mask] / table.iz[0][mask] - 1.0)) < 0.05
    loss_fit = 12.12 * fit.iz[0] + 8.32 * fit.ex
    loss_tab = 12.12 * table.iz[0] + 8.32 * table.ex
    assert np.max(np.abs(loss_fit[mask] / loss_tab[mask] - 1.0)) < 0.02
    assert np.allclose(table.iz[0][1:151], k_iz)
