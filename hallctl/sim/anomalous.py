"""Anomalous electron transport models (docs/physics.md §10).

Every model here is Bohm-like, ν_an(z) = c(z) ω_ce(z) with ω_ce = e B / m_e. A model is a small
frozen dataclass registered by name in :data:`ANOM_MODELS`; its ``coefficient(z, ctx)`` gives
c(z) at one position. The driver evaluates it once at every cell centre (the models do not
depend on time, and upstream freezes ν_an after iteration 5 anyway, docs/physics.md §16 item 4).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hallctl.errors import SimulationInputError
from hallctl.sim._jit import jit
from hallctl.sim.thruster import linear_transition

__all__ = [
    "ANOM_MODELS",
    "AnomContext",
    "Bohm",
    "GaussianBohm",
    "LogisticPressureShift",
    "MultiLogBohm",
    "NoAnom",
    "TwoZoneBohm",
    "anom_coefficients",
    "gaussian_bohm_coeff",
    "gp_perturbation",
    "multilog_bohm_coeff",
    "pressure_shift_m",
    "six_parameter_profile",
]


@dataclass(frozen=True)
class AnomContext:
    """What a model may depend on besides z: L_ch [m], transition length ℓ [m], p_B [Torr]."""

    channel_length_m: float
    transition_length_m: float
    background_pressure_Torr: float = 0.0


@jit
def multilog_bohm_coeff(z: float, z_nodes: np.ndarray, c_nodes: np.ndarray) -> float:
    """MultiLogBohm c(z): ln c piecewise linear between the nodes (docs/physics.md §10).

    Clamped to c_1 below z_1 and to c_K at or above z_K; the node search takes the largest k
    with z_k ≤ z.

    Args:
        z: position [m].
        z_nodes: node positions z_k [m], increasing, shape (K,).
        c_nodes: node coefficients c_k > 0, shape (K,).
    """
    K = z_nodes.shape[0]
    if z < z_nodes[0]:
        return c_nodes[0]
    if z >= z_nodes[K - 1]:
        return c_nodes[K - 1]
    k = 0
    while k + 1 < K and z_nodes[k + 1] <= z:
        k += 1
    t = (z - z_nodes[k]) / (z_nodes[k + 1] - z_nodes[k])
    return math.exp((1.0 - t) * math.log(c_nodes[k]) + t * math.log(c_nodes[k + 1]))


@jit
def gaussian_bohm_coeff(z: float, hall_min: float, hall_max: float, center_m: float, width_m: float) -> float:
    """GaussianBohm c(z) = c_max [1 - (1 - c_min) exp(-½((z - z_c)/w)²)] (docs/physics.md §10)."""
    x = (z - center_m) / width_m
    return hall_max * (1.0 - (1.0 - hall_min) * math.exp(-0.5 * x * x))


def pressure_shift_m(*, L_ch_m: float, z0: float, dz: float, pstar_Torr: float, alpha: float,
                     pB_Torr: float) -> float:
    """LogisticPressureShift displacement δ = L_ch [z0 + dz / (1 + (α - 1)^(2 p_B/p* - 1))] [m]."""
    return L_ch_m * (z0 + dz / (1.0 + (alpha - 1.0) ** (2.0 * pB_Torr / pstar_Torr - 1.0)))


@dataclass(frozen=True)
class NoAnom:
    """No anomalous transport, c = 0."""

    def coefficient(self, z: float, ctx: AnomContext) -> float:
        return 0.0


@dataclass(frozen=True)
class Bohm:
    """Classical Bohm scaling with one coefficient everywhere, c(z) = c (docs/physics.md §10)."""

    c: float = 1.0 / 16.0

    def __post_init__(self) -> None:
        _check_positive(self, "c", self.c, allow_zero=True)

    def coefficient(self, z: float, ctx: AnomContext) -> float:
        return self.c


@dataclass(frozen=True)
class TwoZoneBohm:
    """c = lt(c1 → c2): c1 inside the channel, c2 outside (docs/physics.md §10, §7.1)."""

    c1: float = 1.0 / 160.0
    c2: float = 1.0 / 16.0

    def __post_init__(self) -> None:
        _check_positive(self, "c1", self.c1, allow_zero=True)
        _check_positive(self, "c2", self.c2, allow_zero=True)

    def coefficient(self, z: float, ctx: AnomContext) -> float:
        return linear_transition(z, ctx.channel_length_m, ctx.transition_length_m, self.c1, self.c2)


@dataclass(frozen=True)
class GaussianBohm:
    """Bohm coefficient with a Gaussian trough of depth ``hall_min`` (docs/physics.md §10)."""

    hall_min: float
    hall_max: float
    center_m: float
    width_m: float

    def __post_init__(self) -> None:
        _check_positive(self, "hall_max", self.hall_max, allow_zero=True)
        _check_positive(self, "width_m", self.width_m)

    def coefficient(self, z: float, ctx: AnomContext) -> float:
        return gaussian_bohm_coeff(z, self.hall_min, self.hall_max, self.center_m, self.width_m)


@dataclass(frozen=True)
class MultiLogBohm:
    """Log-linear interpolation of a coefficient profile (z_k [m], c_k) (docs/physics.md §10, §10.1)."""

    z_m: tuple[float, ...]
    c: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "z_m", tuple(float(v) for v in self.z_m))
        object.__setattr__(self, "c", tuple(float(v) for v in self.c))
        if len(self.z_m) != len(self.c) or len(self.z_m) < 1:
            raise SimulationInputError(
                f"MultiLogBohm: z_m and c need the same non-zero length, got {len(self.z_m)} and {len(self.c)}")
        if any(not (b > a) for a, b in itertools.pairwise(self.z_m)):
            raise SimulationInputError("MultiLogBohm: z_m must be strictly increasing")
        if any(not (v > 0.0 and math.isfinite(v)) for v in self.c):
            raise SimulationInputError("MultiLogBohm: every c must be positive and finite (log interpolation)")

    def coefficient(self, z: float, ctx: AnomContext) -> float:
        return multilog_bohm_coeff(z, np.array(self.z_m), np.array(self.c))


@dataclass(frozen=True)
class LogisticPressureShift:
    """Evaluate ``model`` at z - δ(p_B), δ from :func:`pressure_shift_m` (docs/physics.md §10)."""

    model: NoAnom | Bohm | TwoZoneBohm | GaussianBohm | MultiLogBohm
    z0: float
    dz: float
    pstar: float
    alpha: float

    def __post_init__(self) -> None:
        if isinstance(self.model, LogisticPressureShift) or not hasattr(self.model, "coefficient"):
            raise SimulationInputError(
                f"LogisticPressureShift: model = {self.model!r}, must be one of "
                f"{sorted(k for k in ANOM_MODELS if k != 'LogisticPressureShift')}")
        _check_positive(self, "pstar", self.pstar)

    def coefficient(self, z: float, ctx: AnomContext) -> float:
        delta = pressure_shift_m(L_ch_m=ctx.channel_length_m, z0=self.z0, dz=self.dz, pstar_Torr=self.pstar,
                                 alpha=self.alpha, pB_Torr=ctx.background_pressure_Torr)
        return self.model.coefficient(z - delta, ctx)


ANOM_MODELS: dict[str, type] = {
    "NoAnom": NoAnom,
    "Bohm": Bohm,
    "TwoZoneBohm": TwoZoneBohm,
    "GaussianBohm": GaussianBohm,
    "MultiLogBohm": MultiLogBohm,
    "LogisticPressureShift": LogisticPressureShift,
}
"""Registry of anomalous-transport models by name (upstream spelling)."""


def _check_positive(obj: object, name: str, value: float, *, allow_zero: bool = False) -> None:
    ok = (value >= 0.0 if allow_zero else value > 0.0) and math.isfinite(value)
    if not ok:
        bound = "≥ 0" if allow_zero else "> 0"
        raise SimulationInputError(f"{type(obj).__name__}: {name} = {value!r}, must be finite and {bound}")


def anom_coefficients(model: NoAnom | Bohm | TwoZoneBohm | GaussianBohm | MultiLogBohm | LogisticPressureShift,
                      z_cell_m: np.ndarray, ctx: AnomContext) -> np.ndarray:
    """c(z) of ``model`` at every cell centre, shape like ``z_cell_m``."""
    return np.array([model.coefficient(float(z), ctx) for z in z_cell_m])


def six_parameter_profile(z_m: np.ndarray, *, L_ch_m: float, anom_minimum: float, anom_width: float,
                          anom_slope: float, anom_step: float, anom_scale: float,
                          anom_center: float) -> np.ndarray:
    """hall_diffusion six-parameter Bohm-coefficient profile c_k (docs/physics.md §10.1).

    With ẑ = z / L_ch and ζ = ẑ / L - 1:
    f = 1 - s + s / (1 + exp(-m ζ / (1 - m))), g = 1 - (1 - a) exp(-(ζ/w)²), c = S f g.

    Args:
        z_m: node positions [m] (hall_diffusion: 256 points on [0, 3.2 L_ch]).
        L_ch_m: channel length [m].
        anom_minimum: a; anom_width: w; anom_slope: s; anom_step: m; anom_scale: S;
        anom_center: L (in channel lengths).
    """
    zeta = np.asarray(z_m) / L_ch_m / anom_center - 1.0
    with np.errstate(over="ignore"):  # exp → inf where the logistic step is 0: the exact limit
        f = 1.0 - anom_slope + anom_slope / (1.0 + np.exp(-anom_step * zeta / (1.0 - anom_step)))
    g = 1.0 - (1.0 - anom_minimum) * np.exp(-((zeta / anom_width) ** 2))
    return anom_scale * f * g


def gp_perturbation(rng: np.random.Generator, z_m: np.ndarray, *, L_ch_m: float, sigma: float = 1.0,
                    length_scale: float = 1.0) -> np.ndarray:
    """Sample ξ ~ N(0, Σ), Σ_kl = σ² exp(-½((ẑ_k - ẑ_l)/λ)²) + 1e-8 δ_kl (docs/physics.md §10.1).

    Multiply a profile by ``exp(ξ)`` to perturb it. ``rng`` is passed in (style.md item 10).
    """
    zh = np.asarray(z_m, dtype=float) / L_ch_m
    factor = _gp_cholesky(zh.tobytes(), float(sigma), float(length_scale))
    return factor @ rng.standard_normal(zh.size)


@lru_cache(maxsize=16)
def _gp_cholesky(zh_bytes: bytes, sigma: float, length_scale: float) -> np.ndarray:
    """Cholesky factor of Σ (cached: a campaign draws thousands of profiles on the same nodes)."""
    zh = np.frombuffer(zh_bytes, dtype=float)
    cov = sigma**2 * np.exp(-0.5 * ((zh[:, None] - zh[None, :]) / length_scale) ** 2)
    cov += 1e-8 * np.eye(zh.size)
    factor = np.linalg.cholesky(cov)
    factor.setflags(write=False)
    return factor
