"""Tests of hallctl/sim/vecmath.py: the branch-free logarithm of the kernels (docs/physics.md §17)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from hallctl.sim.vecmath import log_vec


@njit
def _log_all(x, out):
    for i in range(x.size):
        out[i] = log_vec(x[i])


@pytest.mark.parametrize("kind", ["wide", "unit", "near_one", "subnormal"])
def test_log_vec_within_one_ulp_of_libm(kind, rng):
    x = {
        "wide": np.exp(rng.uniform(-700.0, 700.0, 20000)),
        "unit": rng.uniform(0.5, 2.0, 20000),
        "near_one": 1.0 + rng.uniform(-1e-6, 1e-6, 20000),
        "subnormal": rng.uniform(1e-320, 2e-308, 2000),
    }[kind]
    out = np.empty_like(x)
    _log_all(x, out)
    ref = np.array([math.log(v) for v in x])
    nonzero = ref != 0.0
    ulp = np.abs(out[nonzero] - ref[nonzero]) / np.spacing(np.abs(ref[nonzero]))
    assert np.max(ulp) <= 1.0
    assert np.all(out[~nonzero] == 0.0)


def test_log_vec_special_values():
    x = np.array([0.0, -0.0, -1.0, -np.inf, np.inf, np.nan, 1.0, 5e-324, 1.7976931348623157e308])
    out = np.empty_like(x)
    _log_all(x, out)
    assert out[0] == -np.inf and out[1] == -np.inf
    assert np.isnan(out[2]) and np.isnan(out[3]) and np.isnan(out[5])
    assert out[4] == np.inf
    assert out[6] == 0.0
    assert out[7] == pytest.approx(math.log(5e-324), rel=1e-15)
    assert out[8] == pytest.approx(math.log(1.7976931348623157e308), rel=1e-15)
