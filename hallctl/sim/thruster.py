"""Thruster geometry and radial magnetic field (docs/physics.md §2.1–2.2).

A :class:`Thruster` is a channel length, inner and outer radii and a field profile B(z) given at
stations; the simulator interpolates it linearly at cell centres (clamped outside the stations).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hallctl.errors import SimulationInputError
from hallctl.sim._jit import jit

__all__ = [
    "HALL_DIFFUSION_STATIONS",
    "Thruster",
    "field_on_cells",
    "linear_transition",
    "load_bfield_csv",
    "two_sided_gaussian_field",
]

HALL_DIFFUSION_STATIONS = (
    4, 16, 46, 76, 104, 128, 146, 164, 184, 198, 206, 220, 232, 240, 252, 258, 268, 283, 300, 320,
    342, 366, 386, 397, 414, 426, 444, 460, 480, 510, 544, 570, 589, 606, 632, 650, 674, 698, 720,
    756, 786, 818, 848, 882, 914, 956, 988, 1028, 1078, 1122, 1170, 1218, 1270, 1336, 1412, 1476,
    1536, 1592,
)
"""Integers k of the 58 hall_diffusion field stations z_k = k (0.004/67) m (docs/physics.md §2.2)."""


def two_sided_gaussian_field(z_m: float | np.ndarray, *, B_max_T: float, center_m: float, sigma_in_m: float = 0.011,
                             sigma_out_m: float = 0.018) -> np.ndarray | float:
    """Two-sided Gaussian B(z) = B_max exp(-½((z - z_c)/σ)²) [T] (docs/physics.md §2.2 items 1–2).

    Args:
        z_m: axial position(s) [m], scalar or array.
        B_max_T: peak field [T].
        center_m: position of the peak z_c [m] (the channel exit).
        sigma_in_m: σ upstream of the peak (z < z_c) [m].
        sigma_out_m: σ at and downstream of the peak [m].
    """
    z = np.asarray(z_m, dtype=float)
    sigma = np.where(z < center_m, sigma_in_m, sigma_out_m)
    return B_max_T * np.exp(-0.5 * ((z - center_m) / sigma) ** 2)


@jit
def linear_transition(z: float, cutoff: float, length: float, y_in: float, y_out: float) -> float:
    """Smooth inside/outside switch ``lt`` (docs/physics.md §7.1).

    Returns y_in for z < cutoff - length/2, y_out for z > cutoff + length/2 and the linear ramp
    in between.
    """
    z1 = cutoff - 0.5 * length
    z2 = cutoff + 0.5 * length
    if z < z1:
        return y_in
    if z > z2:
        return y_out
    t = (z - z1) / (z2 - z1)
    return (1.0 - t) * y_in + t * y_out


def load_bfield_csv(path: str | Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Read a two-column CSV of z [m], B [T] (no header required; a non-numeric first line is
    skipped as a header).

    Raises:
        SimulationInputError: missing file, fewer than two columns, a non-numeric value,
            z not strictly increasing, negative B, or fewer than two rows.
    """
    path = Path(path)
    if not path.is_file():
        raise SimulationInputError(f"magnetic field file {path}: not found")
    z, B = [], []
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    for n, line in enumerate(lines, start=1):
        parts = [p for p in line.replace(",", " ").replace(";", " ").split()]
        if len(parts) < 2:
            raise SimulationInputError(
                f"magnetic field file {path}, line {n}: need two columns z [m], B [T], got {line!r}")
        try:
            zv, bv = float(parts[0]), float(parts[1])
        except ValueError as exc:
            if n == 1:
                continue  # header line
            raise SimulationInputError(
                f"magnetic field file {path}, line {n}: non-numeric value in {line!r}") from exc
        if not (math.isfinite(zv) and math.isfinite(bv)):
            raise SimulationInputError(f"magnetic field file {path}, line {n}: non-finite value in {line!r}")
        z.append(zv)
        B.append(bv)
    if len(z) < 2:
        raise SimulationInputError(f"magnetic field file {path}: needs at least two rows of z, B")
    _check_stations(tuple(z), tuple(B), f"magnetic field file {path}")
    return tuple(z), tuple(B)


def _check_stations(z: tuple[float, ...], B: tuple[float, ...], where: str) -> None:
    if len(z) != len(B) or len(z) < 2:
        raise SimulationInputError(f"{where}: z and B need the same length ≥ 2, got {len(z)} and {len(B)}")
    if any(not (b > a) for a, b in itertools.pairwise(z)):
        raise SimulationInputError(f"{where}: z must be strictly increasing")
    if any(not (b >= 0.0) for b in B):
        raise SimulationInputError(f"{where}: B must be non-negative and finite")


