"""What a guidance method is given: the observation problem and its options.

A guidance method is a class with ``build(denoiser, problem, options)`` that returns a guided
denoiser (see :data:`hallctl.sample.guidance.GUIDANCE`), so adding one is one class plus one
registry line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from torch import Tensor

from hallctl.sample.interfaces import Denoiser, LinearOperator

__all__ = ["Guidance", "GuidanceOptions", "GuidanceProblem"]


@dataclass(frozen=True)
class GuidanceProblem:
    """y = A x_0 + noise, in normalized units, and what is known of the prior.

    Attributes:
        A: the observation operator (B, C, W) → (B, n).
        y: observations, (n,) or (B, n).
        sigma_y: their noise standard deviations, (n,), all positive.
        constant_rows: rows constant along z (scalar rows and fixed rows).
        data_covariance: (U, λ[, ν]) of the training data (``Precond.data_covariance.factors()``), or None.
        sigma_data: σ_d, the std the data were normalized to.
    """

    A: LinearOperator
    y: Tensor
    sigma_y: Tensor
    constant_rows: Sequence[int] = ()
    data_covariance: tuple | None = None
    sigma_data: float = 0.5


@dataclass(frozen=True)
class GuidanceOptions:
    """Tuning of the guidance methods (each method reads the options it has).

    Attributes:
        sigma_max: guide only while σ ≤ this (default: always).
        mmps_solver, cg_iterations: MMPS's linear solve: "auto" | "cholesky" | "cg", and CG steps.
        mmps_jacobian: "auto" | "network" | "data" (``guidance/mmps.py``).
        mmps_network_sigma: with "auto", the largest σ at which the network's Jacobian is used.
    """

    sigma_max: float = math.inf
    mmps_solver: str = "auto"
    cg_iterations: int = 8
    mmps_jacobian: str = "auto"
    mmps_network_sigma: float = 1.0


class Guidance(Protocol):
    """A guided denoiser: D_y(x, σ), counting its backward passes, describing itself."""

    num_vjp: int

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor: ...

    def describe(self) -> dict[str, Any]:
        """The settings and counters recorded with the samples."""
        ...

    @classmethod
    def build(cls, denoiser: Denoiser, problem: GuidanceProblem, options: GuidanceOptions) -> Guidance: ...
