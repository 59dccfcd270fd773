"""Performance figures of a time-averaged frame (docs/physics.md §13), shared by both backends.

The native solver calls :func:`performance` on its averaged profiles; the julia backend calls the
same function on HallThruster.jl's averaged frame, and :func:`frame_thrust_ion_current` on each
saved frame's boundary values, so both backends report the same quantities by the same formulas.
Profiles are indexed as in :class:`hallctl.sim.Result`: entry 0 and entry -1 are the two
boundary-edge values (the interior cells, when present, lie between them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from hallctl.sim.config import SimConfig
from hallctl.sim.constants import E_CHARGE, M_XE

__all__ = ["frame_thrust_ion_current", "peaks", "performance", "thrust_N"]


def thrust_N(prof: Mapping[str, np.ndarray], max_charge: int, divergence_correction: bool) -> float:
    """Σ_Z [A_R m (nu)²_R / n_R − A_L m (nu)²_L / n_L], times √η_div when ``divergence_correction``."""
    m = M_XE
    A = prof["channel_area"]
    thrust = 0.0
    for Z in range(1, max_charge + 1):
        n, f = prof[f"ni_{Z}"], prof[f"niui_{Z}"]
        thrust += A[-1] * m * f[-1] ** 2 / n[-1] - A[0] * m * f[0] ** 2 / n[0]
    if divergence_correction:
        thrust *= math.sqrt(math.cos(math.atan(prof["tan_div_angle"][-1])) ** 2)
    return float(thrust)


def frame_thrust_ion_current(edges: Mapping[str, np.ndarray], config: SimConfig) -> tuple[np.ndarray, np.ndarray]:
    """Thrust [N] and ion current [A] per frame from each frame's two boundary values.

    Args:
        edges: ``channel_area``, ``tan_div_angle``, ``ji``, ``ni_Z`` and ``niui_Z`` (Z ≤ max_charge), each of
            shape (frames, 2): the anode-side and the exit-side boundary value of every saved frame.
    """
    frames = len(edges["channel_area"])
    thrust = np.array([thrust_N({k: v[i] for k, v in edges.items()}, config.max_charge,
                                config.apply_thrust_divergence_correction) for i in range(frames)])
    ion_current = np.asarray(edges["ji"], dtype=float)[:, -1] * np.asarray(edges["channel_area"], dtype=float)[:, -1]
    return thrust.reshape(frames), ion_current.reshape(frames)


def peaks(z_cells_m: np.ndarray, Tev: np.ndarray, E: np.ndarray) -> dict[str, float]:
    """Maximum of T_e and of E over the interior cells, and where they are."""
    iT = int(np.argmax(Tev))
    iE = int(np.argmax(E))
    return {"max_Te_eV": float(Tev[iT]), "z_max_Te_m": float(z_cells_m[iT]),
            "max_E_V_m": float(E[iE]), "z_max_E_m": float(z_cells_m[iE])}


def performance(config: SimConfig, prof: Mapping[str, np.ndarray], Id: float, z_m: np.ndarray) -> dict[str, float]:
    """Metrics of the time-averaged frame (docs/physics.md §13).

    Args:
        config: the configuration that ran (flow rate, voltage, charge states, divergence switch).
        prof: averaged profiles of N+2 entries (boundary-edge value, N cells, boundary-edge value):
            channel_area, tan_div_angle, ji, ni_Z, niui_Z, ui_1, Tev, E.
        Id: the averaged discharge current [A].
        z_m: the grid [z_0, cell centres, z_N] [m].
    """
    m = M_XE
    A = prof["channel_area"]
    mass_flux = 0.0
    for Z in range(1, config.max_charge + 1):
        mass_flux += m * prof[f"niui_{Z}"][-1] * A[-1]
    div_eff = math.cos(math.atan(prof["tan_div_angle"][-1])) ** 2
    thrust = thrust_N(prof, config.max_charge, config.apply_thrust_divergence_correction)
    Ii = prof["ji"][-1] * A[-1]
    mdot = config.anode_mass_flow_rate_kg_s
    Vd = config.discharge_voltage_V
    return {
        "thrust_N": thrust,
        "discharge_current_A": Id,
        "ion_current_A": Ii,
        "anode_efficiency": thrust**2 / (2.0 * mdot * Id * Vd) if Id > 0 else math.nan,
        "mass_utilization": mass_flux / mdot,
        "current_utilization": Ii / Id if Id > 0 else math.nan,
        "voltage_efficiency": 0.5 * m * prof["ui_1"][-1] ** 2 / (E_CHARGE * Vd),
        "divergence_efficiency": div_eff,
        **peaks(z_m[1:-1], prof["Tev"][1:-1], prof["E"][1:-1]),
    }
