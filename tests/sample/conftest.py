"""Shared fixtures of the sampler tests: analytic Gaussian denoisers and a small metadata table."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor


class GaussianDenoiser:
    r"""Exact denoiser of x ~ N(μ, S) on (C, W): D*(x; σ) = μ + S (S + σ² I)⁻¹ (x − μ).

    Evaluated through the eigendecomposition S = U Λ Uᵀ, so every sample may have its own σ and
    autograd gives J = S (S + σ² I)⁻¹ (symmetric), as for a perfectly trained network.
    """

    def __init__(self, S: Tensor, mu: Tensor, shape: tuple[int, int]) -> None:
        self.S, self.mu, self.shape = S, mu, shape
        self.lam, self.U = torch.linalg.eigh(S)
        self.calls = 0

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        self.calls += 1
        B = x.shape[0]
        c = (x.reshape(B, -1) - self.mu.to(x)) @ self.U.to(x)
        lam = self.lam.to(x)
        c = c * lam / (lam + sigma.to(x)[:, None] ** 2)
        return (self.mu.to(x) + c @ self.U.to(x).T).reshape(B, *self.shape)

    def posterior(self, A: Tensor, y: Tensor, sigma_y: Tensor) -> tuple[Tensor, Tensor]:
        """Mean (d,) and covariance (d, d) of x | y for y = A x + N(0, diag σ_y²), A dense (n, d)."""
        Si = torch.linalg.inv(self.S)
        P = Si + A.T @ torch.diag(sigma_y**-2) @ A
        cov = torch.linalg.inv(P)
        mean = cov @ (Si @ self.mu + A.T @ (y / sigma_y**2))
        return mean, 0.5 * (cov + cov.T)


def _se_covariance(C: int, W: int, *, ell: float = 0.25, seed: int = 0) -> Tensor:
    """A non-isotropic prior covariance on (C, W): Kronecker of a random row correlation and an
    exponentiated-quadratic kernel along z, with per-row variances around σ_d² = 0.25."""
    g = torch.Generator().manual_seed(seed)
    z = torch.linspace(0, 1, W, dtype=torch.float64)
    K = torch.exp(-0.5 * (z[:, None] - z[None, :]) ** 2 / ell**2) + 1e-3 * torch.eye(W, dtype=torch.float64)
    L = torch.randn(C, C, generator=g, dtype=torch.float64)
    R = L @ L.T + C * torch.eye(C, dtype=torch.float64)
    d = torch.sqrt(torch.diag(R))
    R = R / d[:, None] / d[None, :]
    scales = 0.5 * torch.linspace(0.6, 1.4, C, dtype=torch.float64)
    R = R * scales[:, None] * scales[None, :]
    return torch.kron(R, K)


@pytest.fixture
def gaussian_denoiser() -> type[GaussianDenoiser]:
    return GaussianDenoiser


@pytest.fixture
def se_covariance():
    return _se_covariance


@pytest.fixture
def meta() -> dict:
    """Normalization metadata of a small model: 3 fields and 2 scalar rows on an 8-point grid."""
    W = 8
    return {
        "rows": ["ne", "ui_1", "phi", "discharge_voltage_v", "thrust_N"],
        "kind": ["field", "field", "field", "scalar", "scalar"],
        "log": [True, False, False, False, True],
        "mean": [40.0, 8000.0, 150.0, 300.0, -3.0],
        "std": [2.0, 10000.0, 200.0, 100.0, 0.5],
        "units": ["m^-3", "m/s", "V", "V", "N"],
        "grid_m": list(np.linspace(0.0, 0.07, W)),
        "target_std": 0.5,
    }


@pytest.fixture(autouse=True)
def _single_thread():
    """The tensors here are tiny: one intra-op thread is fastest and does not fight other jobs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
