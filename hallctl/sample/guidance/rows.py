r"""Row constraints applied to the denoised estimate: known values and constant-row projection.

**Known parameters fixed exactly (replacement).** For each fixed row r with known normalized
value v_r, the wrapper returns D_r ≡ v_r. Along that row the ODE dx/dσ = (x − v_r)/σ is then
solved exactly by every step rule, x_r(σ) = v_r + (σ/σ')(x_r(σ') − v_r): the state keeps noise
of level σ on the row, as the network saw in training, and reaches v_r at σ = 0. The sampler
starts such rows at v_r + σ_max ε and writes v_r into the final state, so the output holds v_r
exactly. The row has a zero Jacobian, so guidance treats it as known (zero variance) and never
moves it.

**Scalar-row projection** (docs/model.md §1.3): a scalar row holds one value repeated along z, and the
exact posterior mean of a constant row is constant, so its denoised estimate may be replaced by
its mean over z, :math:`D_r \leftarrow \tfrac{1}{W}\sum_j D_{r,j}`.

Both wrappers are differentiable. ``sample`` applies them inside the guidance wrapper (so the
likelihood sees the constrained estimate and its Jacobian) and again around it (so they also hold
for the posterior estimate D + σ² Jᵀ(…), whose vector–Jacobian term need not vanish on a fixed row
nor be constant on a projected one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import Tensor

from hallctl.sample.interfaces import Denoiser

__all__ = ["FixedRows", "ProjectRows"]


def _row_mask(rows: Iterable[int], like: Tensor) -> Tensor:
    mask = torch.zeros(like.shape[1], 1, dtype=torch.bool, device=like.device)
    mask[list(rows)] = True
    return mask


class FixedRows:
    """D with rows set to known values: D_r ← v_r for r in ``values``.

    Args:
        denoiser: D(x (B, C, W), σ (B,)) → (B, C, W).
        values: {row index r: normalized value v_r}.
    """

    def __init__(self, denoiser: Denoiser, values: Mapping[int, float]) -> None:
        self.denoiser = denoiser
        self.values = {int(r): float(v) for r, v in values.items()}

    def fill(self, x: Tensor) -> Tensor:
        """x with each fixed row r replaced by v_r everywhere (no gradient to those rows)."""
        mask = _row_mask(self.values, x)
        vals = torch.zeros(x.shape[1], 1, dtype=x.dtype, device=x.device)
        for r, v in self.values.items():
            vals[r] = v
        return torch.where(mask, vals, x)

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        return self.fill(self.denoiser(x, sigma))


class ProjectRows:
    """D with the listed (scalar) rows replaced by their mean over z.

    Args:
        denoiser: D(x (B, C, W), σ (B,)) → (B, C, W).
        rows: indices of the rows to project.
    """

    def __init__(self, denoiser: Denoiser, rows: Iterable[int]) -> None:
        self.denoiser = denoiser
        self.rows = sorted({int(r) for r in rows})

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        D = self.denoiser(x, sigma)
        mask = _row_mask(self.rows, D)
        return torch.where(mask, D.mean(dim=-1, keepdim=True).expand_as(D), D)
