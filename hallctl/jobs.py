"""What a backend is asked to run and what it returns: campaign jobs and outcomes.

Below both :mod:`hallctl.generate` (which draws the jobs and stores the outcomes) and
:mod:`hallctl.backends` (which run them), so neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["PERFORMANCE_NAMES", "RECORD_FIELDS", "SERIES_NAMES", "SimJob", "SimOutcome", "derive_seed"]

#: Time-averaged profiles kept per simulation (interior cells), with SI units.
RECORD_FIELDS: dict[str, str] = {
    "B": "T", "nu_e": "1/s", "nu_an": "1/s", "nn": "1/m^3", "ne": "1/m^3", "ni_1": "1/m^3",
    "ni_2": "1/m^3", "ni_3": "1/m^3", "ui_1": "m/s", "ui_2": "m/s", "ui_3": "m/s", "ue": "m/s",
    "phi": "V", "E": "V/m", "Tev": "eV", "pe": "eV/m^3", "grad_pe": "eV/m^4",
    "nu_en": "1/s", "nu_ei": "1/s", "nu_iz": "1/s", "nu_ex": "1/s", "nu_wall": "1/s",
    "nu_class": "1/s", "mobility": "m^2/(V s)", "ji": "A/m^2",
}
#: Time series kept per simulation (every saved frame).
SERIES_NAMES = ("discharge_current_A", "ion_current_A", "thrust_N")
#: Performance figures of the time-averaged frame (docs/physics.md §13).
PERFORMANCE_NAMES = (
    "thrust_N", "discharge_current_A", "ion_current_A", "anode_efficiency", "mass_utilization",
    "current_utilization", "voltage_efficiency", "divergence_efficiency", "max_Te_eV", "z_max_Te_m",
    "max_E_V_m", "z_max_E_m",
)


@dataclass
class SimOutcome:
    """One finished simulation, backend-independent (profiles on interior cells)."""

    status: str  # success | failure (diverged or refused: final) | error (an exception: retried on resume)
    reason: str
    z_m: np.ndarray | None = None  # (cells,)
    profiles: dict[str, np.ndarray] = field(default_factory=dict)
    t_s: np.ndarray | None = None  # (T,)
    series: dict[str, np.ndarray] = field(default_factory=dict)
    performance: dict[str, float] = field(default_factory=dict)
    steps: int = 0
    wall_s: float = 0.0



@dataclass(frozen=True)
class SimJob:
    """One simulation of a campaign: its index, seed, drawn parameters and anomalous profile."""

    index: int
    seed: int
    params: dict[str, float]
    anom_z_m: np.ndarray  # (Q,) profile nodes
    anom_c: np.ndarray  # (Q,) Bohm coefficient c(z) at the nodes (GP noise included)


def derive_seed(campaign_seed: int, index: int) -> int:
    """Seed of simulation ``index``: a hash of (campaign seed, index), independent of threads/order."""
    state = np.random.SeedSequence([int(campaign_seed), int(index)]).generate_state(1, np.uint64)[0]
    return int(state & np.uint64(0x7FFF_FFFF_FFFF_FFFF))
