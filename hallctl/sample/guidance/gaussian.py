r"""The Gaussian moments of the training data, seen through the observations (docs/model.md §8.2).

For data with covariance Σ = U diag(λ) Uᵀ + ν(I − UUᵀ) (``hallctl.model.moments``) the exact
denoiser of the matching Gaussian has the Jacobian

.. math::

    J_G = \Sigma(\Sigma + \sigma^2 I)^{-1} = U\,\mathrm{diag}(g)\,U^\top + g_\nu (I - U U^\top),
    \qquad g = \frac{\lambda}{\lambda + \sigma^2},\ g_\nu = \frac{\nu}{\nu + \sigma^2},

which is the large-σ limit of every data distribution's. With the whitened operator Ã = S⁻¹A
(S = diag σ_y) this gives, without a single backward pass, the covariance of the observations
given x_σ, M̃ = σ² Ã J_G Ãᵀ (positive semi-definite), and the update σ² J_G Ãᵀ w. Ã U and Ã Ãᵀ
are computed once per observation set.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hallctl.sample.interfaces import LinearOperator

__all__ = ["DataMoments"]


class DataMoments:
    """M̃(σ) and σ² J_G Ãᵀ w for one observation set (see the module docstring).

    Args:
        covariance: (U (C·W, r), λ (r,)[, ν]) in normalized units.
        A: the observation operator; sigma_y: its noise standard deviations (n,).
        shape: (C, W) of one sample.
    """

    def __init__(self, covariance: tuple, A: LinearOperator, sigma_y: Tensor, shape: tuple[int, int]) -> None:
        U, lam, *rest = covariance
        self.U, self.lam = U.to(torch.float64), lam.to(torch.float64)
        self.nu = float(rest[0]) if rest else 0.0
        self.A, self.shape = A, tuple(shape)
        self.s_y = torch.as_tensor(sigma_y).to(torch.float64)
        self._AU: Tensor | None = None
        self._AAt: Tensor | None = None

    def _prepare(self, like: Tensor) -> None:
        if self._AU is not None:
            return
        dev = like.device
        self.U, self.lam, self.s_y = self.U.to(dev), self.lam.to(dev), self.s_y.to(dev)
        cols = self.U.T.reshape(-1, *self.shape).to(like.dtype)
        self._AU = (self.A(cols).to(torch.float64) / self.s_y).T  # Ã U, (n, r)
        eye = torch.eye(self.s_y.numel(), dtype=like.dtype, device=dev)
        self._AAt = self.A(self.A.adjoint(eye)).to(torch.float64) / self.s_y[:, None] / self.s_y[None, :]

    def _gains(self, sigma: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        s2 = sigma.to(device=self.lam.device, dtype=torch.float64) ** 2
        return s2, self.lam / (self.lam + s2[:, None]), (self.nu / (self.nu + s2))[:, None, None]

    def system(self, sigma: Tensor, like: Tensor) -> Tensor:
        """M̃ = σ² Ã J_G Ãᵀ, shape (B, n, n), float64."""
        self._prepare(like)
        AU = self._AU
        s2, g, g_nu = self._gains(sigma)
        return s2[:, None, None] * ((AU * g[:, None, :]) @ AU.T + g_nu * (self._AAt - AU @ AU.T))

    def update(self, w: Tensor, sigma: Tensor, like: Tensor) -> Tensor:
        """σ² J_G Ãᵀ w for whitened weights w (B, n), shape (B, C, W) in the dtype of ``like``."""
        self._prepare(like)
        s2, g, g_nu = self._gains(sigma)
        Uw = w @ self._AU  # (B, r): Uᵀ Ãᵀ w
        out = (Uw * g) @ self.U.T  # (B, C·W)
        if self.nu > 0:
            Atw = self.A.adjoint((w / self.s_y).to(like.dtype)).reshape(w.shape[0], -1).to(torch.float64)
            out = out + g_nu[:, :, 0] * (Atw - Uw @ self.U.T)
        return (s2[:, None] * out).reshape(w.shape[0], *self.shape).to(like.dtype)
