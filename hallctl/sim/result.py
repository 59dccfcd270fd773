"""Result of one simulation: status, time-averaged profiles, time series, performance (§13)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hallctl.sim.config import SimConfig

__all__ = ["PERFORMANCE_KEYS", "PROFILE_UNITS", "TIME_SERIES_UNITS", "Result"]

PROFILE_UNITS: dict[str, str] = {
    "B": "T",
    "nu_e": "1/s",
    "nu_an": "1/s",
    "nu_en": "1/s",
    "nu_ei": "1/s",
    "nu_iz": "1/s",
    "nu_ex": "1/s",
    "nu_wall": "1/s",
    "nu_class": "1/s",
    "mobility": "m^2/(V s)",
    "nn": "1/m^3",
    "ne": "1/m^3",
    "ni_1": "1/m^3",
    "ni_2": "1/m^3",
    "ni_3": "1/m^3",
    "ui_1": "m/s",
    "ui_2": "m/s",
    "ui_3": "m/s",
    "niui_1": "1/(m^2 s)",
    "niui_2": "1/(m^2 s)",
    "niui_3": "1/(m^2 s)",
    "ue": "m/s",
    "ji": "A/m^2",
    "phi": "V",
    "E": "V/m",
    "Tev": "eV",
    "pe": "eV/m^3",
    "grad_pe": "eV/m^4",
    "channel_area": "m^2",
    "tan_div_angle": "1",
}
"""Time-averaged profiles of :class:`Result` and their SI units. Each has N+2 entries: the
boundary-edge value, the N cell centres, the other boundary-edge value (docs/physics.md §13). Ion
species above ``max_charge`` are zeros so that the schema is fixed."""

TIME_SERIES_UNITS: dict[str, str] = {
    "t_s": "s",
    "discharge_current_A": "A",
    "ion_current_A": "A",
    "thrust_N": "N",
}
"""Per-frame time series of :class:`Result`."""

PERFORMANCE_KEYS = (
    "thrust_N",
    "discharge_current_A",
    "ion_current_A",
    "anode_efficiency",
    "mass_utilization",
    "current_utilization",
    "voltage_efficiency",
    "divergence_efficiency",
    "max_Te_eV",
    "z_max_Te_m",
    "max_E_V_m",
    "z_max_E_m",
)
"""Keys of :attr:`Result.performance`, computed from the time-averaged frame (docs/physics.md §13)."""


@dataclass
class Result:
    """Outcome of :func:`hallctl.sim.simulate`.

    Attributes:
        status: "success", "failure" (non-finite state, §11.7) or "error" (anything else).
        reason: short phrase, "" on success.
        config: the configuration that ran.
        z_m: grid [z_0, cell centres, z_N] [m], shape (N+2,).
        profiles: time-averaged profiles (:data:`PROFILE_UNITS`), each shape (N+2,); NaN when
            no frame of the averaging window was reached.
        t_s, discharge_current_A, ion_current_A, thrust_N: per saved frame (frames reached).
        performance: :data:`PERFORMANCE_KEYS` → value (NaN when unavailable).
        steps: time steps taken; mean_dt_s: mean adaptive Δt proposal over the averaged
            frames [s]; wall_s: run time [s] without compilation; compile_s: time to
            compile or load the kernels [s].
    """

    status: str
    reason: str
    config: SimConfig
    z_m: np.ndarray
    profiles: dict[str, np.ndarray] = field(default_factory=dict)
    t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    discharge_current_A: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ion_current_A: np.ndarray = field(default_factory=lambda: np.zeros(0))
    thrust_N: np.ndarray = field(default_factory=lambda: np.zeros(0))
    performance: dict[str, float] = field(default_factory=dict)
    steps: int = 0
    mean_dt_s: float = math.nan
    wall_s: float = 0.0
    compile_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when ``status == "success"``."""
        return self.status == "success"

    def interior(self, name: str) -> np.ndarray:
        """The N interior (cell-centre) values of profile ``name``."""
        return self.profiles[name][1:-1]

    @property
    def z_cells_m(self) -> np.ndarray:
        """The N cell centres [m]."""
        return self.z_m[1:-1]
