"""Tests of hallctl/sim/energy.py: tridiagonal solver and the pressure gradient (§6.4, §11.5)."""

from __future__ import annotations

import numpy as np
import pytest

from hallctl.sim import layout as lay
from hallctl.sim.energy import apply_gradient, gradient_weights, pressure_gradient, solve_tridiagonal
from hallctl.sim.setup import build_grid


def test_tridiagonal_against_numpy(rng):
    n = 40
    a = rng.uniform(-1, 0, n)
    c = rng.uniform(-1, 0, n)
    b = 2.5 + rng.uniform(0, 1, n)  # diagonally dominant: no pivoting needed
    a[0] = 0.0
    c[-1] = 0.0
    d = rng.normal(size=n)
    A = np.diag(b) + np.diag(a[1:], -1) + np.diag(c[:-1], 1)
    expected = np.linalg.solve(A, d)
    x = np.empty(n)
    solve_tridiagonal(a.copy(), b.copy(), c.copy(), d.copy(), x, np.empty(n))
    assert np.allclose(x, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("z", [np.linspace(-0.001, 0.05, 30), np.cumsum(np.r_[0.0, np.linspace(1, 2, 29)])])
def test_gradient_exact_for_quadratics(z):
    p = 3.0 + 2.0 * z - 5.0 * z**2
    out = np.empty_like(z)
    pressure_gradient(p, z, out)
    assert np.allclose(out, 2.0 - 10.0 * z, rtol=1e-9, atol=1e-9 * np.max(np.abs(z)))
    F = np.zeros((lay.NUM_F, z.size))
    F[lay.GW0 : lay.GW2 + 1] = gradient_weights(z)
    F[lay.PE] = p
    apply_gradient(F, lay.PE, lay.GRAD_PE, z.size)
    assert np.allclose(F[lay.GRAD_PE], out, rtol=1e-10, atol=1e-10)


def test_gradient_on_simulation_grid():
    g = build_grid((0.0, 0.08), 128)
    p = np.sin(g.z_cell * 50.0)
    out = np.empty_like(p)
    pressure_gradient(p, g.z_cell, out)
    assert np.allclose(out[1:-1], 50.0 * np.cos(50.0 * g.z_cell[1:-1]), rtol=0, atol=0.02)
