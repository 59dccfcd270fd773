r"""Sparse linear observation operator on normalized tensors (docs/model.md §8.1).

.. math::

    y = A\,\mathrm{vec}(x) + \eta, \qquad \eta \sim \mathcal{N}(0, \Sigma_y),
    \qquad x \in \mathbb{R}^{C \times W},\ y \in \mathbb{R}^n

Each of the n rows of A has a handful of non-zeros, stored as (flat index, weight) pairs padded
to a common width m (padding has weight 0), never as a dense n × CW matrix:

- a point observation of row r at position z with grid points z_j ≤ z ≤ z_{j+1} holds the linear
  interpolation weights 1 − t and t, t = (z − z_j)/(z_{j+1} − z_j), on (r, j) and (r, j + 1) —
  no snapping to a grid point;
- an observation of a scalar row (one value repeated along the grid) averages the row:
  weight 1/W on each of its W entries.

Upstream hall_diffusion snapped z to a grid index and built a dense matrix in a Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = ["SparseObservationOperator", "StackedOperator", "interpolation_terms", "row_mean_terms"]

Term = tuple[int, int, float]
"""(row r, grid index j, weight a): one non-zero A[k, r·W + j] = a."""


def interpolation_terms(row: int, z: float, grid: Sequence[float]) -> list[Term]:
    """Terms of a point observation of ``row`` at ``z`` by linear interpolation on ``grid``.

    Args:
        row: r, index of the observed row.
        z: position (same unit as ``grid``, metres for hallctl), within [grid[0], grid[-1]].
        grid: z_0 < … < z_{W−1}, shape (W,), W ≥ 2 (W = 1 gives a single unit weight).

    Returns:
        Two terms (r, j, 1 − t) and (r, j + 1, t), or one term (r, 0, 1) when W = 1.

    Raises:
        ValueError: if z lies outside the grid (callers check first and raise ObservationError).
    """
    g = np.asarray(grid, dtype=np.float64)
    if g.size == 1:
        return [(row, 0, 1.0)]
    if not g[0] <= z <= g[-1]:
        raise ValueError(f"z = {z} is outside the grid [{g[0]}, {g[-1]}]")
    j = int(np.clip(np.searchsorted(g, z, side="right") - 1, 0, g.size - 2))
    t = float((z - g[j]) / (g[j + 1] - g[j]))
    return [(row, j, 1.0 - t), (row, j + 1, t)]


def row_mean_terms(row: int, length: int) -> list[Term]:
    """Terms of the mean of ``row`` over its ``length`` = W entries (a scalar-row observation)."""
    return [(row, j, 1.0 / length) for j in range(length)]


class SparseObservationOperator:
    """A: ℝ^{C×W} → ℝⁿ as padded (index, weight) pairs; batched over a leading dimension.

    Args:
        terms: one list of (row, grid index, weight) per observation (duplicates are summed).
        channels: C, rows of the tensor.
        length: W, grid points per row.
        dtype, device: of the stored weights (use :meth:`to` to move them).

    Attributes:
        index: flat indices r·W + j, shape (n, m), int64.
        weight: weights, shape (n, m); padding entries are 0.
    """

    def __init__(
        self,
        terms: Sequence[Sequence[Term]],
        *,
        channels: int,
        length: int,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> None:
        if len(terms) == 0:
            raise ValueError("an observation operator needs at least one observation")
        self.channels, self.length = int(channels), int(length)
        rows: list[dict[int, float]] = []
        for k, obs in enumerate(terms):
            merged: dict[int, float] = {}
            for r, j, a in obs:
                if not (0 <= r < channels and 0 <= j < length):
                    raise ValueError(f"observation {k}: entry (row {r}, index {j}) outside ({channels}, {length})")
                merged[r * length + j] = merged.get(r * length + j, 0.0) + float(a)
            if not merged:
                raise ValueError(f"observation {k} has no entries")
            rows.append(merged)
        m = max(len(d) for d in rows)
        index = np.zeros((len(rows), m), dtype=np.int64)
        weight = np.zeros((len(rows), m), dtype=np.float64)
        for k, d in enumerate(rows):
            index[k, : len(d)] = list(d.keys())
            weight[k, : len(d)] = list(d.values())
        self.index = torch.as_tensor(index, device=device)
        self.weight = torch.as_tensor(weight, dtype=dtype, device=device)

    @property
    def num_obs(self) -> int:
        """n, the number of observations (rows of A)."""
        return int(self.index.shape[0])

    def to(
        self, device: str | torch.device | None = None, dtype: torch.dtype | None = None
    ) -> SparseObservationOperator:
        """A copy with weights on ``device`` / of ``dtype`` (self when nothing changes)."""
        device = self.weight.device if device is None else torch.device(device)
        dtype = self.weight.dtype if dtype is None else dtype
        if device == self.weight.device and dtype == self.weight.dtype:
            return self
        new = object.__new__(SparseObservationOperator)
        new.channels, new.length = self.channels, self.length
        new.index = self.index.to(device)
        new.weight = self.weight.to(device=device, dtype=dtype)
        return new

    def select(self, keep: Sequence[int]) -> SparseObservationOperator:
        """The operator of the observations ``keep`` only (rows of A, in that order)."""
        if len(keep) == 0:
            raise ValueError("an observation operator needs at least one observation")
        rows = torch.as_tensor(list(keep), dtype=torch.long, device=self.index.device)
        new = object.__new__(SparseObservationOperator)
        new.channels, new.length = self.channels, self.length
        new.index, new.weight = self.index[rows], self.weight[rows]
        return new

    def apply(self, x: Tensor) -> Tensor:
        """A x: x (B, C, W) → (B, n). Differentiable in x."""
        flat = x.reshape(x.shape[0], self.channels * self.length)
        return (flat[:, self.index] * self.weight.to(x.dtype)).sum(dim=-1)

    __call__ = apply

    def adjoint(self, v: Tensor) -> Tensor:
        """Aᵀ v: v (B, n) → (B, C, W). Differentiable in v."""
        B = v.shape[0]
        src = (v[:, :, None] * self.weight.to(v.dtype)).reshape(B, -1)
        out = v.new_zeros(B, self.channels * self.length)
        out = out.index_add(1, self.index.reshape(-1), src)
        return out.reshape(B, self.channels, self.length)

    def diag_AAt(self) -> Tensor:
        """diag(A Aᵀ), shape (n,): the sum of squared weights of each row (indices are unique)."""
        return (self.weight**2).sum(dim=-1)

    def dense(self) -> Tensor:
        """A as a dense (n, C·W) matrix — for tests and small diagnostics only."""
        A = self.weight.new_zeros(self.num_obs, self.channels * self.length)
        return A.scatter_add(1, self.index, self.weight)


class StackedOperator:
    """Several observation operators on the same (C, W) tensor, their observations concatenated.

    Args:
        parts: operators with ``__call__`` (B, C, W) → (B, n_i), ``adjoint`` and ``diag_AAt``.
    """

    def __init__(self, parts: Sequence[SparseObservationOperator]) -> None:
        if not parts:
            raise ValueError("a stacked operator needs at least one part")
        self.parts = list(parts)
        self.channels, self.length = parts[0].channels, parts[0].length
        self.sizes = [int(p.diag_AAt().numel()) for p in self.parts]

    @property
    def num_obs(self) -> int:
        return sum(self.sizes)

    def to(self, device: str | torch.device | None = None, dtype: torch.dtype | None = None) -> StackedOperator:
        return StackedOperator([p.to(device=device, dtype=dtype) for p in self.parts])

    def __call__(self, x: Tensor) -> Tensor:
        return torch.cat([p(x) for p in self.parts], dim=-1)

    def adjoint(self, v: Tensor) -> Tensor:
        chunks = torch.split(v, self.sizes, dim=-1)
        out = self.parts[0].adjoint(chunks[0])
        for p, c in zip(self.parts[1:], chunks[1:], strict=True):
            out = out + p.adjoint(c)
        return out

    def diag_AAt(self) -> Tensor:
        return torch.cat([p.diag_AAt() for p in self.parts])

    def dense(self) -> Tensor:
        return torch.cat([p.dense() for p in self.parts])
