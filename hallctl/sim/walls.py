"""Radial wall-loss models (docs/physics.md §7).

Models are frozen dataclasses registered by name in :data:`WALL_MODELS`; the kernels receive a
model code and a few scalars (:meth:`kernel_params`). The per-cell formulas are the plain-SI
scalar functions below, called from the electron kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hallctl.errors import SimulationInputError
from hallctl.sim._jit import jit
from hallctl.sim.constants import E_CHARGE, M_E

__all__ = [
    "EDGE_TO_CENTER_RATIO",
    "SEE_MATERIALS",
    "WALL_CONSTANT",
    "WALL_MODELS",
    "WALL_NONE",
    "WALL_SHEATH",
    "ConstantSheathPotential",
    "NoWallLosses",
    "WallSheath",
    "see_yield",
    "sheath_potential_V",
    "wall_ion_speed",
]

EDGE_TO_CENTER_RATIO = 0.86 / math.sqrt(3.0)
"""Edge-to-centre density ratio h = 0.86/√3 (docs/physics.md §7.2)."""

SEE_MATERIALS: dict[str, tuple[float, float]] = {
    "BNSiO2": (0.54, 40.0),
    "BoronNitride": (0.24, 45.0),
    "Alumina": (0.57, 22.0),
    "SiliconDioxide": (0.5, 18.0),
    "SiliconCarbide": (0.69, 43.0),
}
"""Secondary-electron-emission parameters (σ_0, ε* [eV]) per wall material (docs/physics.md §7.2)."""

WALL_NONE, WALL_SHEATH, WALL_CONSTANT = 0, 1, 2
"""Model codes passed to the kernels."""


@jit
def see_yield(Tw_eV: float, sigma0: float, eps_star_eV: float, gamma_max: float) -> float:
    """SEE yield γ = min(γ_max, σ_0 + 1.5 T_w (1 - σ_0)/ε*) (docs/physics.md §7.2)."""
    return min(gamma_max, sigma0 + 1.5 * Tw_eV * (1.0 - sigma0) / eps_star_eV)


@jit
def sheath_potential_V(Tw_eV: float, gamma: float, m_eff_kg: float) -> float:
    """Wall sheath potential φ_s = T_w ln[(1 - γ) √(m_eff/(2π m_e))] [V] (docs/physics.md §7.2)."""
    return Tw_eV * math.log((1.0 - gamma) * math.sqrt(m_eff_kg / (2.0 * math.pi * M_E)))


@jit
def wall_ion_speed(Z: int, Te_eV: float, m_kg: float) -> float:
    """Bohm speed of charge Z at the wall, √(Z e T_e / m) [m/s] (docs/physics.md §7.2–7.3)."""
    return math.sqrt(Z * E_CHARGE * Te_eV / m_kg)


@dataclass(frozen=True)
class NoWallLosses:
    """No radial losses: ν_ew = 0, W_wall = 0."""

    @property
    def loss_scale(self) -> float:
        return 1.0

    def kernel_params(self) -> tuple[int, float, float, float, float, float]:
        """(code, σ_0, ε*, U [V], α_in, α_out)."""
        return WALL_NONE, 0.0, 1.0, 0.0, 0.0, 0.0


@dataclass(frozen=True)
class WallSheath:
    """Sheath model with secondary electron emission from ``material`` (docs/physics.md §7.2).

    Attributes:
        material: one of :data:`SEE_MATERIALS`.
        loss_scale: α, scales the ion wall flux (and ion wall losses, §7.3).
    """

    material: str = "BNSiO2"
    loss_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.material not in SEE_MATERIALS:
            raise SimulationInputError(
                f"WallSheath: material = {self.material!r}, must be one of {sorted(SEE_MATERIALS)}")
        if not (self.loss_scale >= 0.0 and math.isfinite(self.loss_scale)):
            raise SimulationInputError(f"WallSheath: loss_scale = {self.loss_scale!r}, must be finite and ≥ 0")

    def kernel_params(self) -> tuple[int, float, float, float, float, float]:
        sigma0, eps_star = SEE_MATERIALS[self.material]
        return WALL_SHEATH, sigma0, eps_star, 0.0, 0.0, 0.0


@dataclass(frozen=True)
class ConstantSheathPotential:
    """ν_ew = 1e7 s⁻¹, W = 1e7 α(z) ε exp(-U/ε) with α = lt(α_in → α_out) (docs/physics.md §7.4)."""

    sheath_potential_V: float = 20.0
    inner_loss_coeff: float = 1.0
    outer_loss_coeff: float = 1.0

    def __post_init__(self) -> None:
        for name in ("sheath_potential_V", "inner_loss_coeff", "outer_loss_coeff"):
            v = getattr(self, name)
            if not (v >= 0.0 and math.isfinite(v)):
                raise SimulationInputError(f"ConstantSheathPotential: {name} = {v!r}, must be finite and ≥ 0")

    @property
    def loss_scale(self) -> float:
        return 1.0

    def kernel_params(self) -> tuple[int, float, float, float, float, float]:
        return (WALL_CONSTANT, 0.0, 1.0, self.sheath_potential_V, self.inner_loss_coeff,
                self.outer_loss_coeff)


WALL_MODELS: dict[str, type] = {
    "NoWallLosses": NoWallLosses,
    "WallSheath": WallSheath,
    "ConstantSheathPotential": ConstantSheathPotential,
}
"""Registry of wall-loss models by name (upstream spelling)."""
