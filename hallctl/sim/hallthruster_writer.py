"""The HallThruster.jl v0.21.6 JSON input of a :class:`SimConfig`: the julia backend's wire format.

:func:`to_hallthruster_input` writes every option, in the key and JSON type HallThruster.jl itself
serializes (``tests/backends/test_julia_input.py`` compares it with upstream's own output), so
HallThruster.jl runs the configuration the native solver would and never falls back on a default of
its own. An option upstream cannot be told raises ``ValueError`` naming it (the julia backend turns
it into one :class:`hallctl.errors.BackendError` line). The reader is
:mod:`hallctl.sim.hallthruster_json`.
"""

from __future__ import annotations

import math
from typing import Any

from hallctl.sim.anomalous import Bohm, GaussianBohm, LogisticPressureShift, MultiLogBohm, NoAnom, TwoZoneBohm
from hallctl.sim.config import SimConfig
from hallctl.sim.walls import ConstantSheathPotential, NoWallLosses, WallSheath

__all__ = ["to_hallthruster_input"]


_CONDUCTIVITY_NAMES = {"braginskii": "Braginskii", "mitchner": "Mitchner", "landmark": "LANDMARK_conductivity"}


def _anom_spec(model: Any) -> dict[str, Any]:
    if isinstance(model, MultiLogBohm):
        return {"type": "MultiLogBohm", "zs": [float(v) for v in model.z_m], "cs": [float(v) for v in model.c]}
    if isinstance(model, TwoZoneBohm):
        return {"type": "TwoZoneBohm", "c1": float(model.c1), "c2": float(model.c2)}
    if isinstance(model, GaussianBohm):
        return {"type": "GaussianBohm", "hall_min": float(model.hall_min), "hall_max": float(model.hall_max),
                "center": float(model.center_m), "width": float(model.width_m)}
    if isinstance(model, NoAnom):
        return {"type": "NoAnom"}
    if isinstance(model, Bohm):
        return {"type": "Bohm", "c": float(model.c)}
    if isinstance(model, LogisticPressureShift):
        return {"type": "LogisticPressureShift", "model": _anom_spec(model.model), "z0": float(model.z0),
                "dz": float(model.dz), "pstar": float(model.pstar), "alpha": float(model.alpha)}
    raise ValueError(f"SimConfig.anom_model = {type(model).__name__} has no HallThruster.jl input form; use one of "
                     "NoAnom, Bohm, TwoZoneBohm, GaussianBohm, MultiLogBohm, LogisticPressureShift")


def _wall_spec(model: Any) -> dict[str, Any]:
    if isinstance(model, WallSheath):
        return {"type": "WallSheath", "material": str(model.material), "loss_scale": float(model.loss_scale)}
    if isinstance(model, ConstantSheathPotential):
        return {"type": "ConstantSheathPotential", "sheath_potential": float(model.sheath_potential_V),
                "inner_loss_coeff": float(model.inner_loss_coeff), "outer_loss_coeff": float(model.outer_loss_coeff)}
    if isinstance(model, NoWallLosses):
        return {"type": "NoWallLosses"}
    raise ValueError(f"SimConfig.wall_model = {type(model).__name__} has no HallThruster.jl input form; use one of "
                     "WallSheath, ConstantSheathPotential, NoWallLosses")


def _reaction_settings(c: SimConfig) -> dict[str, Any]:
    """The reaction models, rate directories and LANDMARK switch, written out so upstream never picks its defaults."""
    if c.landmark_rates_file is not None:
        raise ValueError(f"SimConfig.landmark_rates_file = {c.landmark_rates_file!r} has no HallThruster.jl input "
                         "key (HallThruster.jl always reads its own LANDMARK table): set it to None")
    model = {"lookup": "Lookup", "landmark": "Landmark"}[c.reaction_model]
    return {"ionization_model": model, "excitation_model": model, "electron_neutral_model": model,
            "reaction_rate_directories": [str(d) for d in c.reaction_rate_directories], "LANDMARK": bool(c.landmark)}


