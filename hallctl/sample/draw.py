"""Samples of a trained model in physical units, from named settings (what the commands call).

:class:`SamplerSettings` names the pieces (step rule, guidance method, schedule); :func:`draw`
builds them through their registries (``solvers.SOLVERS``, ``guidance.GUIDANCE``), samples the
model with :func:`hallctl.sample.sample` and denormalizes. The model's training-data covariance
(``precond.data_covariance``, in every model file hallctl trains) serves MMPS where the network's
own Jacobian is unreliable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import Tensor

from hallctl.data.normalization import Normalization
from hallctl.report import Reporter, resolve
from hallctl.sample.conditioning import Conditioning
from hallctl.sample.guidance import GuidanceOptions
from hallctl.sample.interfaces import Denoiser
from hallctl.sample.observations import Observations, control_signal
from hallctl.sample.sampler import sample
from hallctl.sample.schedule import Schedule
from hallctl.sample.solvers import make_solver

__all__ = ["Draw", "SamplerSettings", "amortized_denoiser", "draw"]


@dataclass(frozen=True)
class SamplerSettings:
    """How samples are drawn; the defaults are the project file's [sample] defaults.

    Attributes:
        steps, sigma_min, sigma_max, rho: the EDM schedule (:class:`Schedule`).
        sampler: a step rule of ``SOLVERS`` ("euler", "heun", "midpoint", "ralston", "dpmpp_2m").
        guidance: a method of ``GUIDANCE`` ("mmps", "dps") or "none".
        churn: stochastic churn S_churn (0 = deterministic).
        mmps_jacobian, mmps_network_sigma: MMPS's covariance model (``guidance/mmps.py``).
        amortized: "auto" (an amortized model answers observations inside its template) or "never".
        amortized_correction: which observations MMPS, with the data covariance alone (no backward
            pass), also imposes on the amortized model's estimate: "none", "scalars" or "all".
        batch_size: samples per network call (memory only).
        seed: sampling seed.
    """

    steps: int = 32
    sampler: str = "heun"
    guidance: str = "mmps"
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    rho: float = 7.0
    churn: float = 0.0
    mmps_jacobian: str = "auto"
    mmps_network_sigma: float = 1.0
    amortized: str = "auto"
    amortized_correction: str = "all"
    batch_size: int = 64
    seed: int = 0

    @property
    def schedule(self) -> Schedule:
        return Schedule(steps=self.steps, sigma_min=self.sigma_min, sigma_max=self.sigma_max, rho=self.rho)

    @property
    def guidance_options(self) -> GuidanceOptions:
        return GuidanceOptions(mmps_jacobian=self.mmps_jacobian, mmps_network_sigma=self.mmps_network_sigma)


@dataclass
class Draw:
    """Samples of one call: normalized and physical, with the settings used."""

    x: np.ndarray  # (S, C, W) normalized
    phys: np.ndarray  # (S, C, W) physical units
    nfe: int
    settings: dict[str, Any]


def _covariance(precond: Any) -> tuple[Any, Any, float] | None:
    cov = getattr(precond, "data_covariance", None)
    return None if cov is None else cov.factors()


class _Controlled:
    """An amortized model bound to one observation set: D(x, σ) = D_θ(x, σ; control)."""

    def __init__(self, precond: Any, control: Tensor) -> None:
        self.precond, self.control = precond, control

    def __call__(self, x: Tensor, sigma: Tensor) -> Tensor:
        return self.precond(x, sigma, None, self.control.to(x.device))


def amortized_denoiser(precond: Any, observations: Observations, settings: SamplerSettings,
                       report: Reporter | None = None) -> Denoiser | None:
    """The model bound to ``observations`` when it is an amortized model whose template admits them (and
    ``settings.amortized`` is "auto"); else None, with a one-line notice when the model could have answered."""
    template = getattr(precond, "control_template", None)
    if template is None or settings.amortized == "never":
        return None
    why = template.admits(observations.table)
    if why:
        resolve(report).info(f"the amortized model does not answer these observations ({why}); "
                             f"using {settings.guidance} guidance")
        return None
    return _Controlled(precond, control_signal(observations))


def _corrected(observations: Observations, which: str) -> Observations | None:
    """The observations the correction on top of an amortized model imposes (None: no correction)."""
    if which not in ("none", "scalars", "all"):
        raise ValueError(f"amortized_correction must be none, scalars or all, got {which!r}")
    keep = [k for k, o in enumerate(observations.table) if which == "all" or (which == "scalars" and o.scalar)]
    return observations.select(keep) if keep else None


def draw(precond: Any, norm: Normalization | dict[str, Any], settings: SamplerSettings, *, num_samples: int,
         device: str, observations: Observations | None = None, fixed: Mapping[int, float] | None = None,
         first_index: int = 0, report: Reporter | None = None) -> Draw:
    """Sample the model (prior, or posterior given ``observations`` and ``fixed`` rows) and denormalize.

    An amortized model answers the observations inside its template with forward passes only; other
    observations, and every model without a control input, are answered by guidance.

    Args:
        precond: the trained denoiser (``load_model``), with ``sigma_data`` and ``data_covariance``.
        norm: the normalization of the model's data (its metadata).
        settings: the named pieces and their options.
        num_samples, device, first_index: how many, where, and the global index of the first.
        observations: normalized observations and their operator, or None.
        fixed: {row: normalized value} of scalar rows known exactly.
    """
    norm = Normalization.of(norm)
    C, W = len(norm.rows), len(norm.grid_m)
    amortized = amortized_denoiser(precond, observations, settings, report) if observations is not None else None
    method = "none" if observations is None else settings.guidance
    guided, options = observations, settings.guidance_options
    if amortized is not None:
        guided = _corrected(observations, settings.amortized_correction)
        method = "none" if guided is None else "mmps"
        options = dataclasses.replace(options, mmps_jacobian="data")
    if settings.sampler == "dpmpp_2m" and method != "none":
        resolve(report).warn("dpmpp_2m with guidance is unstable (its multistep extrapolation amplifies the "
                             "likelihood term); prefer --sampler heun for conditional sampling")
    conditioning = Conditioning(method, guided, fixed=fixed or {}, projected=norm.scalar_rows,
                                data_covariance=_covariance(precond),
                                sigma_data=float(getattr(precond, "sigma_data", 0.5)), options=options)
    result = sample(amortized or precond, conditioning, make_solver(settings.sampler), num_samples=num_samples,
                    shape=(C, W), schedule=settings.schedule, churn=settings.churn, seed=settings.seed,
                    first_index=first_index, batch_size=settings.batch_size, device=device, report=report)
    x = result.x.detach().cpu().numpy().astype(np.float64)
    recorded = {**result.settings, "sampler": settings.sampler}
    if amortized is not None:
        recorded["guidance"] = "amortized"
        recorded["num_obs"] = len(observations.table)
        recorded["amortized_correction"] = settings.amortized_correction
    return Draw(x=x, phys=norm.to_physical(x), nfe=result.nfe_per_sample, settings=recorded)
