r"""The EDM sampler: noise schedule, step rule, churn, per-sample seeds, guidance (docs/model.md §7–8).

Integrates the probability-flow ODE dx/dσ = (x − D(x; σ))/σ from x_0 = σ_max ε down the levels
of :func:`hallctl.sample.schedule.edm_sigmas` (N steps, σ_N = 0) with one of the step rules of
:mod:`hallctl.sample.solvers`. Optional stochastic churn (EDM Algorithm 2) before step i when
σ_i ∈ [S_tmin, S_tmax]:

.. math::

    \gamma_i = \min\!\Big(\frac{S_{churn}}{N}, \sqrt{2} - 1\Big),\quad
    \hat\sigma = \sigma_i (1 + \gamma_i),\quad
    \hat x = x_i + \sqrt{\hat\sigma^2 - \sigma_i^2}\; S_{noise}\, \varepsilon,

then the step goes from (x̂, σ̂) to σ_{i+1}. S_noise is applied once (upstream applied it twice).
The caller builds the three pieces, azula-style: the denoiser, a
:class:`~hallctl.sample.conditioning.Conditioning` (observations, known rows and the guidance
method that wraps the denoiser so that it returns the posterior-mean estimate: the same step rules
then sample p(x | y), §8.3) and the step rule (:mod:`hallctl.sample.solvers`).

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hallctl.errors import HallctlError
from hallctl.report import Reporter, resolve
from hallctl.sample.conditioning import Conditioning
from hallctl.sample.interfaces import Denoiser
from hallctl.sample.schedule import Schedule
from hallctl.sample.solvers import Solver

__all__ = ["SampleNoise", "SampleResult", "SamplingError", "integrate", "sample", "sample_seed"]

class SamplingError(HallctlError):
    """Sampling produced non-finite values (names the step and σ); a run-time error."""

    exit_code = 1


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


def _check(num_samples: int, batch_size: int, seed: int, first_index: int, churn: float, s_noise: float) -> None:
    if num_samples < 1 or batch_size < 1:
        raise ValueError(f"num_samples and batch_size must be positive, got {num_samples}, {batch_size}")
    if seed < 0 or first_index < 0:
        raise ValueError(f"seed and first_index must be non-negative, got {seed}, {first_index}")
    if churn < 0 or s_noise < 0:
        raise ValueError(f"churn and s_noise must be non-negative, got {churn}, {s_noise}")


def sample(
    denoiser: Denoiser,
    conditioning: Conditioning | None,
    solver: Solver,
    *,
    num_samples: int,
    shape: tuple[int, int],
    schedule: Schedule | None = None,
    churn: float = 0.0,
    s_tmin: float = 0.05,
    s_tmax: float = 50.0,
    s_noise: float = 1.0,
    seed: int = 0,
    first_index: int = 0,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    report: Reporter | None = None,
) -> SampleResult:
    """Draw samples from the prior, or from the posterior the conditioning describes (docs/model.md §7–8).

    Args:
        denoiser: D(x (B, C, W), σ (B,)) → (B, C, W) in normalized units (e.g. ``Precond``).
        conditioning: observations, known and projected rows and the guidance method; ``None`` = the prior.
        solver: the step rule (``make_solver("heun")``, ``RK2(alpha=0.6)``, ...).
        num_samples: number of samples.
        shape: (C, W), rows and grid points of one sample.
        schedule: the noise levels (default: ``Schedule()``, 32 EDM steps).
        churn, s_tmin, s_tmax, s_noise: S_churn (0 = deterministic), S_tmin, S_tmax, S_noise.
        seed: run seed (≥ 0); sample i is reproducible from (seed, first_index + i) alone.
        first_index: global index of the first sample (to extend or split a run).
        batch_size: samples per denoiser call (memory only; results do not depend on it).
        device, dtype: where and in which precision the state lives.
        report: progress reporter; ``None`` is silent.

    Returns:
        :class:`SampleResult` with x (num_samples, C, W) on the CPU, NFE per sample, settings.

    Raises:
        ValueError: an out-of-range setting (quoting it).
        SamplingError: non-finite values (names the step and σ).
    """
    _check(num_samples, batch_size, seed, first_index, churn, s_noise)
    schedule, (channels, length), device, report = schedule or Schedule(), shape, torch.device(device), resolve(report)
    sigmas = schedule.sigmas()
    conditioning = conditioning or Conditioning(method="none")
    composed = conditioning.compose(denoiser, channels, length, device=device, dtype=dtype)
    chunks: list[Tensor] = []
    nfe = vjp = 0
    t0 = time.perf_counter()
    with report.progress("sampling", total=num_samples, unit="samples") as bar:
        for start in range(0, num_samples, batch_size):
            stop = min(start + batch_size, num_samples)
            noise = SampleNoise(seed, range(first_index + start, first_index + stop), (channels, length),
                                dtype=dtype, device=device)
            x = composed.start(sigmas[0] * noise.draw())
            calls0, vjp0 = composed.network_calls, composed.backward_passes
            with torch.no_grad():
                x = integrate(composed.denoiser, x, sigmas, solver, noise=noise.draw, churn=churn, s_tmin=s_tmin,
                              s_tmax=s_tmax, s_noise=s_noise,
                              on_step=lambda i, s: bar.update(step=f"{i + 1}/{schedule.steps}", sigma=f"{s:.3g}"))
                x = composed.finish(x)
            nfe = max(nfe, composed.network_calls - calls0)
            vjp = max(vjp, composed.backward_passes - vjp0)
            chunks.append(x.cpu())
            bar.advance(stop - start)
    report.info(
        f"sampled {num_samples} x ({channels}, {length}) in {time.perf_counter() - t0:.1f} s, "
        f"{nfe} network evaluations per sample ({solver.name}, {schedule.steps} steps, guidance {composed.method})"
    )
    loop = {"churn": float(churn), "s_tmin": float(s_tmin), "s_tmax": float(s_tmax), "s_noise": float(s_noise),
            "seed": int(seed), "first_index": int(first_index), "num_samples": int(num_samples),
            "seeding": "one torch.Generator per sample, seeded by SeedSequence([seed, index])",
            "batch_size": int(batch_size), "device": str(device), "dtype": str(dtype).removeprefix("torch."),
            "nfe_per_sample": int(nfe), "vjp_per_sample": int(vjp)}
    settings = {"sampler": solver.name, **solver_settings(solver), **schedule.describe(),
                **conditioning.describe(composed), **loop}
    return SampleResult(x=torch.cat(chunks), nfe_per_sample=int(nfe), settings=settings)


def solver_settings(solver: Solver) -> dict[str, Any]:
    """What a step rule records beyond its name (RK2's α)."""
    alpha = getattr(solver, "alpha", None)
    return {"rk2_alpha": alpha} if alpha is not None else {}
