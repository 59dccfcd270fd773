"""What a posterior is conditioned on, and the denoiser composed for it (docs/model.md §8).

A :class:`Conditioning` is built by the caller: the guidance method (a name of
:data:`hallctl.sample.guidance.GUIDANCE`), the observations, the rows known exactly, the rows
projected onto their means, and the prior's data covariance. :meth:`Conditioning.compose` wraps a
denoiser in that order:

- inside the guidance only the scalar-row projection applies, so the likelihood sees the projected
  estimate and its Jacobian;
- known (fixed) rows enter the guidance as near-noiseless observations of their row means
  (σ_y = :data:`FIXED_SIGMA`), so every other row is conditioned on them;
- around the guidance the projection and the fixed values are imposed again, on the posterior
  estimate D + σ²Jᵀ(…), whose correction need not be constant on a projected row nor exactly the
  known value on a fixed one.

Without observations and fixed rows, and with method "none", the composition is the prior
denoiser (with the projection).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor

from hallctl.errors import ObservationError
from hallctl.sample.guidance import GUIDANCE, FixedRows, Guidance, GuidanceOptions, GuidanceProblem, ProjectRows
from hallctl.sample.interfaces import Denoiser, LinearOperator
from hallctl.sample.operator import SparseObservationOperator, StackedOperator, row_mean_terms

__all__ = ["FIXED_SIGMA", "Composed", "Conditioning", "ObservationSet"]

FIXED_SIGMA = 1e-4
"""Normalized noise std of a fixed row's row-mean observation inside the guidance (the data have
std σ_d = 0.5, so the other rows are conditioned to within 2e-4 of their exact conditional)."""


class ObservationSet(Protocol):
    """What conditioning needs from observations (``hallctl.sample.observations.Observations``)."""

    operator: LinearOperator
    y: Tensor  # (n,), normalized
    sigma_y: Tensor  # (n,), normalized


class _Counted:
    """A denoiser that counts its calls (one call = one network evaluation of the whole batch)."""

    def __init__(self, denoiser: Denoiser) -> None:
        self.denoiser, self.calls = denoiser, 0

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        self.calls += 1
        return self.denoiser(x, sigma)


@dataclass
class Composed:
    """The denoiser to integrate, with its start and finish constraints and its counters."""

    denoiser: Denoiser
    method: str  # the guidance actually used: a GUIDANCE name or "none"
    counted: _Counted
    guided: Guidance | None = None
    fixer: FixedRows | None = None

    @property
    def network_calls(self) -> int:
        return self.counted.calls

    @property
    def backward_passes(self) -> int:
        return self.guided.num_vjp if self.guided is not None else 0

    def start(self, x: Tensor) -> Tensor:
        """The initial state σ_max ε with fixed rows moved to v + σ_max ε (exactly in distribution)."""
        return x + self.fixer.fill(torch.zeros_like(x)) if self.fixer is not None else x

    def finish(self, x: Tensor) -> Tensor:
        """The final state with fixed rows holding their values exactly."""
        return self.fixer.fill(x) if self.fixer is not None else x


@dataclass(frozen=True)
class Conditioning:
    """A posterior to sample: method, observations, known rows, projected rows (module docstring).

    Attributes:
        method: a key of ``GUIDANCE`` ("mmps", "dps") or "none" (the prior; fixed rows are still
            conditioned on, with MMPS).
        observations: y, σ_y (normalized) and the operator A, or None.
        fixed: {row index: normalized value} of rows known exactly.
        projected: rows whose denoised estimate is replaced by its mean over z.
        data_covariance: (U, λ[, ν]) of the training data, or None.
        sigma_data: σ_d of the normalized data.
        options: tuning of the guidance methods.
    """

    method: str = "mmps"
    observations: ObservationSet | None = None
    fixed: Mapping[int, float] = field(default_factory=dict)
    projected: Sequence[int] = ()
    data_covariance: tuple | None = None
    sigma_data: float = 0.5
    options: GuidanceOptions = field(default_factory=GuidanceOptions)

    def __post_init__(self) -> None:
        if self.method != "none" and self.method not in GUIDANCE:
            raise ValueError(f"unknown guidance {self.method!r}; choose one of {', '.join([*GUIDANCE, 'none'])}")
        fixed = {int(r): float(v) for r, v in self.fixed.items()}
        if not all(math.isfinite(v) for v in fixed.values()):
            raise ValueError(f"fixed values must be finite, got {fixed}")
        object.__setattr__(self, "fixed", fixed)
        object.__setattr__(self, "projected", sorted({int(r) for r in self.projected}))

    @property
    def guided_observations(self) -> ObservationSet | None:
        """The observations the guidance conditions on (none for method "none": the prior)."""
        return None if self.method == "none" else self.observations

    @property
    def used_method(self) -> str:
        """The guidance that runs: none without anything to condition on; MMPS for fixed rows alone."""
        observations = self.guided_observations
        if observations is None and not self.fixed:
            return "none"
        return "mmps" if self.method == "none" else self.method

    def check_rows(self, channels: int) -> None:
        """ValueError when a fixed or projected row is not a row of the model."""
        for r in [*self.fixed, *self.projected]:
            if not 0 <= r < channels:
                raise ValueError(f"row index {r} is outside the {channels} rows of the model")

    def problem(self, channels: int, length: int, device: torch.device, dtype: torch.dtype) -> GuidanceProblem:
        """(A, y, σ_y) of the guidance: the observations, then one row-mean observation per fixed row."""
        observations = self.guided_observations
        parts: list[tuple[LinearOperator, Tensor, Tensor]] = []
        if observations is not None:
            A = observations.operator
            if hasattr(A, "channels") and (A.channels, A.length) != (channels, length):
                raise ObservationError(
                    f"the observations were built for {A.channels} rows x {A.length} grid points but the model "
                    f"has {channels} x {length}; read them with this model's normalization metadata")
            parts.append((A, torch.as_tensor(observations.y), torch.as_tensor(observations.sigma_y)))
        if self.fixed:
            rows = sorted(self.fixed)
            A_fix = SparseObservationOperator([row_mean_terms(r, length) for r in rows], channels=channels,
                                              length=length, dtype=torch.float64)
            y_fix = torch.tensor([self.fixed[r] for r in rows], dtype=torch.float64)
            parts.append((A_fix, y_fix, torch.full_like(y_fix, FIXED_SIGMA)))
        A = parts[0][0] if len(parts) == 1 else StackedOperator([p[0] for p in parts])
        if hasattr(A, "to"):
            A = A.to(device=device, dtype=dtype)
        ys = [torch.as_tensor(p[1], dtype=torch.float64) for p in parts]  # each (n_i,) or (B, n_i)
        lead = torch.broadcast_shapes(*(t.shape[:-1] for t in ys))
        y = torch.cat([t.expand(*lead, t.shape[-1]) for t in ys], dim=-1).to(device=device, dtype=dtype)
        sigma_y = torch.cat([p[2].reshape(-1).to(torch.float64) for p in parts]).to(device=device, dtype=dtype)
        return GuidanceProblem(A, y, sigma_y, constant_rows=sorted({*self.projected, *self.fixed}),
                               data_covariance=self.data_covariance, sigma_data=self.sigma_data)

    def compose(self, denoiser: Denoiser, channels: int, length: int, *, device: str | torch.device = "cpu",
                dtype: torch.dtype = torch.float32) -> Composed:
        """Wrap ``denoiser``: projection inside, guidance, then projection and fixed values around it."""
        self.check_rows(channels)
        counted = _Counted(denoiser)
        fixer = FixedRows(counted, self.fixed) if self.fixed else None
        inner: Denoiser = ProjectRows(counted, self.projected) if self.projected else counted

        def constrain(D: Denoiser) -> Denoiser:
            D = ProjectRows(D, self.projected) if self.projected else D
            return FixedRows(D, self.fixed) if self.fixed else D

        method = self.used_method
        if method == "none":
            return Composed(constrain(inner), method, counted, fixer=fixer)
        problem = self.problem(channels, length, torch.device(device), dtype)
        guided = GUIDANCE[method].build(inner, problem, self.options)
        return Composed(constrain(guided), method, counted, guided=guided, fixer=fixer)

    def describe(self, composed: Composed) -> dict[str, Any]:
        """The conditioning's part of the recorded settings."""
        observations = self.guided_observations
        out: dict[str, Any] = {
            "guidance": composed.method,
            "num_obs": int(observations.y.shape[-1]) if observations is not None else 0,
            "fixed": {str(r): v for r, v in self.fixed.items()},
            "project_scalar_rows": list(self.projected),
            "sigma_data": float(self.sigma_data),
        }
        if composed.guided is not None:
            out.update(composed.guided.describe())
            s_max = self.options.sigma_max
            out["guidance_sigma_max"] = None if math.isinf(s_max) else float(s_max)
        return out
