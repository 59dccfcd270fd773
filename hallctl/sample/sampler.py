r"""The EDM sampler: noise schedule, step rule, churn, per-sample seeds, guidance (model.md §7–8).

Integrates the probability-flow ODE dx/dσ = (x − D(x; σ))/σ from x_0 = σ_max ε down the levels
of :func:`hallctl.sample.schedule.edm_sigmas` (N steps, σ_N = 0) with one of the step rules of
:mod:`hallctl.sample.solvers`. Optional stochastic churn (EDM Algorithm 2) before step i when
σ_i ∈ [S_tmin, S_tmax]:

.. math::

    \gamma_i = \min\!\Big(\frac{S_{churn}}{N}, \sqrt{2} - 1\Big),\quad
    \hat\sigma = \sigma_i (1 + \gamma_i),\quad
    \hat x = x_i + \sqrt{\hat\sigma^2 - \sigma_i^2}\; S_{noise}\, \varepsilon,

then the step goes from (x̂, σ̂) to σ_{i+1}. S_noise is applied once (upstream applied it twice).
With observations, the denoiser is wrapped by a guidance method (:mod:`hallctl.sample.guidance`)
that returns the posterior-mean estimate, so the same step rules sample p(x | y) (§8.3).

Randomness: sample i (global index ``first_index + i``) draws its initial and churn noise from its
own ``torch.Generator`` seeded from (seed, i), so it is reproducible alone and independent of the
batch size and of the other samples.

References:
    Elucidating the Design Space of Diffusion-Based Generative Models (Karras et al., 2022),
    https://arxiv.org/abs/2206.00364 — Algorithms 1 and 2.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from hallctl.errors import HallctlError, ObservationError
from hallctl.report import Reporter, resolve
from hallctl.sample.guidance import DPS, MMPS, FixedRows, ProjectRows
from hallctl.sample.interfaces import Denoiser, LinearOperator
from hallctl.sample.operator import SparseObservationOperator, StackedOperator, row_mean_terms
from hallctl.sample.schedule import edm_sigmas
from hallctl.sample.solvers import RK2, Solver, make_solver

__all__ = ["FIXED_SIGMA", "GUIDANCE", "SampleNoise", "SampleResult", "SamplingError", "integrate", "sample",
           "sample_seed"]

GUIDANCE = ("mmps", "dps", "none")

FIXED_SIGMA = 1e-4
"""Normalized noise std of a fixed row's row-mean observation inside the guidance (the data have
std σ_d = 0.5, so the other rows are conditioned to within 2e-4 of their exact conditional)."""


class SamplingError(HallctlError):
    """Sampling produced non-finite values (names the step and σ); a run-time error."""

    exit_code = 1


class ObservationSet(Protocol):
    """What :func:`sample` needs from observations (``hallctl.sample.observations.Observations``)."""

    operator: LinearOperator
    y: Tensor  # (n,), normalized
    sigma_y: Tensor  # (n,), normalized


@dataclass(frozen=True)
class SampleResult:
    """Samples and how they were made.

    Attributes:
        x: samples in normalized units, shape (num_samples, C, W), on the CPU.
        nfe_per_sample: denoiser (network) forward evaluations each sample went through.
        settings: the resolved sampler settings (JSON types), including ``nfe_per_sample`` and
            ``vjp_per_sample`` (backward passes of the guidance per sample).
    """

    x: Tensor
    nfe_per_sample: int
    settings: dict[str, Any] = field(default_factory=dict)


def sample_seed(seed: int, index: int) -> int:
    """The 64-bit generator seed of sample ``index`` under run seed ``seed`` (both ≥ 0)."""
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 32) | int(state[1])


class SampleNoise:
    """Standard normal noise for a batch, one ``torch.Generator`` per sample.

    Args:
        seed: run seed (≥ 0).
        indices: global sample indices of the batch, length B.
        shape: (C, W) of one sample.
        dtype, device: of the returned noise (drawn on the CPU, so identical on every device).
    """

    def __init__(
        self,
        seed: int,
        indices: Sequence[int],
        shape: tuple[int, int],
        *,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> None:
        self.generators = [torch.Generator().manual_seed(sample_seed(seed, i)) for i in indices]
        self.shape, self.dtype, self.device = tuple(shape), dtype, torch.device(device)

    def draw(self) -> Tensor:
        """ε, shape (B, C, W): the next draw of every sample's own generator."""
        eps = [torch.randn(self.shape, generator=g, dtype=self.dtype) for g in self.generators]
        return torch.stack(eps).to(self.device)


