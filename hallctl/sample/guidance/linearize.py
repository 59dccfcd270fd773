r"""A denoiser evaluation that keeps its graph, for vector–Jacobian products (docs/model.md §8.2).

.. math::

    J = \frac{\partial D(x; \sigma)}{\partial x}, \qquad v \mapsto J^\top v

One forward pass records the graph; each :meth:`Linearization.vjp` is one backward pass. For the
exact denoiser J is symmetric (J = Cov[x_0 | x_σ]/σ², Tweedie), so Jᵀv also stands in for Jv.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hallctl.sample.interfaces import Denoiser

__all__ = ["Linearization"]


class Linearization:
    """D(x; σ) with its graph, and Jᵀ v products through it.

    Args:
        denoiser: D, called once with gradients enabled (also inside an outer ``no_grad``).
        x: state x_σ, shape (B, C, W) (detached here; its own graph is never touched).
        sigma: σ, shape (B,).

    Attributes:
        D: the detached denoised estimate, shape (B, C, W).
        num_vjp: backward passes taken so far.
    """

    def __init__(self, denoiser: Denoiser, x: Tensor, sigma: Tensor) -> None:
        self._x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            self._D = denoiser(self._x, sigma)
        self.D = self._D.detach()
        self.num_vjp = 0

    def vjp(self, v: Tensor, *, last: bool = False) -> Tensor:
        """Jᵀ v for v of shape (B, C, W); ``last=True`` frees the graph afterwards."""
        self.num_vjp += 1
        if not self._D.requires_grad:  # D ignores x (e.g. every row fixed): J = 0
            return torch.zeros_like(self.D)
        (g,) = torch.autograd.grad(self._D, self._x, v, retain_graph=not last, allow_unused=True)
        return torch.zeros_like(self.D) if g is None else g
