r"""Moment-matching posterior sampling (MMPS) as a denoiser wrapper (docs/model.md §8.2 (d)).

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

**Whitened, in float64.** With S = diag(σ_y) the algebra is done on Ã = S⁻¹A, i.e. in units of
each observation's own noise, where the system reads

.. math::

    (I + \tilde M)\,\tilde w = S^{-1}(y - A D), \qquad \tilde M = \sigma^2 \tilde A J \tilde A^\top,
    \qquad D_y = D + \sigma^2 J^\top \tilde A^\top \tilde w .

I + M̃ has eigenvalues ≥ 1 whatever the spread of σ_y (a 0.2 % flow next to 5 % velocities, or
the near-noiseless observations of ``--fix``), so no global floor or ridge is needed; the n × n
part runs in float64 whatever the network's precision.

**A learned J is made a valid covariance.** A network's J is neither exactly symmetric nor
positive semi-definite (beyond the noise levels it was trained on, A J Aᵀ has negative
eigenvalues, and σ²λ can cancel Σ_y). The exact path symmetrizes M̃ and projects it onto the
positive semi-definite cone (negative eigenvalues → 0), which is the nearest valid covariance
and changes nothing for an exact denoiser. The update is then checked against the moment model
it came from: for a valid covariance the correction it makes to the observed values, Ã(D_y − D),
is a contraction of the whitened residual (eigenvalues λ/(1 + λ) < 1), so where the learned
Jᵀ in the update disagrees with the projected M̃ and would move the observed values by more than
the residual itself, the whole update is scaled back to that length. Again, an exact denoiser is
never touched.

**Where the network's J cannot be trusted, the data's.** For any data distribution the exact
denoiser at large σ tends to that of a Gaussian with the data's covariance Σ, whose Jacobian is
J_G = Σ(Σ + σ²I)⁻¹ (symmetric, positive semi-definite, exact in the limit). A small network
rarely sees large σ in training, and there its J is far from a covariance: the update it implies
moves the observed values by many times the residual, in the wrong direction. With the data
covariance at hand (``data_covariance``, stored in every model file hallctl trains), MMPS uses
J_G above ``network_sigma_max`` and for any sample whose network update fails the contraction
test, and the network's J below it (``jacobian="auto"``); ``"network"`` always uses the network
(scaling inconsistent updates back), ``"data"`` always J_G, which needs no backward pass at all.
With J_G everything is analytic (``guidance/gaussian.py``): Ã U is computed once, and each
evaluation solves an n × n system.

The n × n system is assembled column by column with n products Jᵀ(Ãᵀ e_k); those n products
also give the update D_y − D = σ² Σ_k w̃_k Jᵀ Ãᵀ e_k, so the exact path costs one forward and n
backward passes per evaluation. Above ``max_exact_obs`` observations (``solver="auto"``) a
few conjugate-gradient iterations on the whitened system replace the assembly (truncated where
the curvature is not positive), plus one backward pass for the update.

References:
    Learning Diffusion Priors from Observations by Expectation Maximization
    (Rozet et al., 2024), https://arxiv.org/abs/2405.13712
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from hallctl.sample.guidance.gaussian import DataMoments
from hallctl.sample.guidance.linearize import Linearization
from hallctl.sample.guidance.problem import GuidanceOptions, GuidanceProblem
from hallctl.sample.interfaces import Denoiser, LinearOperator

__all__ = ["JACOBIANS", "MMPS", "conjugate_gradient", "contract_update", "psd_solve"]

_SOLVERS = ("auto", "cholesky", "cg")
JACOBIANS = ("auto", "network", "data")


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


def psd_solve(M: Tensor, b: Tensor) -> Tensor:
    r"""w = (I + M₊)⁻¹ b with M₊ the projection of sym(M) onto the positive semi-definite cone.

    Args:
        M: (B, n, n), any square matrices (a learned covariance in whitened units).
        b: (B, n).

    Returns:
        w, (B, n), in the dtype of ``b``. I + M₊ has eigenvalues ≥ 1, so this never fails.
    """
    lam, Q = torch.linalg.eigh(0.5 * (M + M.mT))
    coef = (Q.mT @ b[..., None])[..., 0] / (1.0 + lam.clamp_min(0.0))
    return (Q @ coef[..., None])[..., 0]


def contract_update(update: Tensor, moved: Tensor, residual: Tensor) -> Tensor:
    """Scale each sample's ``update`` so that the observed values it moves, ``moved`` (whitened,
    (B, n)), move by no more than the whitened ``residual`` (B, n) in Euclidean length.

    For a valid covariance the Kalman correction is a contraction of the residual, so this is the
    identity for an exact denoiser and a brake where a learned Jacobian is inconsistent.
    """
    norm_moved = torch.linalg.vector_norm(moved, dim=-1)
    norm_res = (1 + 1e-6) * torch.linalg.vector_norm(residual, dim=-1)
    scale = torch.where(norm_moved > norm_res, norm_res / norm_moved.clamp_min(1e-300), torch.ones_like(norm_res))
    return update * scale.to(update.dtype).reshape(-1, *([1] * (update.ndim - 1)))


@dataclass
class MMPS:
    """MMPS-guided denoiser D_y(x, σ) (see the module docstring).

    Args:
        denoiser: D(x (B, C, W), σ (B,)) → (B, C, W), the prior denoiser.
        A: observation operator (B, C, W) → (B, n) with ``adjoint``, in normalized units.
        y: observations, shape (n,) or (B, n), normalized units.
        sigma_y: observation noise standard deviations, shape (n,), normalized units (Σ_y = diag σ_y²),
            all positive.
        solver: "auto", "cholesky" (assemble the n × n system with n backward passes) or "cg".
        cg_iterations: CG steps for ``solver="cg"`` (at most n are used).
        max_exact_obs: with "auto", assemble exactly when n ≤ this.
        sigma_threshold: guide only while σ ≤ this (default: always).
        data_covariance: (U (C·W, r), λ (r,)[, ν]) with the data covariance Σ = U diag(λ) Uᵀ + ν(I − UUᵀ)
            in normalized units (ν = 0 when omitted), or None (then only the network's J is used).
        jacobian: "auto", "network" or "data" (module docstring).
        network_sigma_max: with "auto", the largest σ at which the network's J is used.

    Attributes:
        num_vjp: backward passes taken so far (per batch, i.e. per sample).
        num_contracted: evaluations × samples whose network update failed the contraction test
            (a learned Jacobian inconsistent with its own covariance); 0 for an exact denoiser.
            Those updates were replaced by the data-covariance one where it is available, else
            scaled back.
        num_data: evaluations × samples that used the data covariance.
    """

    denoiser: Denoiser
    A: LinearOperator
    y: Tensor
    sigma_y: Tensor
    solver: str = "auto"
    cg_iterations: int = 8
    max_exact_obs: int = 64
    sigma_threshold: float = math.inf
    data_covariance: tuple | None = None
    jacobian: str = "auto"
    network_sigma_max: float = 1.0
    num_vjp: int = field(default=0, init=False)
    num_contracted: int = field(default=0, init=False)
    num_data: int = field(default=0, init=False)
    _moments: DataMoments | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.solver not in _SOLVERS:
            raise ValueError(f"unknown MMPS solver {self.solver!r}; choose one of {', '.join(_SOLVERS)}")
        if self.cg_iterations < 1:
            raise ValueError(f"cg_iterations must be at least 1, got {self.cg_iterations!r}")
        if not bool((torch.as_tensor(self.sigma_y) > 0).all()):
            raise ValueError("every observation needs a positive noise standard deviation sigma_y")
        if self.jacobian not in JACOBIANS:
            raise ValueError(f"unknown MMPS jacobian {self.jacobian!r}; choose one of {', '.join(JACOBIANS)}")
        if self.jacobian == "data" and self.data_covariance is None:
            raise ValueError("MMPS jacobian='data' needs the data covariance (models trained by hallctl carry it)")

    @classmethod
    def build(cls, denoiser: Denoiser, problem: GuidanceProblem, options: GuidanceOptions) -> MMPS:
        """MMPS on ``problem`` with the MMPS options (the registry's constructor)."""
        return cls(denoiser, problem.A, problem.y, problem.sigma_y, solver=options.mmps_solver,
                   cg_iterations=options.cg_iterations, sigma_threshold=options.sigma_max,
                   data_covariance=problem.data_covariance, jacobian=options.mmps_jacobian,
                   network_sigma_max=options.mmps_network_sigma)

    def describe(self) -> dict[str, Any]:
        """Settings and counters recorded with the samples."""
        return {"mmps_solver": "cholesky" if self.uses_cholesky(int(self.sigma_y.numel())) else "cg",
                "cg_iterations": int(self.cg_iterations), "mmps_contracted_updates": int(self.num_contracted),
                "mmps_jacobian": self.jacobian if self.data_covariance is not None else "network",
                "mmps_network_sigma": float(self.network_sigma_max),
                "mmps_data_covariance_evaluations": int(self.num_data)}

    def uses_cholesky(self, n: int) -> bool:
        """Whether the n × n system is assembled and factorized (else solved by CG)."""
        return self.solver == "cholesky" or (self.solver == "auto" and n <= self.max_exact_obs)

    def _uses_data(self, sigma: Tensor) -> bool:
        if self.data_covariance is None or self.jacobian == "network":
            return False
        return self.jacobian == "data" or float(sigma.min()) > self.network_sigma_max

    def _data_update(self, D: Tensor, sigma: Tensor, r: Tensor) -> tuple[Tensor, Tensor]:
        """(update, moved) with J = J_G of the data covariance (``guidance/gaussian.py``); r is the
        whitened residual (B, n)."""
        if self._moments is None:
            self._moments = DataMoments(self.data_covariance, self.A, self.sigma_y, (D.shape[1], D.shape[2]))
        M = self._moments.system(sigma, D)
        w = psd_solve(M, r)
        return self._moments.update(w, sigma, D), (M @ w[..., None])[..., 0]

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        if float(sigma.max()) > self.sigma_threshold:
            return self.denoiser(x, sigma)
        f64 = torch.float64
        s_y = self.sigma_y.to(device=x.device, dtype=f64)  # (n,)

        def whitened_residual(D: Tensor) -> Tensor:  # S⁻¹(y − A D), (B, n) float64
            return (self.y.to(device=D.device, dtype=f64) - self.A(D).to(f64)) / s_y

        if self._uses_data(sigma):
            with torch.no_grad():
                D = self.denoiser(x, sigma)
                update, _ = self._data_update(D, sigma, whitened_residual(D))
            self.num_data += D.shape[0]
            return D + update
        lin = Linearization(self.denoiser, x, sigma)
        with torch.no_grad():
            A, D = self.A, lin.D
            s2 = sigma.to(device=D.device, dtype=f64) ** 2  # (B,)
            r = whitened_residual(D)
            B, n = r.shape

            def A_w(v: Tensor) -> Tensor:  # Ã v = S⁻¹ A v, (B, C, W) → (B, n) float64
                return A(v).to(f64) / s_y

            def At_w(u: Tensor) -> Tensor:  # Ãᵀ u, (B, n) float64 → (B, C, W) in D's dtype
                return A.adjoint((u / s_y).to(D.dtype))

            if self.uses_cholesky(n):
                eye = torch.eye(n, dtype=f64, device=D.device)
                cols = [lin.vjp(At_w(eye[k].expand(B, n)), last=k == n - 1) for k in range(n)]  # Jᵀ Ãᵀ e_k
                V = torch.stack(cols, dim=1)  # (B, n, C, W)
                M = s2[:, None, None] * torch.stack([A_w(v) for v in cols], dim=-1)  # (B, n, n): M̃ (raw)
                w = psd_solve(M, r)
                update = s2.to(D.dtype)[:, None, None] * torch.einsum("bk,bkcw->bcw", w.to(D.dtype), V)
                moved = (M @ w[..., None])[..., 0]  # Ã (D_y − D), from the same products
            else:
                w = conjugate_gradient(lambda u: u + s2[:, None] * A_w(lin.vjp(At_w(u))), r,
                                       min(self.cg_iterations, n))
                update = s2.to(D.dtype)[:, None, None] * lin.vjp(At_w(w), last=True)
                moved = A_w(update)
            self.num_vjp += lin.num_vjp
            bad = torch.linalg.vector_norm(moved, dim=-1) > (1 + 1e-6) * torch.linalg.vector_norm(r, dim=-1)
            self.num_contracted += int(bad.sum())
            if bool(bad.any()) and self.data_covariance is not None and self.jacobian == "auto":
                fallback, _ = self._data_update(D, sigma, r)
                self.num_data += int(bad.sum())
                return D + torch.where(bad[:, None, None], fallback, update)
            return D + contract_update(update, moved, r)
