"""Guidance against exact Gaussian posteriors at the model's real size (issue: posteriors that honor
the data): 25 rows × 64 points, 8 of them scalar rows (constant along z), 15 point observations of
one profile at 5 % plus tight voltage and flow observations, default sampler settings.

With a Gaussian prior every guided sampler here is an affine map of the initial noise, and the
samples depend on that noise only through its projection on the prior's range (the rest is
shrunk to zero on the way to σ = 0). Regressing the samples on that projection therefore gives
the sampler's own mean and covariance *exactly* (no Monte-Carlo error) from a few more samples
than the prior has dimensions; the fit residual checks the affine structure itself.
"""

from __future__ import annotations

import pytest
import torch

from hallctl.sample import SampleNoise, SparseObservationOperator, interpolation_terms, row_mean_terms
from tests.sample.compose import run_sample

f64 = torch.float64
C, W, NS = 25, 64, 8
NF = C - NS
OBSERVED_ROW = 8  # ui_1 in hallctl's row order
VOLTAGE, FLOW = NF + 1, NF  # discharge_voltage_v, anode_mass_flow_rate_kg_s
SIGMA_MAX = 80.0


class RangeDenoiser:
    """Exact denoiser of x = M u, u ~ N(0, I): D(x; σ) = U diag(λ/(λ + σ²)) Uᵀ x with M = U diag(√λ) Vᵀ."""

    def __init__(self, M: torch.Tensor) -> None:
        U, s, _ = torch.linalg.svd(M, full_matrices=False)
        keep = s > 1e-10 * s[0]
        self.U, self.lam, self.S = U[:, keep], s[keep] ** 2, M @ M.T

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        c = x.reshape(B, -1) @ self.U.to(x)
        lam = self.lam.to(x)
        return ((c * lam / (lam + sigma.to(x)[:, None] ** 2)) @ self.U.to(x).T).reshape(B, C, W)

    def posterior(self, A: torch.Tensor, y: torch.Tensor, sigma_y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        K = self.S @ A.T @ torch.linalg.inv(A @ self.S @ A.T + torch.diag(sigma_y**2))
        cov = self.S - K @ A @ self.S
        return K @ y, 0.5 * (cov + cov.T)


class WhiteDenoiser(RangeDenoiser):
    """The prior DPS assumes: white profile rows and constant scalar rows, all of variance σ_d² = 0.25,
    evaluated elementwise (the range is every profile entry and each scalar row's constant)."""

    def __init__(self) -> None:
        basis = torch.zeros(C, W, NF * W + NS, dtype=f64)
        basis[:NF].reshape(NF * W, -1)[:, : NF * W] = torch.eye(NF * W, dtype=f64)
        for s in range(NS):
            basis[NF + s, :, NF * W + s] = W**-0.5
        self.U = basis.reshape(C * W, -1)
        self.lam = torch.cat([torch.full((NF * W,), 0.25, dtype=f64), torch.full((NS,), 0.25 * W, dtype=f64)])
        self.S = (self.U * self.lam) @ self.U.T

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        s2 = sigma.to(x)[:, None, None] ** 2
        rows = 0.25 / (0.25 + s2) * x
        means = 0.25 / (0.25 + s2 / W) * x.mean(dim=-1, keepdim=True)
        return torch.cat([rows[:, :NF], means.expand(-1, -1, W)[:, NF:]], dim=1)


def smooth_prior(seed: int = 0, ell: float = 0.15, processes: int = 5, basis: int = 10) -> torch.Tensor:
    """M (C·W, d) of a smooth, strongly correlated prior: every profile row mixes a few Gaussian
    processes along z (squared-exponential, length ``ell`` of the domain), every scalar row mixes
    their means and a latent of its own; all rows have mean 0 and variance σ_d² = 0.25."""
    g = torch.Generator().manual_seed(seed)
    z = torch.linspace(0, 1, W, dtype=f64)
    lam, V = torch.linalg.eigh(torch.exp(-0.5 * (z[:, None] - z[None]) ** 2 / ell**2))
    phi = V[:, -basis:] * lam[-basis:].sqrt()  # (W, basis)
    d = processes * basis + NS
    M = torch.zeros(C, W, d, dtype=f64)
    for r in range(NF):
        mix = torch.randn(processes, generator=g, dtype=f64)
        for j in range(processes):
            M[r, :, j * basis : (j + 1) * basis] = mix[j] * phi
    for s in range(NS):
        mix = torch.randn(processes, generator=g, dtype=f64)
        for j in range(processes):
            M[NF + s, :, j * basis : (j + 1) * basis] = 0.7 * mix[j] * phi.mean(0)
        M[NF + s, :, processes * basis + s] = 0.6
    scale = 0.5 / (M**2).sum(-1).mean(-1).sqrt()
    return (M * scale[:, None, None]).reshape(C * W, d)


class Obs:
    def __init__(self, operator, y, sigma_y) -> None:
        self.operator, self.y, self.sigma_y = operator, y, sigma_y


def observations(truth: torch.Tensor, *, scalars: bool = True, seed: int = 1) -> Obs:
    """ui_1 at 15 points over 0.6–3 channel lengths with σ_y = 0.075 (5 % of a typical velocity in
    normalized units), voltage σ_y = 0.01 (1 V) and flow σ_y = 0.005 (0.2 %)."""
    g = torch.Generator().manual_seed(seed)
    grid = torch.linspace(0, 0.08, W).tolist()
    terms = [interpolation_terms(OBSERVED_ROW, z, grid) for z in torch.linspace(0.015, 0.075, 15).tolist()]
    sigma_y = [0.075] * 15
    if scalars:
        terms += [row_mean_terms(VOLTAGE, W), row_mean_terms(FLOW, W)]
        sigma_y += [0.01, 0.005]
    A = SparseObservationOperator(terms, channels=C, length=W, dtype=f64)
    sy = torch.tensor(sigma_y, dtype=f64)
    return Obs(A, A(truth.reshape(1, C, W))[0] + sy * torch.randn(len(sy), generator=g, dtype=f64), sy)


def sampler_moments(D: RangeDenoiser, obs: Obs | None, **kw) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """The mean (C·W,) and covariance of the guided sampler's output distribution (module docstring)."""
    n = D.U.shape[1] + 24
    res = run_sample(D, num_samples=n, channels=C, length=W, observations=obs, dtype=f64, batch_size=n, **kw)
    x = res.x.reshape(n, -1)
    eps = SampleNoise(0, range(n), (C, W), dtype=f64).draw().reshape(n, -1)
    Z = torch.cat([torch.ones(n, 1, dtype=f64), SIGMA_MAX * eps @ D.U], dim=1)
    coef = torch.linalg.lstsq(Z, x).solution
    assert (x - Z @ coef).abs().max() < 1e-8  # the sampler is affine in the noise, as it must be here
    return coef[0], SIGMA_MAX**2 * coef[1:].T @ coef[1:], res.settings


def worst_rows(mean, cov, exact_mean, exact_cov, skip=()) -> tuple[float, float]:
    """Max over rows of max_z |mean − exact|/exact sd, and of |sd ratio − 1| (row-pooled variances)."""
    sd = exact_cov.diagonal().reshape(C, W).sqrt()
    err = ((mean - exact_mean).reshape(C, W).abs() / sd).amax(dim=1)
    ratio = (cov.diagonal().reshape(C, W).mean(1) / exact_cov.diagonal().reshape(C, W).mean(1)).sqrt()
    rows = [r for r in range(C) if r not in skip]
    return float(err[rows].max()), float((ratio[rows] - 1).abs().max())


@pytest.mark.parametrize("jacobian", ["network", "auto", "data"])
def test_mmps_matches_the_exact_posterior_of_a_smooth_correlated_prior(jacobian: str) -> None:
    """The denoiser's own Jacobian, the data covariance's, or both (above σ = 1) give the exact posterior."""
    M = smooth_prior()
    D = RangeDenoiser(M)
    obs = observations(M @ torch.randn(M.shape[1], generator=torch.Generator().manual_seed(5), dtype=f64))
    exact = D.posterior(obs.operator.dense(), obs.y, obs.sigma_y)
    cov = None if jacobian == "network" else (D.U, D.lam)
    mean, cov, settings = sampler_moments(D, obs, data_covariance=cov, mmps_jacobian=jacobian)
    err, ratio = worst_rows(mean, cov, *exact)
    assert err < 0.1 and ratio < 0.1, (err, ratio)
    assert settings["mmps_contracted_updates"] == 0  # the brake never acts on an exact denoiser
    assert (settings["mmps_data_covariance_evaluations"] > 0) == (jacobian != "network")
    assert (settings["vjp_per_sample"] > 0) == (jacobian != "data")
    # the tight scalars are pinned: posterior sd within 10 % of the exact one, which is ≈ σ_y
    sd = cov.diagonal().reshape(C, W)[[VOLTAGE, FLOW], 0].sqrt()
    assert torch.allclose(sd, exact[1].diagonal().reshape(C, W)[[VOLTAGE, FLOW], 0].sqrt(), rtol=0.1)


def test_fixed_rows_condition_the_others_like_exact_conditioning() -> None:
    M = smooth_prior(seed=2)
    D = RangeDenoiser(M)
    truth = M @ torch.randn(M.shape[1], generator=torch.Generator().manual_seed(6), dtype=f64)
    points = observations(truth, scalars=False)
    values = {VOLTAGE: 0.8, FLOW: -0.3}
    # exact: the fixed rows as (practically) noiseless row-mean observations
    known = SparseObservationOperator([row_mean_terms(r, W) for r in values], channels=C, length=W, dtype=f64)
    A = torch.cat([points.operator.dense(), known.dense()])
    y = torch.cat([points.y, torch.tensor(list(values.values()), dtype=f64)])
    exact = D.posterior(A, y, torch.cat([points.sigma_y, torch.full((2,), 1e-9, dtype=f64)]))
    mean, cov, _ = sampler_moments(D, points, fixed=values)
    err, ratio = worst_rows(mean, cov, *exact, skip=values)
    assert err < 0.1 and ratio < 0.1, (err, ratio)
    for r, v in values.items():  # and the output holds the known values exactly
        torch.testing.assert_close(mean.reshape(C, W)[r], torch.full((W,), v, dtype=f64), rtol=0, atol=1e-12)
        assert cov.reshape(C, W, C, W)[r, :, r].abs().max() < 1e-20
    # the check is sensitive: without the known values the other rows are far from this conditional
    unknown, _, _ = sampler_moments(D, points)
    assert worst_rows(unknown, cov, *exact, skip=values)[0] > 1.0


def test_dps_matches_the_exact_posterior_of_the_prior_it_assumes() -> None:
    D = WhiteDenoiser()
    truth = D.U @ (D.lam.sqrt() * torch.randn(D.lam.numel(), generator=torch.Generator().manual_seed(7), dtype=f64))
    for scalars in (False, True):
        obs = observations(truth, scalars=scalars)
        exact = D.posterior(obs.operator.dense(), obs.y, obs.sigma_y)
        mean, cov, _ = sampler_moments(D, obs, guidance="dps", project_scalar_rows=list(range(NF, C)))
        err, ratio = worst_rows(mean, cov, *exact)
        assert err < 0.1 and ratio < 0.1, (scalars, err, ratio)


def test_dps_with_the_data_covariance_matches_the_exact_posterior_of_a_smooth_prior() -> None:
    """Given the data covariance, DPS's variance model is that Gaussian's (full n × n, no extra
    backward pass): exact on the smooth, correlated prior where the white model is 2–3 sd off."""
    M = smooth_prior()
    D = RangeDenoiser(M)
    truth = M @ torch.randn(M.shape[1], generator=torch.Generator().manual_seed(5), dtype=f64)
    for scalars in (False, True):
        obs = observations(truth, scalars=scalars)
        exact = D.posterior(obs.operator.dense(), obs.y, obs.sigma_y)
        mean, cov, settings = sampler_moments(D, obs, guidance="dps", data_covariance=(D.U, D.lam))
        err, ratio = worst_rows(mean, cov, *exact)
        assert err < 0.1 and ratio < 0.1, (scalars, err, ratio)
        assert settings["dps_variance"] == "data covariance" and settings["dps_contracted_updates"] == 0
        assert settings["vjp_per_sample"] == settings["nfe_per_sample"]  # still one backward pass each
    white, _, _ = sampler_moments(D, obs, guidance="dps")  # the white model on this prior
    assert worst_rows(white, cov, *exact)[0] > 1.0