class _Counted:
    """A denoiser that counts its calls (one call = one network evaluation of the whole batch)."""

    def __init__(self, denoiser: Denoiser) -> None:
        self.denoiser, self.calls = denoiser, 0

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        self.calls += 1
        return self.denoiser(x, sigma)


def _guidance_observations(
    observations: ObservationSet | None,
    fixed: Mapping[int, float],
    channels: int,
    length: int,
    device: torch.device,
    dtype: torch.dtype,
) -> tuple[LinearOperator, Tensor, Tensor]:
    """(A, y, σ_y) of the guidance: the observations, then one row-mean observation per fixed row."""
    parts: list[tuple[LinearOperator, Tensor, Tensor]] = []
    if observations is not None:
        A = observations.operator
        if hasattr(A, "channels") and (A.channels, A.length) != (channels, length):
            raise ObservationError(
                f"the observations were built for {A.channels} rows x {A.length} grid points but the model has "
                f"{channels} x {length}; read them with this model's normalization metadata"
            )
        parts.append((A, torch.as_tensor(observations.y), torch.as_tensor(observations.sigma_y)))
    if fixed:
        rows = sorted(fixed)
        A_fix = SparseObservationOperator([row_mean_terms(r, length) for r in rows], channels=channels,
                                          length=length, dtype=torch.float64)
        y_fix = torch.tensor([fixed[r] for r in rows], dtype=torch.float64)
        parts.append((A_fix, y_fix, torch.full_like(y_fix, FIXED_SIGMA)))
    A = parts[0][0] if len(parts) == 1 else StackedOperator([p[0] for p in parts])
    if hasattr(A, "to"):
        A = A.to(device=device, dtype=dtype)
    ys = [torch.as_tensor(p[1], dtype=torch.float64) for p in parts]  # each (n_i,) or (B, n_i)
    lead = torch.broadcast_shapes(*(t.shape[:-1] for t in ys))
    y = torch.cat([t.expand(*lead, t.shape[-1]) for t in ys], dim=-1).to(device=device, dtype=dtype)
    sigma_y = torch.cat([p[2].reshape(-1).to(torch.float64) for p in parts]).to(device=device, dtype=dtype)
    return A, y, sigma_y


