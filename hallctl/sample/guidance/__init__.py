"""Guidance for posterior sampling as denoiser wrappers (model.md §8).

Each wrapper is itself a denoiser ``D_y(x, sigma) -> (B, C, W)`` that returns the posterior-mean
estimate D + σ² ∇ log p(y | x_σ), so every step rule in ``hallctl.sample.solvers`` integrates the
posterior flow dx/dσ = (x − D_y)/σ with the guidance scaled by the step (§8.3). One method per
file:

- :class:`MMPS` (default): moment matching with Cov[x_0 | x_σ] = σ² J (``mmps.py``);
- :class:`DPS`: variance-inflated DPS baseline (``dps.py``);
- :class:`FixedRows`, :class:`ProjectRows`: known parameters and constant-row projection
  (``rows.py``), composed inside a guidance wrapper.
"""

from hallctl.sample.guidance.dps import DPS
from hallctl.sample.guidance.linearize import Linearization
from hallctl.sample.guidance.mmps import MMPS, conjugate_gradient
from hallctl.sample.guidance.rows import FixedRows, ProjectRows

__all__ = ["DPS", "MMPS", "FixedRows", "Linearization", "ProjectRows", "conjugate_gradient"]
