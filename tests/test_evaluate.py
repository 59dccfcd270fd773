"""The evaluation scores: coverage, CRPS and energy distance on ensembles with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hallctl.commands.evaluate import parse_sweep
from hallctl.errors import ProjectError
from hallctl.evaluation import crps_ensemble, energy_distance, importance_weights, interval_coverage
from hallctl.scores import effective_sample_size, weighted_quantile


@pytest.mark.parametrize("m", [8, 32])
@pytest.mark.parametrize("level", [0.5, 0.9])
def test_coverage_of_a_calibrated_ensemble_is_the_level_for_any_size(m: int, level: float) -> None:
    rng = np.random.default_rng(0)
    n = 40_000
    samples, truth = rng.normal(size=(m, n)), rng.normal(size=n)
    cov = interval_coverage(samples, truth, level).mean()
    assert cov == pytest.approx(level, abs=0.01)
    # the interval between empirical quantiles is too narrow for small ensembles; the rank form is not
    lo, hi = np.quantile(samples, [0.5 - level / 2, 0.5 + level / 2], axis=0)
    naive = ((truth >= lo) & (truth <= hi)).mean()
    assert naive < level - 0.02
    assert naive == pytest.approx(level * (m - 1) / (m + 1), abs=0.03)


def test_coverage_flags_over_and_underconfident_ensembles() -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(size=20_000)
    narrow = interval_coverage(0.5 * rng.normal(size=(32, truth.size)), truth, 0.9).mean()
    wide = interval_coverage(2.0 * rng.normal(size=(32, truth.size)), truth, 0.9).mean()
    assert narrow < 0.7 and wide > 0.99


def test_coverage_with_ties_and_bounds() -> None:
    samples = np.zeros((4, 1))
    # every draw equals the truth: the rank is uniform over all M + 1 slots, like a calibrated one
    assert interval_coverage(samples, np.zeros(1), 0.5)[0] == pytest.approx(0.5)
    # above all 4 draws: u lies in [0.8, 1], outside the central 50 %, three quarters inside the central 90 %
    assert interval_coverage(samples, np.ones(1), 0.5)[0] == 0.0
    assert interval_coverage(samples, np.ones(1), 0.9)[0] == pytest.approx(0.75)
    cov = interval_coverage(np.random.default_rng(2).normal(size=(16, 100)), np.zeros(100), 0.3)
    assert np.all((cov >= 0) & (cov <= 1))


def test_crps_matches_the_gaussian_closed_form() -> None:
    rng = np.random.default_rng(3)
    y = np.array([-1.5, 0.0, 0.7, 2.5])
    sd = 1.3
    samples = sd * rng.normal(size=(20_000, y.size))
    z = y / sd
    phi = np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))
    exact = sd * (z * (2 * cdf - 1) + 2 * phi - 1 / math.sqrt(math.pi))
    assert crps_ensemble(samples, y) == pytest.approx(exact, rel=0.02)


def test_crps_is_fair_and_zero_for_a_perfect_point_forecast() -> None:
    rng = np.random.default_rng(4)
    m, n = 4, 50_000
    truth = rng.normal(size=n)
    small = crps_ensemble(rng.normal(size=(m, n)), truth).mean()
    large = crps_ensemble(rng.normal(size=(256, n)), truth).mean()
    assert small == pytest.approx(large, rel=0.02)  # the fair form does not favour small ensembles
    assert crps_ensemble(np.full((5, 3), 2.0), np.full(3, 2.0)) == pytest.approx(np.zeros(3))


def test_energy_distance_separates_distributions() -> None:
    rng = np.random.default_rng(5)
    same = [energy_distance(rng.normal(size=(64, 10)), rng.normal(size=(64, 10))) for _ in range(20)]
    shifted = energy_distance(rng.normal(size=(64, 10)), 1.0 + rng.normal(size=(64, 10)))
    assert abs(np.mean(same)) < 0.1 < shifted
    assert shifted == pytest.approx(energy_distance(rng.normal(size=(64, 10)) + 1.0, rng.normal(size=(64, 10))),
                                    rel=0.3)


def test_parse_sweep() -> None:
    assert parse_sweep(["steps=32,64", "guidance=dps,mmps"]) == {"steps": [32, 64], "guidance": ["dps", "mmps"]}
    with pytest.raises(ProjectError, match="key one of"):
        parse_sweep(["step=32"])
    with pytest.raises(ProjectError, match="must be int"):
        parse_sweep(["steps=many"])
    with pytest.raises(ProjectError, match="choose one of: auto, network, data"):
        parse_sweep(["mmps_jacobian=nope"])
    with pytest.raises(ProjectError, match="choose one of: mmps, dps, none"):
        parse_sweep(["guidance=ddim"])
    with pytest.raises(ProjectError, match="out of range"):
        parse_sweep(["steps=0"])


def test_weighted_scores_reduce_to_the_ensemble_ones_and_to_a_point_forecast() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(40, 500)), rng.normal(size=500)
    ones = np.ones(40)
    np.testing.assert_allclose(interval_coverage(x, y, 0.9, ones), interval_coverage(x, y, 0.9))
    np.testing.assert_allclose(weighted_quantile(x, 0.5, ones), np.median(x, axis=0), atol=0.15)
    # equal weights: the CRPS of the empirical distribution (the fair form divides pairs by M(M − 1))
    plain = np.abs(x - y).mean(0) - 0.5 * np.abs(x[:, None] - x[None]).mean((0, 1))
    np.testing.assert_allclose(crps_ensemble(x, y, ones), plain)
    point = np.zeros(40)
    point[7] = 1.0
    np.testing.assert_allclose(crps_ensemble(x, y, point), np.abs(x[7] - y))
    assert effective_sample_size(point) == 1.0 and effective_sample_size(ones) == 40.0
    w = rng.uniform(size=40)
    lo, hi = weighted_quantile(x, 0.05, w), weighted_quantile(x, 0.95, w)
    assert np.all(lo <= hi)


def test_importance_weights_follow_the_likelihood() -> None:
    from hallctl.sample import build_observations

    W = 8
    meta = {"rows": ["ne", "ui_1", "phi", "discharge_voltage_v"], "kind": ["field"] * 3 + ["scalar"],
            "log": [True, False, False, False], "mean": [40.0, 8000.0, 150.0, 300.0],
            "std": [2.0, 10000.0, 200.0, 100.0], "grid_m": list(np.linspace(0.0, 0.07, W))}
    records = np.zeros((3, len(meta["rows"]), W))
    records[:, 3] = np.array([-1.0, 0.0, 2.0])[:, None]  # voltage rows 200, 300, 500 V
    obs = build_observations([{"field": "discharge_voltage_v", "z": "", "value": 310.0, "std": 10.0}], meta)
    w = importance_weights(records, obs)
    expected = np.exp(-0.5 * ((np.array([200.0, 300.0, 500.0]) - 310.0) / 10.0) ** 2)
    np.testing.assert_allclose(w, expected / expected.sum())
