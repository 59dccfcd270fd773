r"""Noise levels of the EDM sampler (docs/model.md §7; Karras et al. 2022, arXiv:2206.00364, Eq. 5).

.. math::

    \sigma_i = \Big(\sigma_{max}^{1/\rho} + \tfrac{i}{N-1}
        \big(\sigma_{min}^{1/\rho} - \sigma_{max}^{1/\rho}\big)\Big)^{\rho},
    \quad i = 0 \dots N-1, \qquad \sigma_N = 0.

Convention (EDM Algorithm 1): ``num_steps = N`` noise levels σ_0 = σ_max > … > σ_{N-1} = σ_min plus
the final σ_N = 0, i.e. N integration steps and a tensor of N + 1 entries. Upstream
hall_diffusion builds N entries with denominator N − 2 and overwrites the last with 0, i.e. it
takes N − 1 steps for the same "steps" setting; hallctl does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

__all__ = ["Schedule", "edm_sigmas"]


def edm_sigmas(
    num_steps: int,
    *,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> Tensor:
    """The ρ-schedule of noise levels with a final zero.

    Args:
        num_steps: N ≥ 1, number of integration steps (= number of non-zero levels).
            N = 1 gives (σ_max, 0).
        sigma_min: σ_min > 0, the last non-zero level (normalized units).
        sigma_max: σ_max ≥ σ_min, the first level; sampling starts from x_0 = σ_max ε.
        rho: ρ > 0; larger ρ spends more steps at small σ (EDM: 7).
        dtype, device: of the returned tensor (float64 by default; the sampler reads floats).

    Returns:
        σ, shape (N + 1,), strictly decreasing, σ[0] = σ_max, σ[N-1] = σ_min (N ≥ 2), σ[N] = 0.

    Raises:
        ValueError: for N < 1 or σ_min, σ_max, ρ out of range (quoting the value).
    """
    if int(num_steps) != num_steps or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    if not 0.0 < sigma_min <= sigma_max:
        raise ValueError(f"need 0 < sigma_min <= sigma_max, got sigma_min={sigma_min}, sigma_max={sigma_max}")
    if not rho > 0.0:
        raise ValueError(f"rho must be positive, got {rho!r}")
    N = int(num_steps)
    if N == 1:
        levels = torch.tensor([sigma_max], dtype=torch.float64)
    else:
        # Eq. (5) of EDM, evaluated in float64 so the ends are σ_max and σ_min to rounding.
        i = torch.arange(N, dtype=torch.float64)
        a, b = sigma_max ** (1.0 / rho), sigma_min ** (1.0 / rho)
        levels = (a + i / (N - 1) * (b - a)) ** rho
    sigmas = torch.cat([levels, levels.new_zeros(1)])
    return sigmas.to(dtype=dtype, device=device)


@dataclass(frozen=True)
class Schedule:
    """The EDM ρ-schedule as settings: N steps from σ_max down to σ_min, then 0."""

    steps: int = 32
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    rho: float = 7.0

    def sigmas(self) -> list[float]:
        """σ_0 … σ_N as floats (ValueError for out-of-range settings)."""
        return edm_sigmas(self.steps, sigma_min=self.sigma_min, sigma_max=self.sigma_max, rho=self.rho).tolist()

    def describe(self) -> dict[str, Any]:
        """The settings recorded with the samples."""
        return {"steps": int(self.steps),
                "schedule": "edm-rho: N levels sigma_0=sigma_max..sigma_{N-1}=sigma_min, then sigma_N=0 (N steps)",
                "sigma_min": float(self.sigma_min), "sigma_max": float(self.sigma_max), "rho": float(self.rho)}