def integrate(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Sequence[float],
    solver: Solver,
    *,
    noise: Callable[[], Tensor] | None = None,
    churn: float = 0.0,
    s_tmin: float = 0.05,
    s_tmax: float = 50.0,
    s_noise: float = 1.0,
    on_step: Callable[[int, float], None] | None = None,
) -> Tensor:
    """Run the step rule down σ_0 > … > σ_N = 0 from x at σ_0 (EDM Algorithm 2 with churn).

    Args:
        denoiser: D(x (B, C, W), σ (B,)) → (B, C, W), guided or not.
        x: initial state at σ_0, shape (B, C, W).
        sigmas: σ_0 … σ_N as floats, σ_N = 0.
        solver: the step rule.
        noise: () → ε (B, C, W), needed when ``churn > 0``.
        churn, s_tmin, s_tmax, s_noise: S_churn, S_tmin, S_tmax, S_noise of EDM Algorithm 2.
        on_step: called as on_step(i, σ_i) after step i (0-based).

    Returns:
        The state at σ_N = 0, shape (B, C, W).

    Raises:
        SamplingError: when the denoiser or the state becomes non-finite (names step and σ).
    """
    N = len(sigmas) - 1
    gamma_max = math.sqrt(2.0) - 1.0
    memory: Any = None
    for i in range(N):
        s, s_next = float(sigmas[i]), float(sigmas[i + 1])
        gamma = min(churn / N, gamma_max) if churn > 0 and s_tmin <= s <= s_tmax else 0.0
        if gamma > 0.0:
            if noise is None:
                raise ValueError("churn > 0 needs a noise source")
            s_hat = s * (1.0 + gamma)
            x = x + math.sqrt(s_hat**2 - s**2) * s_noise * noise()
            s, memory = s_hat, None  # the multistep history belongs to the unperturbed path

        def evaluate(x_: Tensor, s_: float, i: int = i) -> Tensor:
            D = denoiser(x_, torch.full((x_.shape[0],), s_, dtype=x_.dtype, device=x_.device))
            if not bool(torch.isfinite(D).all()):
                raise SamplingError(
                    f"the denoiser returned NaN/Inf at step {i + 1} of {N} (sigma = {s_:.4g}); check the "
                    "model weights, or try more steps, a smaller sigma_max or sampler='heun'"
                )
            return D

        x, memory = solver.step(evaluate, x, s, s_next, memory)
        if not bool(torch.isfinite(x).all()):
            raise SamplingError(
                f"the sampler state became NaN/Inf at step {i + 1} of {N} (sigma {s:.4g} -> {s_next:.4g}); "
                "try more steps, a smaller sigma_max or less churn"
            )
        if on_step is not None:
            on_step(i, s)
    return x


