r"""One-step rules for the probability-flow ODE in the EDM parameterization (docs/model.md §7).

.. math::

    \frac{dx}{d\sigma} = \frac{x - D(x; \sigma)}{\sigma}

A step moves the state from σ to σ' < σ with h = σ' − σ. Each rule is a small frozen dataclass
with ``step(D, x, sigma, sigma_next, memory) -> (x_next, memory)``; ``D(x, s)`` evaluates the
(possibly guided) denoiser at the float noise level ``s``, and ``memory`` is whatever the rule
carries to the next step (``None`` at the start and after a churn perturbation, which moves the
state off the trajectory the memory belongs to). A guided denoiser returns the posterior-mean
estimate, so guidance enters every stage with the right σ-scaling automatically (§8.3).

References:
    Elucidating the Design Space of Diffusion-Based Generative Models (Karras et al., 2022),
    https://arxiv.org/abs/2206.00364 — Algorithm 1 (Heun), Eq. (1) and §3 (general RK2).

    DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic Models
    (Lu et al., 2022), https://arxiv.org/abs/2211.01095 — Algorithm 2 (2M).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from torch import Tensor

__all__ = ["RK2", "SOLVERS", "DPMSolver2M", "Euler", "Evaluate", "Solver", "make_solver"]

Evaluate = Callable[[Tensor, float], Tensor]
"""``D(x, sigma)``: the denoised estimate for state x (B, C, W) at the float noise level σ."""


class Solver(Protocol):
    """A one-step ODE rule (see the module docstring)."""

    name: str

    def nfe(self, num_steps: int) -> int:
        """Denoiser evaluations per sample for ``num_steps`` steps ending at σ = 0."""
        ...

    def step(self, D: Evaluate, x: Tensor, sigma: float, sigma_next: float, memory: Any) -> tuple[Tensor, Any]:
        """Advance x (B, C, W) from σ to σ_next (< σ, possibly 0); return (x_next, memory)."""
        ...


@dataclass(frozen=True)
class Euler:
    r"""First-order step :math:`x' = x + h\,(x - D(x;\sigma))/\sigma`, one evaluation per step."""

    name: str = "euler"

    def nfe(self, num_steps: int) -> int:
        return num_steps

    def step(self, D: Evaluate, x: Tensor, sigma: float, sigma_next: float, memory: Any) -> tuple[Tensor, Any]:
        d = (x - D(x, sigma)) / sigma
        return x + (sigma_next - sigma) * d, None


@dataclass(frozen=True)
class RK2:
    r"""General explicit second-order Runge–Kutta step with stage position α (EDM §3).

    .. math::

        d_1 = \frac{x - D(x;\sigma)}{\sigma},\quad
        x_\alpha = x + \alpha h\, d_1,\quad
        d_\alpha = \frac{x_\alpha - D(x_\alpha;\sigma + \alpha h)}{\sigma + \alpha h},\quad
        x' = x + h\Big[\big(1 - \tfrac{1}{2\alpha}\big) d_1 + \tfrac{1}{2\alpha} d_\alpha\Big]

    α = 1 is Heun (EDM Algorithm 1), ½ the midpoint rule (upstream's default), ⅔ Ralston.
    The second stage is skipped (an Euler step) only when it would sit at σ = 0, i.e. for α = 1
    on the last step: Heun costs 2N − 1 evaluations, any α < 1 costs 2N.

    Args:
        alpha: α ∈ (0, 1], the relative position of the second stage.
    """

    alpha: float = 1.0
    name: str = "rk2"

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"RK2 stage position alpha must be in (0, 1], got {self.alpha!r}")

    def nfe(self, num_steps: int) -> int:
        return 2 * num_steps - (1 if self.alpha == 1.0 else 0)

    def step(self, D: Evaluate, x: Tensor, sigma: float, sigma_next: float, memory: Any) -> tuple[Tensor, Any]:
        h = sigma_next - sigma
        d1 = (x - D(x, sigma)) / sigma
        s_alpha = sigma + self.alpha * h
        if s_alpha <= 0.0:  # Heun's last step: d is undefined at σ = 0
            return x + h * d1, None
        x_alpha = x + self.alpha * h * d1
        d_alpha = (x_alpha - D(x_alpha, s_alpha)) / s_alpha
        w = 1.0 / (2.0 * self.alpha)
        return x + h * ((1.0 - w) * d1 + w * d_alpha), None


@dataclass(frozen=True)
class DPMSolver2M:
    r"""DPM-Solver++(2M) in σ-space (data prediction, multistep), one evaluation per step.

    With λ = −ln σ, h_i = ln(σ_i/σ_{i+1}), D_i = D(x_i; σ_i) and r = h_{i−1}/h_i:

    .. math::

        D' = \Big(1 + \frac{1}{2r}\Big) D_i - \frac{1}{2r} D_{i-1}, \qquad
        x_{i+1} = \frac{\sigma_{i+1}}{\sigma_i} x_i + \Big(1 - \frac{\sigma_{i+1}}{\sigma_i}\Big) D'

    The first step, any step after a churn perturbation (no valid history) and the step into
    σ = 0 use D' = D_i (first order; into σ = 0 this returns x_{i+1} = D_i).
    The memory is (D_i, σ_i) of the last evaluation.
    """

    name: str = "dpmpp_2m"

    def nfe(self, num_steps: int) -> int:
        return num_steps

    def step(self, D: Evaluate, x: Tensor, sigma: float, sigma_next: float, memory: Any) -> tuple[Tensor, Any]:
        D_i = D(x, sigma)
        D_prime = D_i
        if memory is not None and sigma_next > 0.0:
            D_prev, sigma_prev = memory
            h = math.log(sigma / sigma_next)
            h_prev = math.log(sigma_prev / sigma)
            if h_prev > 0.0:
                r = h_prev / h
                D_prime = (1.0 + 1.0 / (2.0 * r)) * D_i - (1.0 / (2.0 * r)) * D_prev
        ratio = sigma_next / sigma
        return ratio * x + (1.0 - ratio) * D_prime, (D_i, sigma)


SOLVERS: dict[str, Callable[[], Solver]] = {
    "euler": Euler,
    "heun": lambda: RK2(alpha=1.0, name="heun"),
    "midpoint": lambda: RK2(alpha=0.5, name="midpoint"),
    "ralston": lambda: RK2(alpha=2.0 / 3.0, name="ralston"),
    "dpmpp_2m": DPMSolver2M,
}
"""Built-in step rules by name (``sample(sampler=...)`` and the project file pick from these)."""


def make_solver(sampler: str | Solver) -> Solver:
    """The step rule named ``sampler`` (a key of :data:`SOLVERS`), or ``sampler`` itself."""
    if not isinstance(sampler, str):
        return sampler
    key = sampler.strip().lower()
    key = {"dpm++2m": "dpmpp_2m", "dpm++(2m)": "dpmpp_2m", "dpmpp2m": "dpmpp_2m"}.get(key, key)
    if key not in SOLVERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {', '.join(SOLVERS)}")
    return SOLVERS[key]()