def to_hallthruster_input(c: SimConfig) -> dict[str, Any]:
    """The JSON document HallThruster.jl v0.21.6's ``run_simulation(path)`` reads for configuration ``c``.

    Every option is written, in the key and JSON type HallThruster.jl itself serializes (compared
    with its own output by ``tests/backends/test_julia_input.py``), so upstream never falls back on
    a default of its own. The averaging start is written as the time :attr:`SimConfig.average_start_s`.

    Raises:
        ValueError: ``c`` holds an option HallThruster.jl cannot be told (the message names it).
    """
    t = c.thruster
    config = {
        "thruster": {
            "name": t.name,
            "geometry": {"channel_length": float(t.channel_length_m), "inner_radius": float(t.inner_radius_m),
                         "outer_radius": float(t.outer_radius_m)},
            "magnetic_field": {"file": "", "z": [float(v) for v in t.bfield_z_m], "B": [float(v) for v in t.bfield_T]},
            "shielded": bool(t.shielded),
        },
        "domain": [float(v) for v in c.domain_m],
        "discharge_voltage": float(c.discharge_voltage_V),
        "cathode_coupling_voltage": float(c.cathode_coupling_voltage_V),
        "propellants": [{
            "gas": "Xenon", "flow_rate_kg_s": float(c.anode_mass_flow_rate_kg_s),
            "velocity_m_s": float(c.neutral_velocity_m_s), "temperature_K": float(c.neutral_temperature_K),
            "ion_temperature_K": float(c.ion_temperature_K), "allowed_charges": list(range(1, c.max_charge + 1)),
        }],
        "anode_boundary_condition": c.anode_boundary_condition,
        "anode_Tev": float(c.anode_Te_eV),
        "cathode_Tev": float(c.cathode_Te_eV),
        "anom_model": _anom_spec(c.anom_model),
        "wall_loss_model": _wall_spec(c.wall_model),
        "conductivity_model": {"type": _CONDUCTIVITY_NAMES[c.conductivity_model]},
        "electron_ion_collisions": bool(c.electron_ion_collisions),
        "ion_wall_losses": bool(c.ion_wall_losses),
        "background_pressure_Torr": float(c.background_pressure_Torr),
        "background_temperature_K": float(c.background_temperature_K),
        "neutral_ingestion_multiplier": float(c.neutral_ingestion_multiplier),
        "solve_plume": bool(c.solve_plume),
        "apply_thrust_divergence_correction": bool(c.apply_thrust_divergence_correction),
        "electron_plume_loss_scale": float(c.electron_plume_loss_scale),
        "magnetic_field_scale": float(c.magnetic_field_scale),
        "transition_length": float(c.transition_length),
        "reconstruct": bool(c.reconstruct),
        "initial_condition": {"type": "DefaultInitialization",
                              "max_electron_temperature": float(c.max_electron_temperature_eV),
                              "min_ion_density": float(c.min_ion_density_m3),
                              "max_ion_density": float(c.max_ion_density_m3)},
        "implicit_energy": float(c.implicit_energy),
        "propellant_config": "",
        "filter_circuit": {"type": "NoCircuit", "elements": [],
                           "limit_current": None if math.isinf(c.current_limit_A) else float(c.current_limit_A)},
        "min_Te": float(c.min_Te_eV),
        "anom_smoothing_iters": 0,
        **_reaction_settings(c),
    }
    simulation = {
        "grid": {"type": "EvenGrid", "num_cells": int(c.num_cells)},
        "dt": float(c.dt_s), "duration": float(c.duration_s), "num_save": int(c.num_save), "verbose": False,
        "print_errors": False, "adaptive": bool(c.adaptive), "CFL": float(c.cfl), "min_dt": float(c.min_dt_s),
        "max_dt": float(c.max_dt_s), "max_small_steps": int(c.max_small_steps),
        "current_control": {"type": "NoController"},
    }
    postprocess = {"output_file": "", "average_start_time": float(c.average_start_s), "save_time_resolved": False}
    return {"config": config, "simulation": simulation, "postprocess": postprocess}