def sample(
    denoiser: Denoiser,
    *,
    num_samples: int,
    channels: int,
    length: int,
    steps: int = 32,
    sampler: str | Solver = "heun",
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    churn: float = 0.0,
    s_tmin: float = 0.05,
    s_tmax: float = 50.0,
    s_noise: float = 1.0,
    observations: ObservationSet | None = None,
    guidance: str = "mmps",
    fixed: Mapping[int, float] | None = None,
    project_scalar_rows: list[int] | None = None,
    seed: int = 0,
    first_index: int = 0,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    sigma_data: float = 0.5,
    mmps_solver: str = "auto",
    cg_iterations: int = 8,
    data_covariance: tuple | None = None,
    mmps_jacobian: str = "auto",
    mmps_network_sigma: float = 1.0,
    guidance_sigma_max: float = math.inf,
    report: Reporter | None = None,
) -> SampleResult:
    """Draw samples from the prior, or from the posterior given observations (model.md §7–8).

    Args:
        denoiser: D(x (B, C, W), σ (B,)) → (B, C, W) in normalized units (e.g. ``Precond``).
        num_samples: number of samples.
        channels, length: C rows and W grid points of one sample.
        steps: N, integration steps (N noise levels plus σ_N = 0; see ``schedule.py``).
        sampler: "euler", "heun", "midpoint", "ralston", "dpmpp_2m", or a step-rule object
            (e.g. ``RK2(alpha=0.6)``).
        sigma_min, sigma_max, rho: the EDM schedule.
        churn, s_tmin, s_tmax, s_noise: S_churn (0 = deterministic), S_tmin, S_tmax, S_noise.
        observations: y, σ_y (normalized) and the operator A; ``None`` samples the prior.
        guidance: "mmps" (default), "dps" (variance-inflated) or "none"; ignored without
            observations and fixed rows ("none" with fixed rows conditions on them with MMPS).
        fixed: {row index: normalized value} of (scalar) rows known exactly. They condition the
            other rows as near-noiseless observations of the row means (σ_y = ``FIXED_SIGMA``)
            inside the guidance, and the output holds these values exactly.
        project_scalar_rows: rows whose denoised estimate is replaced by its mean over z.
        seed: run seed (≥ 0); sample i is reproducible from (seed, first_index + i) alone.
        first_index: global index of the first sample (to extend or split a run).
        batch_size: samples per denoiser call (memory only; results do not depend on it).
        device, dtype: where and in which precision the state lives.
        sigma_data: σ_d of the normalized data (DPS inflation).
        mmps_solver, cg_iterations: "auto" | "cholesky" | "cg" and CG steps for MMPS.
        data_covariance: (U (C·W, r), λ (r,)[, ν]), the training data's covariance
            Σ = U diag(λ) Uᵀ + ν(I − UUᵀ) in normalized units (``Precond.data_covariance.factors()``);
            MMPS uses its Gaussian Jacobian where the network's cannot be trusted (``guidance/mmps.py``).
        mmps_jacobian: "auto" (data covariance above ``mmps_network_sigma`` and for inconsistent
            network updates), "network" or "data" (no backward passes).
        mmps_network_sigma: the largest σ at which "auto" uses the network's Jacobian.
        guidance_sigma_max: guide only while σ ≤ this.
        report: progress reporter; ``None`` is silent.

    Returns:
        :class:`SampleResult` with x (num_samples, C, W) on the CPU, NFE per sample, settings.

    Raises:
        ValueError: an unknown choice or an out-of-range setting (quoting it).
        SamplingError: non-finite values (names the step and σ).
    """
    if num_samples < 1 or batch_size < 1:
        raise ValueError(f"num_samples and batch_size must be positive, got {num_samples}, {batch_size}")
    if seed < 0 or first_index < 0:
        raise ValueError(f"seed and first_index must be non-negative, got {seed}, {first_index}")
    if guidance not in GUIDANCE:
        raise ValueError(f"unknown guidance {guidance!r}; choose one of {', '.join(GUIDANCE)}")
    if churn < 0 or s_noise < 0:
        raise ValueError(f"churn and s_noise must be non-negative, got {churn}, {s_noise}")
    fixed = {int(r): float(v) for r, v in (fixed or {}).items()}
    projected = sorted({int(r) for r in (project_scalar_rows or [])})
    if not all(math.isfinite(v) for v in fixed.values()):
        raise ValueError(f"fixed values must be finite, got {fixed}")
    for r in [*fixed, *projected]:
        if not 0 <= r < channels:
            raise ValueError(f"row index {r} is outside the {channels} rows of the model")
    solver = make_solver(sampler)
    sigmas = edm_sigmas(steps, sigma_min=sigma_min, sigma_max=sigma_max, rho=rho).tolist()
    device = torch.device(device)

    # Compose the denoiser. Inside the guidance only the scalar-row projection applies, so the
    # likelihood sees the projected estimate and its Jacobian; known (fixed) rows enter the guidance
    # as near-noiseless observations of their row means, so that every other row is conditioned on
    # them. Around the guidance the projection and the fixed values are imposed again, on the
    # posterior estimate D + σ²Jᵀ(...), whose correction need not be constant on a projected row nor
    # exactly the known value on a fixed one.
    counted = _Counted(denoiser)
    fixer = FixedRows(counted, fixed) if fixed else None
    inner: Denoiser = ProjectRows(counted, projected) if projected else counted

    def constrain(D: Denoiser) -> Denoiser:
        D = ProjectRows(D, projected) if projected else D
        return FixedRows(D, fixed) if fixed else D

    D: Denoiser = constrain(inner)
    if guidance == "none":
        observations = None  # the prior; known rows are still conditioned on (with MMPS)
    used_guidance = ("mmps" if guidance == "none" else guidance) if observations is not None or fixed else "none"
    guided: MMPS | DPS | None = None
    if used_guidance != "none":
        A, y, sigma_y = _guidance_observations(observations, fixed, channels, length, device, dtype)
        if used_guidance == "mmps":
            guided = MMPS(inner, A, y, sigma_y, solver=mmps_solver, cg_iterations=cg_iterations,
                          sigma_threshold=guidance_sigma_max, data_covariance=data_covariance,
                          jacobian=mmps_jacobian, network_sigma_max=mmps_network_sigma)
        else:
            guided = DPS(inner, A, y, sigma_y, sigma_data=sigma_data, sigma_threshold=guidance_sigma_max,
                         constant_rows=sorted({*projected, *fixed}), data_covariance=data_covariance)
        D = constrain(guided)

    report = resolve(report)
    chunks: list[Tensor] = []
    nfe = vjp = 0
    t0 = time.perf_counter()
    with report.progress("sampling", total=num_samples, unit="samples") as bar:
        for start in range(0, num_samples, batch_size):
            stop = min(start + batch_size, num_samples)
            noise = SampleNoise(
                seed,
                range(first_index + start, first_index + stop),
                (channels, length),
                dtype=dtype,
                device=device,
            )
            x = sigmas[0] * noise.draw()
            if fixer is not None:  # fixed rows start at v + σ_max ε: exactly in distribution
                x = x + fixer.fill(torch.zeros_like(x))
            calls0, vjp0 = counted.calls, (guided.num_vjp if guided is not None else 0)
            with torch.no_grad():
                x = integrate(
                    D,
                    x,
                    sigmas,
                    solver,
                    noise=noise.draw,
                    churn=churn,
                    s_tmin=s_tmin,
                    s_tmax=s_tmax,
                    s_noise=s_noise,
                    on_step=lambda i, s: bar.update(step=f"{i + 1}/{steps}", sigma=f"{s:.3g}"),
                )
                if fixer is not None:
                    x = fixer.fill(x)
            nfe = max(nfe, counted.calls - calls0)
            vjp = max(vjp, (guided.num_vjp if guided is not None else 0) - vjp0)
            chunks.append(x.cpu())
            bar.advance(stop - start)
    report.info(
        f"sampled {num_samples} x ({channels}, {length}) in {time.perf_counter() - t0:.1f} s, "
        f"{nfe} network evaluations per sample ({solver.name}, {steps} steps, guidance {used_guidance})"
    )

    settings: dict[str, Any] = {
        "sampler": solver.name,
        "steps": int(steps),
        "schedule": "edm-rho: N levels sigma_0=sigma_max..sigma_{N-1}=sigma_min, then sigma_N=0 (N steps)",
        "sigma_min": float(sigma_min),
        "sigma_max": float(sigma_max),
        "rho": float(rho),
        "churn": float(churn),
        "s_tmin": float(s_tmin),
        "s_tmax": float(s_tmax),
        "s_noise": float(s_noise),
        "guidance": used_guidance,
        "num_obs": int(observations.y.shape[-1]) if observations is not None else 0,
        "fixed": {str(r): v for r, v in fixed.items()},
        "project_scalar_rows": projected,
        "seed": int(seed),
        "first_index": int(first_index),
        "num_samples": int(num_samples),
        "seeding": "one torch.Generator per sample, seeded by SeedSequence([seed, index])",
        "batch_size": int(batch_size),
        "device": str(device),
        "dtype": str(dtype).removeprefix("torch."),
        "sigma_data": float(sigma_data),
        "nfe_per_sample": int(nfe),
        "vjp_per_sample": int(vjp),
    }
    if isinstance(solver, RK2):
        settings["rk2_alpha"] = solver.alpha
    if isinstance(guided, MMPS):
        settings["mmps_solver"] = "cholesky" if guided.uses_cholesky(int(guided.sigma_y.numel())) else "cg"
        settings["cg_iterations"] = int(cg_iterations)
        settings["mmps_contracted_updates"] = int(guided.num_contracted)
        settings["mmps_jacobian"] = guided.jacobian if data_covariance is not None else "network"
        settings["mmps_network_sigma"] = float(mmps_network_sigma)
        settings["mmps_data_covariance_evaluations"] = int(guided.num_data)
    if isinstance(guided, DPS):
        settings["dps_variance"] = "data covariance" if data_covariance is not None else "white"
        settings["dps_contracted_updates"] = int(guided.num_contracted)
    if guided is not None:
        settings["guidance_sigma_max"] = None if math.isinf(guidance_sigma_max) else float(guidance_sigma_max)
    return SampleResult(x=torch.cat(chunks), nfe_per_sample=int(nfe), settings=settings)
