"""Guidance for posterior sampling as denoiser wrappers (docs/model.md §8).

Each wrapper is itself a denoiser ``D_y(x, sigma) -> (B, C, W)`` that returns the posterior-mean
estimate D + σ² ∇ log p(y | x_σ), so every step rule in ``hallctl.sample.solvers`` integrates the
posterior flow dx/dσ = (x − D_y)/σ with the guidance scaled by the step (§8.3). One method per
file, each registered by name in :data:`GUIDANCE`:

- :class:`MMPS` (default): moment matching with Cov[x_0 | x_σ] = σ² J (``mmps.py``);
- :class:`DPS`: variance-inflated DPS baseline (``dps.py``);
- :class:`FixedRows`, :class:`ProjectRows`: known parameters and constant-row projection
  (``rows.py``), composed around a guidance wrapper by ``hallctl.sample.conditioning``.

A new method is a class with ``build(denoiser, problem, options)``, ``describe()`` and a
``num_vjp`` counter (:class:`Guidance`), plus one line in :data:`GUIDANCE` (docs/howto-guidance.md).
"""

from hallctl.sample.guidance.dps import DPS
from hallctl.sample.guidance.linearize import Linearization
from hallctl.sample.guidance.mmps import MMPS, conjugate_gradient
from hallctl.sample.guidance.problem import Guidance, GuidanceOptions, GuidanceProblem
from hallctl.sample.guidance.rows import FixedRows, ProjectRows

__all__ = ["DPS", "GUIDANCE", "MMPS", "FixedRows", "Guidance", "GuidanceOptions", "GuidanceProblem", "Linearization",
           "ProjectRows", "conjugate_gradient"]

GUIDANCE: dict[str, type[Guidance]] = {
    "mmps": MMPS,
    "dps": DPS,
}
"""Guidance methods by name (the project file's ``sample.guidance`` picks one; "none" = the prior)."""
