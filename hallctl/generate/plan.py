"""From a campaign plan and one parameter draw to a solver configuration.

A :class:`CampaignPlan` holds what determines a campaign's simulations: the [simulation] settings,
the thruster, the parameter priors and the campaign seed (``hallctl.commands.generate`` builds it
from the project file). Shared by ``hallctl simulate`` (the nominal point of [simulation],
``--param`` overrides) and ``hallctl generate`` (one prior draw per simulation). Simulation i of a
campaign is fully determined by (plan, i): :func:`draw_job` regenerates it alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hallctl.errors import ProjectError, SimulationInputError
from hallctl.jobs import SimJob, derive_seed
from hallctl.priors import Prior
from hallctl.sections import FIXED_ANOM_MODELS, PARAMETER_NAMES, SimulationSection
from hallctl.sim.anomalous import (
    Bohm,
    GaussianBohm,
    LogisticPressureShift,
    MultiLogBohm,
    NoAnom,
    TwoZoneBohm,
    gp_perturbation,
    six_parameter_profile,
)
from hallctl.sim.config import ConstantSheathPotential, NoWallLosses, SimConfig, WallSheath
from hallctl.sim.thruster import Thruster

__all__ = ["CampaignPlan", "anom_model_for", "draw_job", "nominal_job", "profile_nodes", "sim_config_for"]

ANOM_PARAMETERS = ("anom_minimum", "anom_width", "anom_slope", "anom_step", "anom_scale", "anom_center")


@dataclass(frozen=True)
class CampaignPlan:
    """What determines every simulation of a campaign (and ``hallctl simulate``'s nominal run).

    Attributes:
        simulation: physics and numerics of each run, and the nominal operating point.
        thruster: geometry and magnetic field.
        priors: the prior of each campaign parameter (``PARAMETER_NAMES``).
        seed: the campaign seed; simulation i draws from ``derive_seed(seed, i)``.
    """

    simulation: SimulationSection = field(default_factory=SimulationSection)
    thruster: Thruster = field(default_factory=Thruster.spt100)
    priors: Mapping[str, Prior] = field(default_factory=dict)
    seed: int = 0


def profile_nodes(plan: CampaignPlan) -> np.ndarray:
    """Anomalous-profile nodes: ``profile_points_per_cell × num_cells`` points over the domain."""
    s = plan.simulation
    q = s.profile_points_per_cell * s.num_cells
    return np.linspace(0.0, s.domain_channel_lengths * plan.thruster.channel_length_m, q)


def _anomalous_profile(plan: CampaignPlan, params: dict[str, float],
                       rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    z = profile_nodes(plan)
    L = plan.thruster.channel_length_m
    c = six_parameter_profile(z, L_ch_m=L, **{k: params[k] for k in ANOM_PARAMETERS})
    s = plan.simulation
    if rng is not None and s.perturbation_scale > 0:
        c = c * np.exp(gp_perturbation(rng, z, L_ch_m=L, sigma=s.perturbation_scale,
                                       length_scale=s.perturbation_length))
    return z, c


def draw_job(plan: CampaignPlan, index: int) -> SimJob:
    """Draw simulation ``index`` of the campaign: parameters from the priors, then the GP noise."""
    seed = derive_seed(plan.seed, index)
    rng = np.random.default_rng(seed)
    params = {name: float(plan.priors[name].draw(rng, 1)[0]) for name in PARAMETER_NAMES}
    z, c = _anomalous_profile(plan, params, rng)
    return SimJob(index=index, seed=seed, params=params, anom_z_m=z, anom_c=c)


def nominal_job(plan: CampaignPlan, overrides: dict[str, float] | None = None, *, seed: int | None = None) -> SimJob:
    """The [simulation] nominal point with ``overrides``; GP noise only when ``seed`` is given."""
    params = {name: float(getattr(plan.simulation, name)) for name in PARAMETER_NAMES}
    for key, value in (overrides or {}).items():
        if key not in params:
            raise ProjectError(f"unknown parameter '{key}'; valid: {', '.join(PARAMETER_NAMES)}")
        params[key] = float(value)
    rng = np.random.default_rng(seed) if seed is not None else None
    z, c = _anomalous_profile(plan, params, rng)
    return SimJob(index=0, seed=-1 if seed is None else seed, params=params, anom_z_m=z, anom_c=c)


def _average_start_time(duration_s: float, num_save: int, fraction: float) -> float:
    """Start of the averaging window: 1-based frame ⌊num_save·fraction⌋ (docs/physics.md §14), minus a
    quarter frame so round-off in the save times never drops that frame."""
    frame_dt = duration_s / (num_save - 1)
    first = max(int(num_save * fraction) - 1, 0)
    return max(first * frame_dt - 0.25 * frame_dt, 0.0)


def _fixed_anom_model(name: str, params: list[float]) -> Any:
    n = FIXED_ANOM_MODELS[name]
    if (n is None and (len(params) < 2 or len(params) % 2)) or (n is not None and len(params) != n):
        want = (f"{n} number" + ("s" if n != 1 else "") if n is not None
                else "K positions [m] then K coefficients (an even number, at least 2)")
        raise ProjectError(f"simulation.anom_params = {params} does not fit anom_model = '{name}': it takes {want}")
    try:
        if name == "MultiLogBohm":
            k = len(params) // 2
            return MultiLogBohm(tuple(params[:k]), tuple(params[k:]))
        return {"none": NoAnom, "Bohm": Bohm, "TwoZoneBohm": TwoZoneBohm, "GaussianBohm": GaussianBohm}[name](*params)
    except SimulationInputError as exc:
        raise ProjectError(f"simulation.anom_params: {exc}") from None


def anom_model_for(s: SimulationSection, job: SimJob) -> Any:
    """The anomalous model of a run: the job's profile (``profile``) or the fixed model of [simulation],
    shifted with the background pressure when ``pressure_shift`` is set (docs/physics.md §10)."""
    if s.anom_model == "profile":
        if s.anom_params:
            raise ProjectError(f"simulation.anom_params = {list(s.anom_params)} needs a fixed anom_model (TwoZoneBohm, "
                               "Bohm, GaussianBohm, MultiLogBohm); the profile takes the anom_* parameters")
        base = MultiLogBohm(tuple(float(x) for x in job.anom_z_m), tuple(float(x) for x in job.anom_c))
    else:
        base = _fixed_anom_model(s.anom_model, [float(v) for v in s.anom_params])
    if not s.pressure_shift:
        return base
    if len(s.pressure_shift) != 4:
        raise ProjectError(f"simulation.pressure_shift = {s.pressure_shift} must be [z0, dz, pstar_Torr, alpha] "
                           "(or empty)")
    try:
        return LogisticPressureShift(base, *(float(v) for v in s.pressure_shift))
    except SimulationInputError as exc:
        raise ProjectError(f"simulation.pressure_shift: {exc}") from None


def sim_config_for(plan: CampaignPlan, job: SimJob) -> SimConfig:
    """The solver configuration of one job (docs/physics.md §14 with the plan's choices)."""
    s, thruster = plan.simulation, plan.thruster
    p = job.params
    if s.wall_model == "WallSheath":
        wall = WallSheath(s.wall_material, p["wall_loss_scale"])
    elif s.wall_model == "ConstantSheathPotential":
        wall = ConstantSheathPotential(20.0, p["wall_loss_scale"], 1.0)
    else:
        wall = NoWallLosses()
    return SimConfig(
        thruster=thruster,
        domain_m=(0.0, s.domain_channel_lengths * thruster.channel_length_m),
        num_cells=s.num_cells,
        discharge_voltage_V=p["discharge_voltage_v"],
        cathode_coupling_voltage_V=p["cathode_coupling_voltage_v"],
        anode_mass_flow_rate_kg_s=p["anode_mass_flow_rate_kg_s"],
        max_charge=s.max_charge,
        neutral_velocity_m_s=p["neutral_velocity_m_s"],
        neutral_temperature_K=s.neutral_temperature_K,
        ion_temperature_K=s.ion_temperature_K,
        anom_model=anom_model_for(s, job),
        wall_model=wall,
        conductivity_model=s.conductivity_model,
        electron_ion_collisions=s.electron_ion_collisions,
        ion_wall_losses=s.ion_wall_losses,
        background_pressure_Torr=s.background_pressure_Torr,
        background_temperature_K=s.background_temperature_K,
        solve_plume=s.solve_plume,
        landmark=s.landmark,
        anode_boundary_condition=s.anode_boundary_condition,
        reaction_model=s.reaction_model,
        magnetic_field_scale=p["magnetic_field_scale"],
        transition_length_m=s.transition_length_m,
        reconstruct=s.reconstruct,
        anode_Te_eV=s.anode_Te_eV,
        cathode_Te_eV=s.cathode_Te_eV,
        min_Te_eV=s.min_Te_eV,
        current_limit_A=s.current_limit_A,
        dt_s=s.dt_s,
        duration_s=s.duration_s,
        num_save=s.num_save,
        cfl=s.cfl,
        min_dt_s=s.min_dt_s,
        max_dt_s=s.max_dt_s,
        average_start_time_s=_average_start_time(s.duration_s, s.num_save, s.average_start_fraction),
    )
