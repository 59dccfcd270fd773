"""Simulation configuration: thruster, models and numerics as frozen dataclasses (docs/physics.md §14).

Names carry units (style.md item 2). ``SimConfig.__post_init__`` validates every field and
raises :class:`hallctl.errors.SimulationInputError` naming the field, the bad value and what is
allowed. Use :func:`dataclasses.replace` (or ``SimConfig.hall_diffusion(**overrides)``) to vary
a configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from hallctl.errors import SimulationInputError
from hallctl.sim.anomalous import (
    ANOM_MODELS,
    Bohm,
    GaussianBohm,
    LogisticPressureShift,
    MultiLogBohm,
    NoAnom,
    TwoZoneBohm,
    six_parameter_profile,
)
from hallctl.sim.thruster import Thruster
from hallctl.sim.walls import WALL_MODELS, ConstantSheathPotential, NoWallLosses, WallSheath

__all__ = [
    "ANOM_MODELS",
    "CONDUCTIVITY_MODELS",
    "WALL_MODELS",
    "ConstantSheathPotential",
    "GaussianBohm",
    "LogisticPressureShift",
    "MultiLogBohm",
    "NoAnom",
    "NoWallLosses",
    "SimConfig",
    "Thruster",
    "TwoZoneBohm",
    "WallSheath",
]

CONDUCTIVITY_MODELS = ("braginskii", "mitchner", "landmark")
"""Electron thermal-conductivity closures (docs/physics.md §6.2)."""

AnomModel = NoAnom | Bohm | TwoZoneBohm | GaussianBohm | MultiLogBohm | LogisticPressureShift
WallModel = NoWallLosses | WallSheath | ConstantSheathPotential


def _default_profile() -> MultiLogBohm:
    """hall_diffusion-style MultiLogBohm: six-parameter profile at central parameter values,
    no GP noise, on 256 nodes over [0, 3.2 L_ch] (docs/physics.md §10.1)."""
    L = 0.025
    z = np.linspace(0.0, 3.2 * L, 256)
    c = six_parameter_profile(z, L_ch_m=L, anom_minimum=0.05, anom_width=0.3, anom_slope=0.5,
                              anom_step=0.5, anom_scale=0.1, anom_center=1.1)
    return MultiLogBohm(tuple(z), tuple(c))


@dataclass(frozen=True)
class SimConfig:
    """Everything one simulation needs (docs/physics.md; defaults follow HallThruster.jl v0.21.6).

    Attributes (SI unless the name says otherwise):
        thruster: geometry and field (:class:`Thruster`); SPT-100 (hall_diffusion) by default.
        domain_m: (z_0, z_N) of the simulation domain [m], anode at z_0.
        num_cells: number of interior cells N (≥ 3), even grid.
        discharge_voltage_V: V_d [V] > 0.
        cathode_coupling_voltage_V: potential of the cathode plane V_cc [V].
        anode_mass_flow_rate_kg_s: anode xenon flow ṁ_a [kg/s] > 0.
        max_charge: highest ion charge (1..3).
        neutral_velocity_m_s: u_n [m/s] > 0; neutral_temperature_K: T_n for its wave speed.
        ion_temperature_K: T_i [K] ≥ 0 (isothermal ions).
        anom_model: one of :data:`ANOM_MODELS`.
        wall_model: one of :data:`WALL_MODELS`.
        conductivity_model: "braginskii" | "mitchner" | "landmark".
        electron_ion_collisions: include ν_ei.
        ion_wall_losses: radial ion losses that recombine into neutrals (§7.3).
        background_pressure_Torr, background_temperature_K, neutral_ingestion_multiplier:
            background-gas ingestion at the anode (§8.1).
        solve_plume: quasi-1D plume expansion (§2.4); apply_thrust_divergence_correction.
        electron_plume_loss_scale: β of the wall energy loss outside the channel.
        magnetic_field_scale: multiplies B everywhere.
        transition_length_m: width ℓ of the inside/outside ramp; None → 0.1 L_ch.
        reconstruct: van Leer reconstruction (second order) of the heavy species.
        anode_boundary_condition: "sheath" | "dirichlet"; anode_Te_eV, cathode_Te_eV.
        min_Te_eV: floor of T_e; implicit_energy: θ of the energy equation (1 = backward Euler).
        landmark: LANDMARK-benchmark switches (§15).
        reaction_model: "lookup" (Xe) | "landmark".
        landmark_rates_file: optional LANDMARK CSV (ε, k_iz, k_loss); None → the §9.3 fit.
        reaction_rate_directories: directories of upstream-format rate tables that replace the
            §9.3 fits for the reactions they contain (upstream's option of the same name).
        current_limit_A: clamp of I_d [A].
        min_ion_density_m3, max_ion_density_m3, max_electron_temperature_eV: initial condition
            (§12); max_electron_temperature_eV ≤ 0 → V_d/10.
        dt_s: base/first-fallback time step [s]; duration_s; num_save frames on [0, duration].
        adaptive, cfl (< 0.8), min_dt_s, max_dt_s, max_small_steps: time stepping (§11.4).
        average_start_time_s: time averages use the frames with t ≥ this; None → from frame
            ⌊num_save/2⌋ (1-based, docs/physics.md §14).
    """

    thruster: Thruster = field(default_factory=Thruster.spt100)
    domain_m: tuple[float, float] = (0.0, 0.08)
    num_cells: int = 128
    discharge_voltage_V: float = 300.0
    cathode_coupling_voltage_V: float = 0.0
    anode_mass_flow_rate_kg_s: float = 5e-6
    max_charge: int = 3
    neutral_velocity_m_s: float = 150.0
    neutral_temperature_K: float = 500.0
    ion_temperature_K: float = 1000.0
    anom_model: AnomModel = field(default_factory=TwoZoneBohm)
    wall_model: WallModel = field(default_factory=WallSheath)
    conductivity_model: str = "braginskii"
    electron_ion_collisions: bool = True
    ion_wall_losses: bool = False
    background_pressure_Torr: float = 0.0
    background_temperature_K: float = 100.0
    neutral_ingestion_multiplier: float = 1.0
    solve_plume: bool = False
    apply_thrust_divergence_correction: bool = False
    electron_plume_loss_scale: float = 1.0
    magnetic_field_scale: float = 1.0
    transition_length_m: float | None = None
    reconstruct: bool = True
    anode_boundary_condition: str = "sheath"
    anode_Te_eV: float = 2.0
    cathode_Te_eV: float = 2.0
    min_Te_eV: float = 1.5
    implicit_energy: float = 1.0
    landmark: bool = False
    reaction_model: str = "lookup"
    landmark_rates_file: str | None = None
    reaction_rate_directories: tuple[str, ...] = ()
    current_limit_A: float = math.inf
    min_ion_density_m3: float = 2e17
    max_ion_density_m3: float = 1e18
    max_electron_temperature_eV: float = -1.0
    dt_s: float = 1e-9
    duration_s: float = 2e-3
    num_save: int = 2001
    adaptive: bool = True
    cfl: float = 0.799
    min_dt_s: float = 1e-10
    max_dt_s: float = 1e-7
    max_small_steps: int = 100
    average_start_time_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "domain_m", tuple(float(v) for v in self.domain_m))
        object.__setattr__(self, "reaction_rate_directories", tuple(str(d) for d in self.reaction_rate_directories))
        if self.landmark_rates_file is not None:
            object.__setattr__(self, "landmark_rates_file", str(self.landmark_rates_file))
        self.validate()

    # ----------------------------------------------------------------------------------------
    def validate(self) -> None:
        """Check every field; raise :class:`SimulationInputError` naming the first bad one."""
        if not isinstance(self.thruster, Thruster):
            _bad("thruster", self.thruster, "a hallctl.sim.Thruster")
        if len(self.domain_m) != 2 or not all(math.isfinite(v) for v in self.domain_m) or not (
                self.domain_m[1] > self.domain_m[0]):
            _bad("domain_m", self.domain_m, "two finite numbers (z_0, z_N) [m] with z_N > z_0")
        _int_at_least("num_cells", self.num_cells, 3)
        _positive("discharge_voltage_V", self.discharge_voltage_V)
        _finite("cathode_coupling_voltage_V", self.cathode_coupling_voltage_V)
        _positive("anode_mass_flow_rate_kg_s", self.anode_mass_flow_rate_kg_s)
        if isinstance(self.max_charge, bool) or self.max_charge not in (1, 2, 3):
            _bad("max_charge", self.max_charge, "1, 2 or 3")
        _positive("neutral_velocity_m_s", self.neutral_velocity_m_s)
        _nonnegative("neutral_temperature_K", self.neutral_temperature_K)
        _nonnegative("ion_temperature_K", self.ion_temperature_K)
        if not isinstance(self.anom_model, tuple(ANOM_MODELS.values())):
            _bad("anom_model", self.anom_model, f"one of {sorted(ANOM_MODELS)}")
        if not isinstance(self.wall_model, tuple(WALL_MODELS.values())):
            _bad("wall_model", self.wall_model, f"one of {sorted(WALL_MODELS)}")
        _choice("conductivity_model", self.conductivity_model, CONDUCTIVITY_MODELS)
        _nonnegative("background_pressure_Torr", self.background_pressure_Torr)
        _positive("background_temperature_K", self.background_temperature_K)
        _nonnegative("neutral_ingestion_multiplier", self.neutral_ingestion_multiplier)
        _nonnegative("electron_plume_loss_scale", self.electron_plume_loss_scale)
        _nonnegative("magnetic_field_scale", self.magnetic_field_scale)
        if self.transition_length_m is not None:
            _positive("transition_length_m", self.transition_length_m)
        _choice("anode_boundary_condition", self.anode_boundary_condition, ("sheath", "dirichlet"))
        _positive("anode_Te_eV", self.anode_Te_eV)
        _positive("cathode_Te_eV", self.cathode_Te_eV)
        _positive("min_Te_eV", self.min_Te_eV)
        if not (0.0 <= self.implicit_energy <= 1.0):
            _bad("implicit_energy", self.implicit_energy, "a number in [0, 1] (1 = backward Euler)")
        _choice("reaction_model", self.reaction_model, ("lookup", "landmark"))
        if not (self.current_limit_A > 0.0):
            _bad("current_limit_A", self.current_limit_A, "a positive current [A] (inf = no limit)")
        _positive("min_ion_density_m3", self.min_ion_density_m3)
        _positive("max_ion_density_m3", self.max_ion_density_m3)
        if self.max_ion_density_m3 < self.min_ion_density_m3:
            _bad("max_ion_density_m3", self.max_ion_density_m3, f"≥ min_ion_density_m3 = {self.min_ion_density_m3}")
        _finite("max_electron_temperature_eV", self.max_electron_temperature_eV)
        _positive("dt_s", self.dt_s)
        _positive("duration_s", self.duration_s)
        _int_at_least("num_save", self.num_save, 2)
        if not (0.0 < self.cfl < 0.8):
            _bad("cfl", self.cfl, "a number in (0, 0.8) (upstream forces CFL < 0.8)")
        _positive("min_dt_s", self.min_dt_s)
        _positive("max_dt_s", self.max_dt_s)
        if self.max_dt_s < self.min_dt_s:
            _bad("max_dt_s", self.max_dt_s, f"≥ min_dt_s = {self.min_dt_s}")
        _int_at_least("max_small_steps", self.max_small_steps, 1)
        if self.average_start_time_s is not None and not (
                0.0 <= self.average_start_time_s <= self.duration_s):
            _bad("average_start_time_s", self.average_start_time_s, f"None or a time in [0, {self.duration_s}] s")

    # ----------------------------------------------------------------------------------------
    @property
    def transition_length(self) -> float:
        """Resolved transition length ℓ [m] (None → 0.1 L_ch)."""
        if self.transition_length_m is None:
            return 0.1 * self.thruster.channel_length_m
        return self.transition_length_m

    @property
    def max_Te_initial_eV(self) -> float:
        """Peak T_e of the initial condition (≤ 0 → V_d/10, docs/physics.md §12)."""
        if self.max_electron_temperature_eV > 0:
            return self.max_electron_temperature_eV
        return self.discharge_voltage_V / 10.0

    def average_start_frame(self, save_times_s: np.ndarray) -> int:
        """0-based index of the first frame in the time average."""
        if self.average_start_time_s is None:
            return max(self.num_save // 2 - 1, 0)
        idx = np.nonzero(save_times_s >= self.average_start_time_s)[0]
        return int(idx[0]) if idx.size else len(save_times_s) - 1

    @property
    def average_start_s(self) -> float:
        """The averaging start as a time [s], for solvers that take a time: ``average_start_time_s``, or,
        when None, a quarter frame before frame ⌊num_save/2⌋ (1-based), which selects the same frames."""
        if self.average_start_time_s is not None:
            return self.average_start_time_s
        frame_dt = self.duration_s / (self.num_save - 1)
        return max((max(self.num_save // 2 - 1, 0) - 0.25) * frame_dt, 0.0)

    @classmethod
    def hall_diffusion(cls, **overrides: Any) -> SimConfig:
        """The hall_diffusion configuration of docs/physics.md §14 with ``overrides`` applied.

        SPT-100 (hall_diffusion field), domain [0, 3.2 L_ch], 128 cells, Xe 1–3, WallSheath
        BNSiO2, Braginskii, ion wall losses, current limit 100 A, ℓ = 2.5 mm, 2 ms, 2001 frames,
        MultiLogBohm on the six-parameter profile at central parameter values (no noise).
        """
        thruster = overrides.pop("thruster", Thruster.spt100())
        base = cls(
            thruster=thruster,
            domain_m=(0.0, 3.2 * thruster.channel_length_m),
            num_cells=128,
            max_charge=3,
            anom_model=_default_profile(),
            wall_model=WallSheath("BNSiO2", 1.0),
            conductivity_model="braginskii",
            electron_ion_collisions=True,
            ion_wall_losses=True,
            current_limit_A=100.0,
            transition_length_m=2.5e-3,
            duration_s=2e-3,
            num_save=2001,
            dt_s=1e-9,
        )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise SimulationInputError(f"SimConfig.hall_diffusion: unknown field(s) {unknown}")
        return replace(base, **overrides)


def _bad(name: str, value: object, allowed: str) -> None:
    raise SimulationInputError(f"SimConfig.{name} = {value!r} is invalid; allowed: {allowed}")


def _finite(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _bad(name, value, "a finite number")


def _positive(name: str, value: float) -> None:
    _finite(name, value)
    if not value > 0:
        _bad(name, value, "a positive number")


def _nonnegative(name: str, value: float) -> None:
    _finite(name, value)
    if not value >= 0:
        _bad(name, value, "a number ≥ 0")


def _int_at_least(name: str, value: int, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
        _bad(name, value, f"an integer ≥ {lo}")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        _bad(name, value, " | ".join(repr(a) for a in allowed))
