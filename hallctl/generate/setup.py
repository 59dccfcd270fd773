"""From the project file and one parameter draw to a solver configuration.

Shared by ``hallctl simulate`` (the nominal point of [simulation], ``--param`` overrides) and
``hallctl generate`` (one prior draw per simulation). Simulation i of a campaign is fully
determined by (project, campaign seed, i): :func:`draw_job` regenerates it alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hallctl.errors import ProjectError
from hallctl.project import PARAMETER_NAMES, Project
from hallctl.sim.anomalous import MultiLogBohm, gp_perturbation, six_parameter_profile
from hallctl.sim.config import ConstantSheathPotential, NoWallLosses, SimConfig, WallSheath
from hallctl.sim.thruster import Thruster

__all__ = ["SimJob", "derive_seed", "draw_job", "nominal_job", "sim_config_for", "thruster_from_project"]

ANOM_PARAMETERS = ("anom_minimum", "anom_width", "anom_slope", "anom_step", "anom_scale", "anom_center")


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


def thruster_from_project(project: Project) -> Thruster:
    """The [thruster] section as a solver Thruster (custom thrusters read their B-field CSV)."""
    t = project.thruster
    if t.name == "spt100":
        return Thruster.spt100()
    if t.name == "spt100-hallthruster":
        return Thruster.spt100_hallthruster()
    if not t.bfield_csv:
        raise ProjectError("thruster.name = 'custom' needs thruster.bfield_csv (a CSV of z [m], B [T])")
    return Thruster.from_csv("custom", t.channel_length_m, t.inner_radius_m, t.outer_radius_m,
                             project.path(t.bfield_csv))


def profile_nodes(project: Project, thruster: Thruster) -> np.ndarray:
    """Anomalous-profile nodes: ``profile_points_per_cell × num_cells`` points over the domain."""
    s = project.simulation
    q = s.profile_points_per_cell * s.num_cells
    return np.linspace(0.0, s.domain_channel_lengths * thruster.channel_length_m, q)


def _anomalous_profile(project: Project, thruster: Thruster, params: dict[str, float],
                       rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    z = profile_nodes(project, thruster)
    L = thruster.channel_length_m
    c = six_parameter_profile(z, L_ch_m=L, **{k: params[k] for k in ANOM_PARAMETERS})
    s = project.simulation
    if rng is not None and s.perturbation_scale > 0:
        c = c * np.exp(gp_perturbation(rng, z, L_ch_m=L, sigma=s.perturbation_scale,
                                       length_scale=s.perturbation_length))
    return z, c


def draw_job(project: Project, index: int, thruster: Thruster | None = None) -> SimJob:
    """Draw simulation ``index`` of the campaign: parameters from the priors, then the GP noise."""
    thruster = thruster or thruster_from_project(project)
    seed = derive_seed(project.generate.seed, index)
    rng = np.random.default_rng(seed)
    params = {name: float(project.generate.params[name].draw(rng, 1)[0]) for name in PARAMETER_NAMES}
    z, c = _anomalous_profile(project, thruster, params, rng)
    return SimJob(index=index, seed=seed, params=params, anom_z_m=z, anom_c=c)


def nominal_job(project: Project, overrides: dict[str, float] | None = None, *, seed: int | None = None,
                thruster: Thruster | None = None) -> SimJob:
    """The [simulation] nominal point with ``overrides``; GP noise only when ``seed`` is given."""
    thruster = thruster or thruster_from_project(project)
    params = {name: float(getattr(project.simulation, name)) for name in PARAMETER_NAMES}
    for key, value in (overrides or {}).items():
        if key not in params:
            raise ProjectError(f"unknown parameter '{key}'; valid: {', '.join(PARAMETER_NAMES)}")
        params[key] = float(value)
    rng = np.random.default_rng(seed) if seed is not None else None
    z, c = _anomalous_profile(project, thruster, params, rng)
    return SimJob(index=0, seed=-1 if seed is None else seed, params=params, anom_z_m=z, anom_c=c)


def _average_start_time(duration_s: float, num_save: int, fraction: float) -> float:
    """Start of the averaging window: 1-based frame ⌊num_save·fraction⌋ (physics.md §14), minus a
    quarter frame so round-off in the save times never drops that frame."""
    frame_dt = duration_s / (num_save - 1)
    first = max(int(num_save * fraction) - 1, 0)
    return max(first * frame_dt - 0.25 * frame_dt, 0.0)


def sim_config_for(project: Project, job: SimJob, thruster: Thruster | None = None) -> SimConfig:
    """The solver configuration of one job (physics.md §14 with the project's choices)."""
    s = project.simulation
    thruster = thruster or thruster_from_project(project)
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
        anom_model=MultiLogBohm(tuple(float(x) for x in job.anom_z_m), tuple(float(x) for x in job.anom_c)),
        wall_model=wall,
        conductivity_model=s.conductivity_model,
        electron_ion_collisions=s.electron_ion_collisions,
        ion_wall_losses=s.ion_wall_losses,
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
