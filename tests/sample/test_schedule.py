"""hallctl.sample.schedule: the EDM ρ-schedule with N levels plus σ_N = 0."""

import pytest
import torch

from hallctl.sample.schedule import edm_sigmas


@pytest.mark.parametrize("N", [1, 2, 18, 64])
def test_levels(N: int) -> None:
    s = edm_sigmas(N, sigma_min=0.002, sigma_max=80.0, rho=7.0)
    assert s.shape == (N + 1,) and s.dtype == torch.float64
    assert s[0] == pytest.approx(80.0) and s[-1] == 0.0
    if N > 1:
        assert s[N - 1] == pytest.approx(0.002, rel=1e-12)
    assert bool((s[1:] < s[:-1]).all())


def test_formula() -> None:
    N, smin, smax, rho = 5, 0.01, 10.0, 3.0
    s = edm_sigmas(N, sigma_min=smin, sigma_max=smax, rho=rho)
    for i in range(N):
        ref = (smax ** (1 / rho) + i / (N - 1) * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
        assert float(s[i]) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_steps": 0},
        {"num_steps": 4, "sigma_min": 0.0},
        {"num_steps": 4, "sigma_min": 5.0, "sigma_max": 1.0},
        {"num_steps": 4, "rho": 0.0},
    ],
)
def test_rejects_bad_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        edm_sigmas(**kwargs)
