"""hallctl.sample.guidance with run_sample(): posterior accuracy on Gaussian priors, step invariance,
DPS, fixed rows, scalar-row projection, solver choice and backward-pass counts (docs/model.md §10.4, 10.7).
"""

from dataclasses import dataclass

import pytest
import torch

from hallctl.sample import MMPS, SparseObservationOperator, interpolation_terms, row_mean_terms
from hallctl.sample.guidance.mmps import contract_update, psd_solve
from tests.sample.compose import run_sample

C, W = 2, 8
d = C * W
f64 = torch.float64


@dataclass
class Obs:
    operator: SparseObservationOperator
    y: torch.Tensor
    sigma_y: torch.Tensor


@pytest.fixture
def problem(gaussian_denoiser, se_covariance):
    """Non-isotropic Gaussian prior, 5 observations (interpolated points and a row mean)."""
    S = se_covariance(C, W)
    mu = 0.1 * torch.linspace(-1, 1, d, dtype=f64)
    D = gaussian_denoiser(S, mu, (C, W))
    grid = torch.linspace(0, 1, W).tolist()
    terms = [interpolation_terms(0, z, grid) for z in (0.13, 0.5, 0.91)]
    terms += [interpolation_terms(1, 0.33, grid), row_mean_terms(1, W)]
    A = SparseObservationOperator(terms, channels=C, length=W, dtype=f64)
    g = torch.Generator().manual_seed(1)
    truth = mu + torch.linalg.cholesky(S) @ torch.randn(d, generator=g, dtype=f64)
    sigma_y = torch.tensor([0.1, 0.05, 0.1, 0.1, 0.03], dtype=f64)
    y = A(truth.reshape(1, C, W))[0] + sigma_y * torch.randn(5, generator=g, dtype=f64)
    mean, cov = D.posterior(A.dense(), y, sigma_y)
    return D, Obs(A, y, sigma_y), mean, cov


def _draw(D, obs, n: int = 4096, **kw) -> torch.Tensor:
    kw = {"steps": 32, "guidance": "mmps", **kw}
    res = run_sample(D, num_samples=n, channels=C, length=W, observations=obs, dtype=f64, batch_size=n, **kw)
    return res.x.reshape(n, d)


