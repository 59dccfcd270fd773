r"""Variance-inflated diffusion posterior sampling (DPS baseline) as a denoiser wrapper.

DPS replaces p(x_0 | x_σ) by a point mass at D; the ΠGDM-style inflation used here (docs/model.md
§8.2 (b)) instead gives p(x_0 | x_σ) the covariance it would have for data without structure
beyond what the model's layout guarantees: profile rows white with per-entry variance σ_d², scalar
rows constant along z with variance σ_d². Given x_σ (every entry seen with noise σ), that is

.. math::

    r_\sigma^2 = \frac{\sigma_d^2 \sigma^2}{\sigma^2 + \sigma_d^2}\ \text{(profile entry)}, \qquad
    c_\sigma^2 = \frac{\sigma_d^2 \sigma^2}{\sigma^2 + W \sigma_d^2}\ \text{(scalar row: W noisy copies)},

so an observation a_k (a row of A) has the variance
v_k = r_σ² Σ_{profile entries} a_kj² + c_σ² Σ_{scalar rows r} (Σ_j a_k,rj)², and

.. math::

    \nabla_{x_\sigma} \log p(y \mid x_\sigma) \approx J^\top A^\top
        \big(\Sigma_y + \mathrm{diag}(v)\big)^{-1} (y - A D).

The wrapper returns the posterior-mean estimate D + σ² ∇ log p(y | x_σ) (§8.3). There is no
step-size constant ζ and no division by ‖y − A D‖ as in the DPS paper's code; the inflation keeps
the high-σ steps from over-fitting. One forward and one backward pass per evaluation.

It is exact for data of exactly that structure (white profiles, constant scalar rows) and
non-overlapping observations. Smooth, correlated profiles have a much smaller Var[x_0 | x_σ] at a
point than r_σ², and correlated observations, which that model cannot see.

**With the data covariance** (``data_covariance``, stored in every model file hallctl trains) the
variance model is the Gaussian with the data's covariance instead: the full n × n matrix
Σ_y + σ² A J_G Aᵀ (``guidance/gaussian.py``, no backward pass), solved whitened in float64, with the
network's own Jᵀ for the direction, still one backward pass. That is exact for Gaussian data of
that covariance, smooth and correlated ones included (``tests/sample/test_exact_posterior.py``).
Where a network's Jᵀ is inconsistent with that covariance (an update that moves the observed
values by more than their residual, as at noise levels it was rarely trained on) the update is
scaled back to the residual's length.

References:
    Diffusion Posterior Sampling for General Noisy Inverse Problems (Chung et al., 2022),
    https://arxiv.org/abs/2209.14687

    Pseudoinverse-Guided Diffusion Models for Inverse Problems (Song et al., ICLR 2023),
    https://openreview.net/forum?id=9_gsMA8MRKQ
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from hallctl.sample.guidance.gaussian import DataMoments
from hallctl.sample.guidance.linearize import Linearization
from hallctl.sample.guidance.mmps import contract_update, psd_solve
from hallctl.sample.guidance.problem import GuidanceOptions, GuidanceProblem
from hallctl.sample.interfaces import Denoiser, LinearOperator

__all__ = ["DPS", "observation_weights"]


def observation_weights(A: LinearOperator, channels: int, length: int, constant_rows: Sequence[int]) -> Tensor:
    """(Σ_profile a_kj², Σ_scalar rows (Σ_j a_k,rj)²) of every observation k, shape (2, n), float64."""
    n = int(A.diag_AAt().numel())
    eye = torch.eye(n, dtype=torch.float64)
    rows = A.adjoint(eye.to(A.diag_AAt().dtype)).to(torch.float64)  # (n, C, W): a_k as tensors
    const = torch.zeros(channels, dtype=torch.bool)
    const[list(constant_rows)] = True
    white = (rows[:, ~const] ** 2).sum(dim=(1, 2))
    constant = (rows[:, const].sum(dim=-1) ** 2).sum(dim=-1)
    return torch.stack([white, constant])


@dataclass
class DPS:
    """Variance-inflated DPS-guided denoiser (see the module docstring).

    Args:
        denoiser: D(x (B, C, W), σ (B,)) → (B, C, W), the prior denoiser.
        A: observation operator (B, C, W) → (B, n) with ``adjoint`` and ``diag_AAt``.
        y: observations, shape (n,) or (B, n), normalized units.
        sigma_y: observation noise standard deviations, shape (n,), normalized units.
        sigma_data: σ_d, the data standard deviation the rows were normalized to (0.5).
        constant_rows: scalar rows (constant along z), whose observations get c_σ².
        sigma_threshold: guide only while σ ≤ this (default: always).
        data_covariance: (U, λ[, ν]) of the data (see ``guidance/mmps.py``), or None for the
            white-data variance model.

    Attributes:
        num_vjp: backward passes taken so far (per batch, i.e. per sample).
        num_contracted: evaluations × samples whose update was scaled back (data covariance only).
    """

    denoiser: Denoiser
    A: LinearOperator
    y: Tensor
    sigma_y: Tensor
    sigma_data: float = 0.5
    constant_rows: Sequence[int] = ()
    sigma_threshold: float = math.inf
    data_covariance: tuple | None = None
    num_vjp: int = field(default=0, init=False)
    num_contracted: int = field(default=0, init=False)
    _weights: Tensor | None = field(default=None, init=False, repr=False)
    _moments: DataMoments | None = field(default=None, init=False, repr=False)

    @classmethod
    def build(cls, denoiser: Denoiser, problem: GuidanceProblem, options: GuidanceOptions) -> DPS:
        """DPS on ``problem`` (the registry's constructor)."""
        return cls(denoiser, problem.A, problem.y, problem.sigma_y, sigma_data=problem.sigma_data,
                   sigma_threshold=options.sigma_max, constant_rows=list(problem.constant_rows),
                   data_covariance=problem.data_covariance)

    def describe(self) -> dict[str, Any]:
        """Settings and counters recorded with the samples."""
        return {"dps_variance": "data covariance" if self.data_covariance is not None else "white",
                "dps_contracted_updates": int(self.num_contracted)}

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        if float(sigma.max()) > self.sigma_threshold:
            return self.denoiser(x, sigma)
        lin = Linearization(self.denoiser, x, sigma)
        if self.data_covariance is not None:
            return self._covariance_guided(lin, sigma)
        with torch.no_grad():
            D = lin.D
            if self._weights is None:
                self._weights = observation_weights(self.A, D.shape[1], D.shape[2], self.constant_rows)
            white, constant = self._weights.to(D)
            s2, sd2, W = sigma.to(D) ** 2, self.sigma_data**2, D.shape[2]
            r2 = sd2 * s2 / (s2 + sd2)  # r_σ², (B,)
            c2 = sd2 * s2 / (s2 + W * sd2)  # c_σ², (B,)
            var = self.sigma_y.to(D) ** 2 + r2[:, None] * white + c2[:, None] * constant  # (B, n)
            w = (self.y.to(D) - self.A(D)) / var
            score = lin.vjp(self.A.adjoint(w), last=True)
            self.num_vjp += lin.num_vjp
            return D + s2[:, None, None] * score

    def _covariance_guided(self, lin: Linearization, sigma: Tensor) -> Tensor:
        """D + σ² Jᵀ Ãᵀ (I + σ² Ã J_G Ãᵀ)⁻¹ S⁻¹(y − A D), scaled back where inconsistent."""
        with torch.no_grad():
            D, f64 = lin.D, torch.float64
            if self._moments is None:
                self._moments = DataMoments(self.data_covariance, self.A, self.sigma_y, (D.shape[1], D.shape[2]))
            s_y = self.sigma_y.to(device=D.device, dtype=f64)
            r = (self.y.to(device=D.device, dtype=f64) - self.A(D).to(f64)) / s_y  # whitened residual
            w = psd_solve(self._moments.system(sigma, D), r)
            s2 = sigma.to(D.dtype) ** 2
            update = s2[:, None, None] * lin.vjp(self.A.adjoint((w / s_y).to(D.dtype)), last=True)
            self.num_vjp += lin.num_vjp
            moved = self.A(update).to(f64) / s_y
            self.num_contracted += int((torch.linalg.vector_norm(moved, dim=-1)
                                        > (1 + 1e-6) * torch.linalg.vector_norm(r, dim=-1)).sum())
            return D + contract_update(update, moved, r)
