"""hallctl.sample.solvers through run_sample(): accuracy on the analytic Gaussian ODE and NFE counts.

For x ~ N(0, σ_d² I) the exact denoiser is D* = σ_d²/(σ² + σ_d²)·x and the exact flow maps
x_0 = σ_max ε to σ_d/√(σ_max² + σ_d²)·x_0 (docs/model.md §10.4).
"""

import math

import pytest
import torch

from hallctl.sample import RK2, SampleNoise, make_solver
from tests.sample.compose import run_sample

SIGMA_D, SIGMA_MAX = 0.5, 80.0
C, W = 2, 4


def _factor(sampler: object, N: int) -> float:
    """Relative error of the sampler's end-to-end factor against the exact flow."""

    def D(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return SIGMA_D**2 / (sigma[:, None, None] ** 2 + SIGMA_D**2) * x

    res = run_sample(D, num_samples=3, channels=C, length=W, steps=N, sampler=sampler, dtype=torch.float64)
    x0 = SIGMA_MAX * SampleNoise(0, range(3), (C, W), dtype=torch.float64).draw()
    exact = SIGMA_D / math.sqrt(SIGMA_MAX**2 + SIGMA_D**2)
    factor = res.x / x0
    assert torch.allclose(factor, factor.flatten()[0].expand_as(factor), rtol=1e-10)  # linear map
    return float(factor.flatten()[0]) / exact - 1.0


def test_heun_reproduces_exact_factor_with_second_order_error() -> None:
    errors = {N: _factor("heun", N) for N in (18, 32, 64)}
    # docs/model.md §10.4: 5.5 % / 1.6 % / 0.37 %
    assert errors[18] == pytest.approx(0.055, abs=0.001)
    assert errors[32] == pytest.approx(0.016, abs=0.001)
    assert errors[64] == pytest.approx(0.0037, abs=0.0002)
    for a, b in ((18, 32), (32, 64)):  # error ~ N⁻²
        order = math.log(abs(errors[a] / errors[b])) / math.log(b / a)
        assert 1.7 < order < 2.5


@pytest.mark.parametrize(
    ("sampler", "expected_order"), [("midpoint", 2.0), ("ralston", 2.0), ("dpmpp_2m", 2.0), ("euler", 1.0)]
)
def test_order_of_accuracy(sampler: str, expected_order: float) -> None:
    e32, e64 = _factor(sampler, 32), _factor(sampler, 64)
    assert abs(e64) < 0.05
    order = math.log(abs(e32 / e64)) / math.log(2.0)
    assert order > expected_order - 0.35


@pytest.mark.parametrize(
    ("sampler", "nfe"),
    [
        ("euler", lambda N: N),
        ("heun", lambda N: 2 * N - 1),
        ("midpoint", lambda N: 2 * N),
        ("ralston", lambda N: 2 * N),
        ("dpmpp_2m", lambda N: N),
    ],
)
@pytest.mark.parametrize("N", [1, 5, 12])
def test_nfe_counts(sampler: str, nfe: object, N: int) -> None:
    calls = []

    def D(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape[0])
        return 0.5 * x

    res = run_sample(D, num_samples=5, channels=C, length=W, steps=N, sampler=sampler, batch_size=2)
    assert res.nfe_per_sample == nfe(N) == make_solver(sampler).nfe(N)
    assert len(calls) == 3 * nfe(N)  # three batches (2, 2, 1)
    assert res.settings["nfe_per_sample"] == nfe(N)
    # churn adds noise, never evaluations
    res = run_sample(D, num_samples=2, channels=C, length=W, steps=N, sampler=sampler, churn=10.0, s_tmin=0.0,
                     s_tmax=100.0)
    assert res.nfe_per_sample == nfe(N)


def test_make_solver() -> None:
    assert make_solver("heun") == RK2(alpha=1.0, name="heun")
    assert make_solver("DPM++2M").name == "dpmpp_2m"
    custom = RK2(alpha=0.6)
    assert make_solver(custom) is custom
    with pytest.raises(ValueError, match="unknown sampler 'rk4'"):
        make_solver("rk4")
    with pytest.raises(ValueError, match="alpha"):
        RK2(alpha=1.5)
