"""The tests' shorthand for the composed sampler: keyword settings → Conditioning, step rule, Schedule."""

from __future__ import annotations

import math
from typing import Any

from hallctl.sample import Conditioning, GuidanceOptions, Schedule, make_solver, sample


def run_sample(denoiser: Any, *, num_samples: int, channels: int, length: int, steps: int = 32,
               sampler: Any = "heun", sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0,
               observations: Any = None, guidance: str = "mmps", fixed: Any = None,
               project_scalar_rows: Any = None, sigma_data: float = 0.5, mmps_solver: str = "auto",
               cg_iterations: int = 8, data_covariance: Any = None, mmps_jacobian: str = "auto",
               mmps_network_sigma: float = 1.0, guidance_sigma_max: float = math.inf, **loop: Any) -> Any:
    """sample() with the guidance and step rule built from names (``loop``: seed, batch_size, churn, ...)."""
    options = GuidanceOptions(sigma_max=guidance_sigma_max, mmps_solver=mmps_solver, cg_iterations=cg_iterations,
                              mmps_jacobian=mmps_jacobian, mmps_network_sigma=mmps_network_sigma)
    conditioning = Conditioning(guidance, observations, fixed=fixed or {}, projected=project_scalar_rows or (),
                                data_covariance=data_covariance, sigma_data=sigma_data, options=options)
    return sample(denoiser, conditioning, make_solver(sampler), num_samples=num_samples, shape=(channels, length),
                  schedule=Schedule(steps=steps, sigma_min=sigma_min, sigma_max=sigma_max, rho=rho), **loop)