def _check_moments(x: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> tuple[float, float]:
    """Max |z| of the sample mean and the relative Frobenius error of the sample covariance, checked
    against Monte-Carlo error (plus a small allowance for discretization)."""
    n = x.shape[0]
    z = ((x.mean(0) - mean) / torch.sqrt(torch.diag(cov) / n)).abs().max().item()
    cov_err = ((torch.cov(x.T) - cov).norm() / cov.norm()).item()
    mc = ((torch.trace(cov) ** 2 + torch.trace(cov @ cov)) / n).sqrt().item() / cov.norm().item()
    assert z < 4.0
    assert cov_err < 2.0 * mc + 0.01
    return z, cov_err


@pytest.mark.parametrize("sampler", ["heun", "dpmpp_2m"])
def test_mmps_matches_gaussian_posterior(problem, sampler: str) -> None:
    D, obs, mean, cov = problem
    x = _draw(D, obs, sampler=sampler, steps=32 if sampler == "heun" else 48)
    _check_moments(x, mean, cov)


def test_mmps_conjugate_gradient_matches_cholesky(problem) -> None:
    D, obs, _, _ = problem
    a = run_sample(D, num_samples=64, channels=C, length=W, steps=16, observations=obs, dtype=f64,
                   mmps_solver="cholesky")
    b = run_sample(
        D,
        num_samples=64,
        channels=C,
        length=W,
        steps=16,
        observations=obs,
        dtype=f64,
        mmps_solver="cg",
        cg_iterations=5,
    )
    assert torch.allclose(a.x, b.x, atol=1e-8)
    n = obs.y.numel()
    assert a.settings["mmps_solver"] == "cholesky" and b.settings["mmps_solver"] == "cg"
    assert a.settings["vjp_per_sample"] == a.nfe_per_sample * n  # the n products also give the update
    assert b.settings["vjp_per_sample"] == b.nfe_per_sample * (5 + 1)
    assert a.nfe_per_sample == b.nfe_per_sample == 31
    guided = MMPS(D, obs.operator, obs.y, obs.sigma_y, max_exact_obs=4)
    assert not guided.uses_cholesky(5) and guided.uses_cholesky(4)


@pytest.mark.parametrize("guidance", ["mmps", "dps"])
def test_guided_samples_do_not_drift_with_step_count(problem, guidance: str) -> None:
    D, obs, _, cov = problem
    sd = torch.sqrt(torch.diag(cov))
    x32, x64 = (_draw(D, obs, n=1024, guidance=guidance, steps=N) for N in (32, 64))
    per_sample = (((x32 - x64) / sd) ** 2).mean().sqrt().item()
    mean_shift = ((x32.mean(0) - x64.mean(0)) / sd).abs().max().item()
    std_ratio = (x32.std(0) / x64.std(0) - 1).abs().max().item()
    assert per_sample < 0.03 and mean_shift < 0.03 and std_ratio < 0.03


def test_dps_moves_samples_toward_observations(problem) -> None:
    D, obs, _, _ = problem

    def chi2(x: torch.Tensor) -> float:
        return (((obs.operator(x.reshape(-1, C, W)) - obs.y) / obs.sigma_y) ** 2).sum(-1).mean().item()

    prior = _draw(D, obs, n=512, guidance="none")
    dps = _draw(D, obs, n=512, guidance="dps")
    mmps = _draw(D, obs, n=512, guidance="mmps")
    assert chi2(dps) < 0.1 * chi2(prior)
    assert chi2(mmps) < 0.1 * chi2(prior)


def test_dps_is_exact_for_isotropic_prior_and_node_observations(gaussian_denoiser) -> None:
    D = gaussian_denoiser(0.25 * torch.eye(d, dtype=f64), torch.zeros(d, dtype=f64), (C, W))
    grid = torch.linspace(0, 1, W).tolist()
    A = SparseObservationOperator(
        [interpolation_terms(0, grid[j], grid) for j in (1, 4, 6)] + [interpolation_terms(1, grid[2], grid)],
        channels=C,
        length=W,
        dtype=f64,
    )
    obs = Obs(A, torch.tensor([0.3, -0.2, 0.5, 0.1], dtype=f64), torch.tensor([0.1, 0.2, 0.05, 0.1], dtype=f64))
    mean, cov = D.posterior(A.dense(), obs.y, obs.sigma_y)
    _check_moments(_draw(D, obs, guidance="dps"), mean, cov)


@pytest.mark.parametrize("sampler", ["heun", "midpoint", "dpmpp_2m"])
@pytest.mark.parametrize("guidance", ["mmps", "dps", "none"])
def test_fixed_rows_stay_exactly_fixed(problem, sampler: str, guidance: str) -> None:
    D, obs, _, _ = problem
    res = run_sample(
        D,
        num_samples=8,
        channels=C,
        length=W,
        steps=12,
        sampler=sampler,
        observations=obs,
        guidance=guidance,
        fixed={1: 0.37},
        churn=5.0,
        s_tmin=0.01,
    )
    assert torch.equal(res.x[:, 1], torch.full((8, W), 0.37))
    assert torch.isfinite(res.x).all()
    assert res.settings["fixed"] == {"1": 0.37}


def test_projected_rows_are_constant(problem) -> None:
    D, obs, _, _ = problem
    for sampler, tol in (("heun", 1e-5), ("dpmpp_2m", 0.0)):
        x = run_sample(
            D, num_samples=8, channels=C, length=W, steps=12, sampler=sampler, observations=obs, project_scalar_rows=[1]
        ).x
        assert float((x[:, 1] - x[:, 1, :1]).abs().max()) <= tol
        assert float(x[:, 0].std(-1).min()) > 1e-3  # other rows untouched


def test_guidance_threshold_skips_backward_passes(problem) -> None:
    D, obs, _, _ = problem
    full = run_sample(D, num_samples=2, channels=C, length=W, steps=8, observations=obs, guidance="dps")
    late = run_sample(
        D, num_samples=2, channels=C, length=W, steps=8, observations=obs, guidance="dps", guidance_sigma_max=1.0
    )
    assert full.settings["vjp_per_sample"] == full.nfe_per_sample == 15
    assert 0 < late.settings["vjp_per_sample"] < 15


def test_guided_samples_do_not_depend_on_batch_size(problem) -> None:
    D, obs, _, _ = problem
    kw = dict(num_samples=6, channels=C, length=W, steps=8, observations=obs, dtype=f64, seed=5)
    a = run_sample(D, batch_size=6, **kw).x
    b = run_sample(D, batch_size=4, **kw).x
    c = run_sample(D, **{**kw, "num_samples": 1, "first_index": 5}).x
    assert torch.allclose(a, b, rtol=0, atol=1e-12) and torch.allclose(a[5:], c, rtol=0, atol=1e-12)


@pytest.mark.parametrize("guidance", ["mmps", "dps"])
def test_fixed_row_state_is_the_noised_known_value(problem, guidance: str) -> None:
    """Along a fixed row the network always sees v + σ·e with one e per sample (no drift)."""
    D, obs, _, _ = problem
    seen = []

    def recording(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        seen.append(((x[:, 1].detach() - 0.37) / sigma[:, None]).clone())
        return D(x, sigma)

    run_sample(
        recording,
        num_samples=4,
        channels=C,
        length=W,
        steps=10,
        sampler="dpmpp_2m",
        observations=obs,
        guidance=guidance,
        fixed={1: 0.37},
        dtype=f64,
    )
    for e in seen[1:]:
        assert torch.allclose(e, seen[0], atol=1e-9)


def test_mmps_stays_bounded_with_an_indefinite_jacobian(problem) -> None:
    """A learned denoiser's Jacobian can have negative eigenvalues at large σ (seen with small
    trained models, where σ is beyond the trained range): σ²A J Aᵀ then cancels Σ_y, and an update
    through that Jᵀ throws samples far off the data. The projected, whitened solve and the
    contraction brake keep every sample on the data scale, also with tight observations."""
    D, obs, _, _ = problem

    def indefinite(x, sigma):
        c_skip = (0.25 / (sigma**2 + 0.25)).reshape(-1, 1, 1)
        return D(x, sigma) - 1.2 * c_skip * x  # J = J* - 1.2 c_skip I: negative at large σ

    tight = Obs(obs.operator, obs.y, obs.sigma_y * 0.05)
    for o in (obs, tight):
        for solver in ("cholesky", "cg"):
            res = run_sample(indefinite, num_samples=64, channels=C, length=W, steps=16, observations=o, dtype=f64,
                         mmps_solver=solver)
            assert torch.isfinite(res.x).all() and res.x.abs().max() < 5, (solver, float(res.x.abs().max()))
            assert res.settings["mmps_contracted_updates"] > 0


def test_psd_solve_and_contraction() -> None:
    g = torch.Generator().manual_seed(0)
    Q = torch.linalg.qr(torch.randn(2, 4, 4, generator=g, dtype=f64))[0]
    lam = torch.tensor([[3.0, 1.0, -2.0, 0.5], [0.0, 2.0, 4.0, -7.0]], dtype=f64)
    M = Q @ torch.diag_embed(lam) @ Q.mT + 0.3 * torch.randn(2, 4, 4, generator=g, dtype=f64).triu(1)
    b = torch.randn(2, 4, generator=g, dtype=f64)
    sym = 0.5 * (M + M.mT)
    lam_s, V = torch.linalg.eigh(sym)
    expected = torch.linalg.solve(torch.eye(4, dtype=f64) + V @ torch.diag_embed(lam_s.clamp_min(0)) @ V.mT, b)
    torch.testing.assert_close(psd_solve(M, b), expected)
    # an exact covariance is untouched; a too-long move is cut back to the residual's length
    update = torch.ones(2, 3, 5, dtype=f64)
    moved = torch.tensor([[0.3, 0.4], [3.0, 4.0]], dtype=f64)
    residual = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=f64)
    out = contract_update(update, moved, residual)
    assert torch.equal(out[0], update[0]) and torch.allclose(out[1], update[1] / 5)
