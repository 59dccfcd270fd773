"""The two small interfaces the sampler and the guidance methods are written against.

- a **denoiser** is any callable ``D(x, sigma) -> x_hat`` with x, x_hat of shape (B, C, W) and
  sigma of shape (B,) — the trained model's ``Precond.forward`` (EDM preconditioning, docs/model.md §2),
  an analytic denoiser in the tests, or a guidance wrapper around either (which returns the
  posterior-mean estimate, docs/model.md §8.3);
- a **linear operator** A maps (B, C, W) → (B, n) with an adjoint (B, n) → (B, C, W) and the
  diagonal of A Aᵀ (``hallctl.sample.operator.SparseObservationOperator`` is the one hallctl builds
  from an observation file).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from torch import Tensor

__all__ = ["Denoiser", "LinearOperator"]

Denoiser = Callable[[Tensor, Tensor], Tensor]
"""``D(x: (B, C, W), sigma: (B,)) -> (B, C, W)``, the denoised estimate E[x_0 | x_σ = x]."""


class LinearOperator(Protocol):
    """A linear observation operator A (docs/model.md §8.1), batched over the first dimension."""

    def __call__(self, x: Tensor) -> Tensor:
        """A x: (B, C, W) → (B, n)."""
        ...

    def adjoint(self, v: Tensor) -> Tensor:
        """Aᵀ v: (B, n) → (B, C, W)."""
        ...

    def diag_AAt(self) -> Tensor:
        """diag(A Aᵀ), shape (n,)."""
        ...
