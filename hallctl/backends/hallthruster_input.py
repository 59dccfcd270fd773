"""A hallctl SimConfig as a HallThruster.jl (v0.21) JSON input: the julia backend's wire format.

The keys follow the ``config``/``simulation``/``postprocess`` layout of HallThruster.jl's own JSON
inputs and serialized solutions (e.g. its regression inputs), so HallThruster.jl runs the same
configuration the native solver would.
"""

from __future__ import annotations

import math
from typing import Any

from hallctl.sim.anomalous import GaussianBohm, MultiLogBohm, NoAnom, TwoZoneBohm
from hallctl.sim.config import ConstantSheathPotential, NoWallLosses, SimConfig, WallSheath

__all__ = ["to_hallthruster_input"]

_CONDUCTIVITY = {"braginskii": "Braginskii", "mitchner": "Mitchner", "landmark": "LANDMARK_conductivity"}


def _anom(model: Any) -> dict[str, Any]:
    if isinstance(model, MultiLogBohm):
        return {"type": "MultiLogBohm", "zs": list(model.z_m), "cs": list(model.c)}
    if isinstance(model, TwoZoneBohm):
        return {"type": "TwoZoneBohm", "c1": model.c1, "c2": model.c2}
    if isinstance(model, GaussianBohm):
        return {"type": "GaussianBohm", "hall_min": model.hall_min, "hall_max": model.hall_max,
                "center": model.center_m, "width": model.width_m}
    if isinstance(model, NoAnom):
        return {"type": "NoAnom"}
    raise ValueError(f"anomalous model {type(model).__name__} has no HallThruster.jl JSON form here")


def _wall(model: Any) -> dict[str, Any]:
    if isinstance(model, WallSheath):
        return {"type": "WallSheath", "material": model.material, "loss_scale": model.loss_scale}
    if isinstance(model, ConstantSheathPotential):
        return {"type": "ConstantSheathPotential", "sheath_potential": model.sheath_potential_V,
                "inner_loss_coeff": model.inner_loss_coeff, "outer_loss_coeff": model.outer_loss_coeff}
    if isinstance(model, NoWallLosses):
        return {"type": "NoWallLosses"}
    raise ValueError(f"wall model {type(model).__name__} has no HallThruster.jl JSON form here")


def to_hallthruster_input(c: SimConfig) -> dict[str, Any]:
    """The JSON document HallThruster.jl's ``run_simulation(path)`` reads for configuration ``c``."""
    t = c.thruster
    config = {
        "thruster": {
            "name": t.name,
            "geometry": {"channel_length": t.channel_length_m, "inner_radius": t.inner_radius_m,
                         "outer_radius": t.outer_radius_m},
            "magnetic_field": {"file": "", "z": list(t.bfield_z_m), "B": list(t.bfield_T)},
            "shielded": t.shielded,
        },
        "domain": list(c.domain_m),
        "discharge_voltage": c.discharge_voltage_V,
        "cathode_coupling_voltage": c.cathode_coupling_voltage_V,
        "propellants": [{
            "gas": "Xenon", "flow_rate_kg_s": c.anode_mass_flow_rate_kg_s,
            "velocity_m_s": c.neutral_velocity_m_s, "temperature_K": c.neutral_temperature_K,
            "ion_temperature_K": c.ion_temperature_K, "max_charge": c.max_charge,
        }],
        "anode_boundary_condition": c.anode_boundary_condition,
        "anode_Tev": c.anode_Te_eV,
        "cathode_Tev": c.cathode_Te_eV,
        "anom_model": _anom(c.anom_model),
        "wall_loss_model": _wall(c.wall_model),
        "conductivity_model": {"type": _CONDUCTIVITY[c.conductivity_model]},
        "electron_ion_collisions": c.electron_ion_collisions,
        "ion_wall_losses": c.ion_wall_losses,
        "background_pressure_Torr": c.background_pressure_Torr,
        "background_temperature_K": c.background_temperature_K,
        "neutral_ingestion_multiplier": c.neutral_ingestion_multiplier,
        "solve_plume": c.solve_plume,
        "apply_thrust_divergence_correction": c.apply_thrust_divergence_correction,
        "electron_plume_loss_scale": c.electron_plume_loss_scale,
        "magnetic_field_scale": c.magnetic_field_scale,
        "transition_length": c.transition_length,
        "reconstruct": c.reconstruct,
        "implicit_energy": c.implicit_energy,
        "min_Te": c.min_Te_eV,
        "LANDMARK": c.landmark,
        "filter_circuit": {"type": "NoCircuit",
                           "limit_current": None if math.isinf(c.current_limit_A) else c.current_limit_A},
    }
    simulation = {
        "grid": {"type": "EvenGrid", "num_cells": c.num_cells},
        "dt": c.dt_s, "duration": c.duration_s, "num_save": c.num_save, "adaptive": c.adaptive,
        "CFL": c.cfl, "min_dt": c.min_dt_s, "max_dt": c.max_dt_s, "max_small_steps": c.max_small_steps,
        "verbose": False, "print_errors": False,
    }
    postprocess = {"output_file": "", "save_time_resolved": False,
                   "average_start_time": -1.0 if c.average_start_time_s is None else c.average_start_time_s}
    return {"config": config, "simulation": simulation, "postprocess": postprocess}
