r"""Second moments of the training data, kept with the model for guidance (docs/model.md §8.2).

For any data distribution the exact denoiser at large σ tends to that of a Gaussian with the
data's mean and covariance Σ, whose Jacobian is J_G = Σ(Σ + σ²I)⁻¹. MMPS uses J_G where a
network's own Jacobian is unreliable (noise levels it was rarely trained on), so the model file
carries Σ as its leading eigenpairs plus an isotropic floor:

    Σ = U diag(λ) Uᵀ + ν (I − U Uᵀ),      U of shape (C·W, r).

With N records in d = C·W dimensions the sample covariance S has rank < N, and a Gaussian with
a rank-deficient S forces every observation through a few directions (a 5-record campaign would
explain a tight voltage by moving the neutral velocity by 8 σ_d). Σ is therefore the
Ledoit–Wolf shrinkage of S toward μI (μ = tr S/d), (1 − α)S + αμI with the α that minimizes the
expected Frobenius error (Ledoit & Wolf 2004, J. Multivariate Anal. 88, 365): large for few
records, small for many; then λ_i = (1 − α)s_i + αμ and ν = αμ.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["MAX_RANK", "DataCovariance", "data_covariance"]

MAX_RANK = 512
"""Eigenpairs kept (the rest of the spectrum is treated as zero variance)."""

PREFIX = "data_covariance."


@dataclass(frozen=True)
class DataCovariance:
    """Σ ≈ U diag(λ) Uᵀ of the normalized training tensors, flattened over (C, W).

    Attributes:
        basis: U, shape (C·W, r), orthonormal columns.
        eigenvalues: λ, shape (r,), positive, descending.
        floor: ν ≥ 0, the variance of every direction outside the basis.
        num_records: N, the number of training records it was estimated from.
        shrinkage: α of the Ledoit–Wolf estimate.
    """

    basis: Tensor
    eigenvalues: Tensor
    floor: float
    num_records: int
    shrinkage: float = 0.0

    def tensors(self) -> dict[str, Tensor]:
        """The tensors to store in a model file (float32)."""
        return {PREFIX + "basis": self.basis.float().contiguous(), PREFIX + "eigenvalues": self.eigenvalues.float(),
                PREFIX + "floor": torch.tensor([self.floor], dtype=torch.float32)}

    def record(self) -> dict[str, float | int]:
        """What the model record says about it."""
        return {"num_records": self.num_records, "shrinkage": self.shrinkage}

    def factors(self) -> tuple[Tensor, Tensor, float]:
        """(U, λ, ν) as the sampler takes them."""
        return self.basis, self.eigenvalues, self.floor

    @classmethod
    def from_tensors(cls, tensors: dict[str, Tensor], record: dict | None) -> DataCovariance | None:
        """The covariance stored in ``tensors`` (keys of :meth:`tensors`), or None when absent."""
        if PREFIX + "basis" not in tensors:
            return None
        record = record or {}
        floor = float(tensors[PREFIX + "floor"][0]) if PREFIX + "floor" in tensors else 0.0
        return cls(tensors[PREFIX + "basis"], tensors[PREFIX + "eigenvalues"], floor,
                   int(record.get("num_records", 0)), float(record.get("shrinkage", 0.0)))


def data_covariance(x: Tensor, *, max_rank: int = MAX_RANK, chunk: int = 4096) -> DataCovariance:
    """The shrunk covariance of the records x (N, C, W) (module docstring), accumulated in float64
    in chunks of ``chunk``.

    Keeps at most ``max_rank`` eigenpairs (the rest of the spectrum joins the floor ν at its mean),
    and only sample eigenvalues above 1e-10 of the largest (N records have rank ≤ N − 1).
    """
    N = x.shape[0]
    flat = x.reshape(N, -1).cpu()
    d = flat.shape[1]
    mean = flat.double().mean(dim=0)
    S = torch.zeros(d, d, dtype=torch.float64)
    fourth = 0.0  # Σ_k ‖x_k‖⁴ of the centred records
    for i in range(0, N, chunk):
        c = flat[i : i + chunk].double() - mean
        S += c.T @ c
        fourth += float((c.square().sum(dim=1) ** 2).sum())
    S /= max(N, 1)  # the Ledoit–Wolf estimate starts from the 1/N sample covariance
    mu = float(torch.trace(S)) / d
    norm2 = float(S.square().sum())
    spread = norm2 - d * mu**2  # ‖S − μI‖²_F
    noise = max(fourth / max(N, 1) ** 2 - norm2 / max(N, 1), 0.0)  # (1/N²) Σ_k ‖x_k x_kᵀ − S‖²_F
    alpha = 1.0 if spread <= 0 else min(1.0, noise / spread)
    lam, U = torch.linalg.eigh(S)
    lam, U = lam.flip(0), U.flip(1)
    keep = int(min((lam > 1e-10 * max(float(lam[0]), 1e-300)).sum(), max_rank))
    floor = alpha * mu
    if keep < d:  # the discarded sample variance, spread evenly over the complement, joins the floor
        floor += (1 - alpha) * max(float(lam[keep:].sum()), 0.0) / (d - keep)
    eigenvalues = (1 - alpha) * lam[:keep] + alpha * mu
    return DataCovariance(U[:, :keep].float(), eigenvalues.float(), float(floor), N, float(alpha))
