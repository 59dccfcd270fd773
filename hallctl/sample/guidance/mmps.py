r"""Moment-matching posterior sampling (MMPS) as a denoiser wrapper (model.md §8.2 (d)).

Tweedie's second-order identity gives Cov[x_0 | x_σ] = σ² J with J = ∂D/∂x_σ. Matching the
first two moments of p(x_0 | x_σ) with a Gaussian gives the likelihood and its score

.. math::

    p(y \mid x_\sigma) \approx \mathcal{N}\big(y;\ A D,\ \Sigma_y + \sigma^2 A J A^\top\big),
    \qquad
    \nabla_{x_\sigma} \log p(y \mid x_\sigma) \approx J^\top A^\top
        \big(\Sigma_y + \sigma^2 A J A^\top\big)^{-1} (y - A D),

and the wrapper returns the posterior-mean estimate (Tweedie applied to p(x_σ | y))

.. math::

    D_y(x_\sigma; \sigma) = D + \sigma^2 \nabla_{x_\sigma} \log p(y \mid x_\sigma),

so any ODE step built on (x − D_y)/σ integrates the posterior flow with the guidance scaled by
the step (§8.3) and no tuning constant. For a Gaussian prior this is exact.

The n × n system is solved either exactly — A J Aᵀ assembled column by column with n products
Jᵀ(Aᵀ e_k) (J symmetric), symmetrized, Cholesky — or with a few conjugate-gradient iterations,
one product each. ``solver="auto"`` assembles when n ≤ ``max_exact_obs``. Cost per evaluation:
one forward pass and (n or iterations) + 1 backward passes.

A learned J is not exactly symmetric positive semi-definite: beyond the noise levels a network
was trained on, A J Aᵀ has negative eigenvalues, σ²λ can cancel Σ_y, and a few samples are thrown
far off the data. The exact path therefore holds the eigenvalues of A J Aᵀ above ``eig_floor``
times those of white data of variance σ_d² (σ_d²/(σ² + σ_d²)·mean diag(A Aᵀ)); the CG path adds
that floor as a ridge, which does not repair an indefinite J — prefer the exact path (the default
for up to ``max_exact_obs`` observations).

References:
    Learning Diffusion Priors from Observations by Expectation Maximization
    (Rozet et al., 2024), https://arxiv.org/abs/2405.13712
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from hallctl.sample.guidance.linearize import Linearization
from hallctl.sample.interfaces import Denoiser, LinearOperator

__all__ = ["MMPS", "conjugate_gradient"]

_SOLVERS = ("auto", "cholesky", "cg")


def conjugate_gradient(matvec: Callable[[Tensor], Tensor], b: Tensor, iterations: int) -> Tensor:
    """Solve G w = b for a batch of symmetric positive-definite G by a fixed number of CG steps.

    Args:
        matvec: u (B, n) ↦ G u (B, n).
        b: right-hand sides, shape (B, n).
        iterations: CG steps (each one ``matvec``); n steps solve exactly in exact arithmetic.

    Returns:
        w, shape (B, n). A sample whose residual vanishes, or which meets a direction of
        non-positive curvature pᵀGp (a learned J need not be positive definite), keeps its
        current iterate from then on (truncated CG) instead of dividing by zero or diverging.
    """
    w = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rs = (r * r).sum(dim=-1, keepdim=True)
    active = torch.ones_like(rs, dtype=torch.bool)
    tiny = torch.finfo(b.dtype).tiny
    for _ in range(iterations):
        Gp = matvec(p)
        pGp = (p * Gp).sum(dim=-1, keepdim=True)
        active = active & (pGp > 0) & (rs > 0)
        alpha = torch.where(active, rs / pGp.clamp_min(tiny), torch.zeros_like(rs))
        w = w + alpha * p
        r = r - alpha * Gp
        rs_new = (r * r).sum(dim=-1, keepdim=True)
        beta = torch.where(active, rs_new / rs.clamp_min(tiny), torch.zeros_like(rs))
        p = r + beta * p
        rs = rs_new
    return w


@dataclass
class MMPS:
    """MMPS-guided denoiser D_y(x, σ) (see the module docstring).

    Args:
        denoiser: D(x (B, C, W), σ (B,)) → (B, C, W), the prior denoiser.
        A: observation operator (B, C, W) → (B, n) with ``adjoint``, in normalized units.
        y: observations, shape (n,) or (B, n), normalized units.
        sigma_y: observation noise standard deviations, shape (n,), normalized units (Σ_y = diag σ_y²).
        solver: "auto", "cholesky" (assemble A J Aᵀ with n backward passes) or "cg".
        cg_iterations: CG steps for ``solver="cg"`` (at most n are used).
        max_exact_obs: with "auto", assemble exactly when n ≤ this.
        sigma_data: σ_d of the data (sets the eigenvalue floor's scale).
        eig_floor: eigenvalues of A J Aᵀ are held above eig_floor·σ_d²/(σ² + σ_d²)·mean diag(A Aᵀ)
            (the CG path adds that as a ridge instead); 0 turns the floor off.
        sigma_threshold: guide only while σ ≤ this (default: always).

    Attributes:
        num_vjp: backward passes taken so far (per batch, i.e. per sample).
    """

    denoiser: Denoiser
    A: LinearOperator
    y: Tensor
    sigma_y: Tensor
    solver: str = "auto"
    cg_iterations: int = 5
    max_exact_obs: int = 64
    sigma_threshold: float = math.inf
    sigma_data: float = 0.5
    eig_floor: float = 0.1
    num_vjp: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.solver not in _SOLVERS:
            raise ValueError(f"unknown MMPS solver {self.solver!r}; choose one of {', '.join(_SOLVERS)}")
        if self.cg_iterations < 1:
            raise ValueError(f"cg_iterations must be at least 1, got {self.cg_iterations!r}")

    def uses_cholesky(self, n: int) -> bool:
        """Whether the n × n system is assembled and factorized (else solved by CG)."""
        return self.solver == "cholesky" or (self.solver == "auto" and n <= self.max_exact_obs)

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        if float(sigma.max()) > self.sigma_threshold:
            return self.denoiser(x, sigma)
        lin = Linearization(self.denoiser, x, sigma)
        with torch.no_grad():
            A, D = self.A, lin.D
            var_y = self.sigma_y.to(D) ** 2  # (n,)
            s2 = sigma.to(D) ** 2  # (B,)
            r = self.y.to(D) - A(D)  # (B, n)
            B, n = r.shape
            # The Tweedie covariance σ²J must be positive semi-definite, but a learned J need not be
            # (its eigenvalues in observation space go negative at large σ, where σ²λ can cancel Σ_y
            # and send a few samples far off the data manifold). Eigenvalues are therefore held
            # above a floor: ``eig_floor`` times those of Gaussian data of variance σ_d²,
            # σ_d²/(σ² + σ_d²) · mean diag(A Aᵀ).
            floor = self.eig_floor * (self.sigma_data**2 / (s2 + self.sigma_data**2)) * A.diag_AAt().to(D).mean()
            if self.uses_cholesky(n):
                # Columns of A Jᵀ Aᵀ: one backward pass per observation.
                eye = torch.eye(n, dtype=D.dtype, device=D.device)
                cols = [A(lin.vjp(A.adjoint(eye[k].expand(B, n)))) for k in range(n)]
                M = torch.stack(cols, dim=-1)  # (B, n, n)
                lam, V = torch.linalg.eigh(0.5 * (M + M.mT))
                lam = torch.maximum(lam, floor[:, None])
                G = torch.diag_embed(var_y.expand(B, n)) + s2[:, None, None] * ((V * lam[..., None, :]) @ V.mT)
                w = torch.cholesky_solve(r[..., None], torch.linalg.cholesky(G))[..., 0]
            else:
                w = conjugate_gradient(
                    lambda u: var_y * u + s2[:, None] * (A(lin.vjp(A.adjoint(u))) + floor[:, None] * u),
                    r,
                    min(self.cg_iterations, n),
                )
            score = lin.vjp(A.adjoint(w), last=True)  # Jᵀ Aᵀ w = ∇ log p(y | x_σ)
            self.num_vjp += lin.num_vjp
            return D + s2[:, None, None] * score
