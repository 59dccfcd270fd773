r"""Variance-inflated diffusion posterior sampling (DPS baseline) as a denoiser wrapper.

DPS replaces p(x_0 | x_σ) by a point mass at D; the ΠGDM-style inflation used here (model.md
§8.2 (b)) instead treats it as N(D, r_σ² I) with the variance of Gaussian data of per-entry
variance σ_d²,

.. math::

    r_\sigma^2 = \frac{\sigma_d^2 \sigma^2}{\sigma^2 + \sigma_d^2}, \qquad
    p(y \mid x_\sigma) \approx \mathcal{N}\big(y;\ A D,\ \Sigma_y + r_\sigma^2\,\mathrm{diag}(A A^\top)\big),

    \nabla_{x_\sigma} \log p(y \mid x_\sigma) \approx J^\top A^\top
        \big(\Sigma_y + r_\sigma^2\,\mathrm{diag}(A A^\top)\big)^{-1} (y - A D),

and returns the posterior-mean estimate D + σ² ∇ log p(y | x_σ) (§8.3). There is no step-size
constant ζ and no division by ‖y − A D‖ as in the DPS paper's code; the inflation keeps the
high-σ steps from over-fitting. One forward and one backward pass per evaluation. For
isotropic Gaussian data of variance σ_d² and non-overlapping point observations it is exact.

References:
    Diffusion Posterior Sampling for General Noisy Inverse Problems (Chung et al., 2022),
    https://arxiv.org/abs/2209.14687

    Pseudoinverse-Guided Diffusion Models for Inverse Problems (Song et al., ICLR 2023),
    https://openreview.net/forum?id=9_gsMA8MRKQ
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from hallctl.sample.guidance.linearize import Linearization
from hallctl.sample.interfaces import Denoiser, LinearOperator

__all__ = ["DPS"]


@dataclass
class DPS:
    """Variance-inflated DPS-guided denoiser (see the module docstring).

    Args:
        denoiser: D(x (B, C, W), σ (B,)) → (B, C, W), the prior denoiser.
        A: observation operator (B, C, W) → (B, n) with ``adjoint`` and ``diag_AAt``.
        y: observations, shape (n,) or (B, n), normalized units.
        sigma_y: observation noise standard deviations, shape (n,), normalized units.
        sigma_data: σ_d, the data standard deviation the rows were normalized to (0.5).
        sigma_threshold: guide only while σ ≤ this (default: always).

    Attributes:
        num_vjp: backward passes taken so far (per batch, i.e. per sample).
    """

    denoiser: Denoiser
    A: LinearOperator
    y: Tensor
    sigma_y: Tensor
    sigma_data: float = 0.5
    sigma_threshold: float = math.inf
    num_vjp: int = field(default=0, init=False)

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        if float(sigma.max()) > self.sigma_threshold:
            return self.denoiser(x, sigma)
        lin = Linearization(self.denoiser, x, sigma)
        with torch.no_grad():
            D = lin.D
            s2 = sigma.to(D) ** 2  # (B,)
            r2 = self.sigma_data**2 * s2 / (s2 + self.sigma_data**2)  # r_σ², (B,)
            var = self.sigma_y.to(D) ** 2 + r2[:, None] * self.A.diag_AAt().to(D)  # (B, n)
            w = (self.y.to(D) - self.A(D)) / var
            score = lin.vjp(self.A.adjoint(w), last=True)
            self.num_vjp += lin.num_vjp
            return D + s2[:, None, None] * score