@dataclass(frozen=True)
class Thruster:
    """Annular Hall-thruster channel and its radial field profile (docs/physics.md §2).

    Attributes:
        name: label.
        channel_length_m: channel length L_ch [m]; the exit is at z = L_ch.
        inner_radius_m: inner channel radius r_i [m].
        outer_radius_m: outer channel radius r_o [m].
        bfield_z_m: field stations z_k [m], strictly increasing.
        bfield_T: radial field B_k [T] at the stations, ≥ 0.
        shielded: magnetically shielded walls (wall T_e from the anode, docs/physics.md §7.2).
    """

    name: str
    channel_length_m: float
    inner_radius_m: float
    outer_radius_m: float
    bfield_z_m: tuple[float, ...]
    bfield_T: tuple[float, ...]
    shielded: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "bfield_z_m", tuple(float(v) for v in self.bfield_z_m))
        object.__setattr__(self, "bfield_T", tuple(float(v) for v in self.bfield_T))
        where = f"thruster {self.name!r}"
        if not (self.channel_length_m > 0.0 and math.isfinite(self.channel_length_m)):
            raise SimulationInputError(
                f"{where}: channel_length_m = {self.channel_length_m!r}, must be a positive length [m]")
        if not (self.inner_radius_m >= 0.0 and math.isfinite(self.inner_radius_m)):
            raise SimulationInputError(
                f"{where}: inner_radius_m = {self.inner_radius_m!r}, must be ≥ 0 [m]")
        if not (self.outer_radius_m > self.inner_radius_m and math.isfinite(self.outer_radius_m)):
            raise SimulationInputError(
                f"{where}: outer_radius_m = {self.outer_radius_m!r}, must exceed inner_radius_m = "
                f"{self.inner_radius_m!r}")
        _check_stations(self.bfield_z_m, self.bfield_T, where)

    @property
    def channel_area_m2(self) -> float:
        """A_ch = π (r_o² - r_i²) [m²]."""
        return math.pi * (self.outer_radius_m**2 - self.inner_radius_m**2)

    @property
    def channel_width_m(self) -> float:
        """Δr = r_o - r_i [m]."""
        return self.outer_radius_m - self.inner_radius_m

    @classmethod
    def spt100(cls) -> Thruster:
        """hall_diffusion SPT-100: L = 25 mm, r_i = 35 mm, r_o = 50 mm, 16 mT two-sided Gaussian
        sampled at the 58 stations of docs/physics.md §2.2 item 1."""
        z = [k * (0.004 / 67) for k in HALL_DIFFUSION_STATIONS]
        B = two_sided_gaussian_field(np.array(z), B_max_T=0.016, center_m=0.025)
        return cls("SPT-100", 0.025, 0.035, 0.05, tuple(z), tuple(float(b) for b in B))

    @classmethod
    def spt100_hallthruster(cls) -> Thruster:
        """HallThruster.jl built-in SPT_100: r_i = 34.5 mm, 15 mT analytic field sampled at 256
        equally spaced points on [0, 4 L_ch] (docs/physics.md §2.2 item 2; used by LANDMARK)."""
        L = 0.025
        z = np.array([i * (4 * L) / 255 for i in range(256)])
        B = two_sided_gaussian_field(z, B_max_T=0.015, center_m=L)
        return cls("SPT-100", L, 0.0345, 0.05, tuple(z), tuple(float(b) for b in B))

    @classmethod
    def from_csv(cls, name: str, channel_length_m: float, inner_radius_m: float, outer_radius_m: float,
                 path: str | Path, *, shielded: bool = False) -> Thruster:
        """A thruster whose field comes from a two-column CSV z [m], B [T] (see
        :func:`load_bfield_csv` for the checks)."""
        z, B = load_bfield_csv(path)
        return cls(name, channel_length_m, inner_radius_m, outer_radius_m, z, B, shielded)


def field_on_cells(thruster: Thruster, z_cell_m: np.ndarray, scale: float) -> np.ndarray:
    """B at the cell centres incl. ghosts [T] (docs/physics.md §2.2).

    Linear interpolation of the stations (clamped outside), times ``scale``, then both ghost
    values overwritten by linear extrapolation floored at zero.

    Args:
        thruster: the field stations.
        z_cell_m: cell centres incl. the two ghosts, shape (N+2,) [m].
        scale: ``magnetic_field_scale``.
    """
    B = np.interp(z_cell_m, np.array(thruster.bfield_z_m), np.array(thruster.bfield_T)) * scale
    B[0] = max(2.0 * B[1] - B[2], 0.0)
    B[-1] = max(2.0 * B[-2] - B[-3], 0.0)
    return B
