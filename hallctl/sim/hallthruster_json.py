"""HallThruster.jl's JSON input format, both ways: read one into a :class:`SimConfig`, or write one.

The writer (:func:`to_hallthruster_input`, in :mod:`hallctl.sim.hallthruster_writer`) is the julia
backend's wire format, so HallThruster.jl (v0.21.6) runs the same configuration the native solver would.

Reads what HallThruster.jl v0.21.6 reads: the run-file layout (``{"config": {...}, "simulation":
{...}, "postprocess": {...}}``, as in its ``test/regression/*.json`` and in its serialized outputs),
also inside the ``{"input": {...}}`` wrapper of its output files; the legacy single-propellant keys
(``propellant``, ``anode_mass_flow_rate``, ``ncharge``, ``neutral_velocity``, …); the neutral
velocity from the temperature when only that is given. Model names are spelled as upstream spells
them. A key upstream does not know, and anything this simulator does not implement (another gas,
an uneven grid, a circuit, a current controller, …), raises
:class:`hallctl.errors.SimulationInputError` naming it: an input never runs different physics
silently.
"""

from __future__ import annotations

import difflib
import json
import math
from pathlib import Path
from typing import Any

from hallctl.errors import SimulationInputError
from hallctl.sim.anomalous import Bohm, GaussianBohm, LogisticPressureShift, MultiLogBohm, NoAnom, TwoZoneBohm
from hallctl.sim.config import SimConfig
from hallctl.sim.constants import K_B, M_XE
from hallctl.sim.hallthruster_writer import to_hallthruster_input
from hallctl.sim.thruster import Thruster, load_bfield_csv
from hallctl.sim.walls import ConstantSheathPotential, NoWallLosses, WallSheath

__all__ = ["config_from_dict", "load_hallthruster_json", "to_hallthruster_input"]

_CONDUCTIVITY = {"Braginskii": "braginskii", "Mitchner": "mitchner", "LANDMARK_conductivity": "landmark",
                 "LANDMARK": "landmark"}
_REACTIONS = {"Lookup": "lookup", "Landmark": "landmark", "LANDMARK": "landmark"}
_XENON = ("Xenon", "Xe")

# the keys HallThruster.jl v0.21.6 accepts in each block (Config, the simulation keywords, postprocess,
# Propellant); its keyword constructors refuse any other
_KNOWN_KEYS = {
    "config": {"thruster", "domain", "discharge_voltage", "propellants", "anom_model", "wall_loss_model",
               "conductivity_model", "ionization_model", "excitation_model", "electron_neutral_model",
               "electron_ion_collisions", "ion_wall_losses", "solve_plume", "reconstruct",
               "apply_thrust_divergence_correction", "background_pressure_Torr", "background_temperature_K",
               "neutral_ingestion_multiplier", "electron_plume_loss_scale", "magnetic_field_scale", "anode_Tev",
               "cathode_Tev", "min_Te", "implicit_energy", "transition_length", "anode_boundary_condition",
               "anom_smoothing_iters", "initial_condition", "filter_circuit", "propellant_config",
               "reaction_rate_directories", "cathode_coupling_voltage", "LANDMARK",
               # legacy single-propellant keys
               "propellant", "anode_mass_flow_rate", "ncharge", "neutral_velocity", "neutral_temperature_K",
               "ion_temperature_K"},
    "simulation": {"dt", "duration", "num_save", "grid", "ncells", "adaptive", "CFL", "min_dt", "max_dt",
                   "max_small_steps", "current_control", "print_errors", "verbose"},
    "postprocess": {"output_file", "average_start_time", "save_time_resolved"},
    "propellant": {"gas", "flow_rate_kg_s", "velocity_m_s", "temperature_K", "ion_temperature_K", "max_charge",
                   "allowed_charges"},
}


def load_hallthruster_json(path: str | Path) -> SimConfig:
    """Load a HallThruster.jl JSON input file.

    Args:
        path: the JSON file; a magnetic-field ``file`` inside it is resolved relative to the
            JSON's folder (inline ``z``/``B`` arrays are used when present).

    Raises:
        SimulationInputError: missing file, invalid JSON, or an unsupported option/value.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise SimulationInputError(f"HallThruster JSON {path}: file not found") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise SimulationInputError(f"HallThruster JSON {path}: cannot be parsed ({exc})") from exc
    if not isinstance(data, dict):
        raise SimulationInputError(f"HallThruster JSON {path}: top level must be an object")
    return config_from_dict(data, base_dir=path.parent)


def _check_keys(block: dict, kind: str, where: str) -> None:
    """SimulationInputError naming the keys of ``block`` that HallThruster.jl does not accept."""
    unknown = sorted(k for k in block if k not in _KNOWN_KEYS[kind])
    if unknown:
        hints = [f"{k!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(k, _KNOWN_KEYS[kind], 1))
                 else repr(k) for k in unknown]
        raise SimulationInputError(f"{where}: unknown key(s) {', '.join(hints)}; HallThruster.jl v0.21.6 would "
                                   "refuse them too: remove or correct them")


def _neutral_velocity(velocity: Any, temperature: Any) -> tuple[float, float]:
    """(u_n, T_n) as upstream's Propellant sets them: 150 m/s and 500 K when neither is given; 500 K
    beside a given velocity; u_n = ¼ √(8 k T / (π m)), the one-way thermal flux speed, from a
    temperature alone."""
    if velocity is None and temperature is None:
        return 150.0, 500.0
    if temperature is None:
        return float(velocity), 500.0
    if velocity is None:
        return 0.25 * math.sqrt(8.0 * K_B * float(temperature) / (math.pi * M_XE)), float(temperature)
    return float(velocity), float(temperature)


def _get(d: dict, key: str, default: Any = None) -> Any:
    v = d.get(key, default)
    return default if v is None else v


def _anom_model(spec: dict) -> Any:
    kind = spec.get("type")
    if kind == "NoAnom":
        return NoAnom()
    if kind == "Bohm":
        return Bohm(float(spec["c"]))
    if kind == "TwoZoneBohm":
        if "coeffs" in spec:
            c1, c2 = spec["coeffs"]
        else:
            c1, c2 = spec["c1"], spec["c2"]
        return TwoZoneBohm(float(c1), float(c2))
    if kind == "GaussianBohm":
        return GaussianBohm(float(spec["hall_min"]), float(spec["hall_max"]), float(spec["center"]),
                            float(spec["width"]))
    if kind == "MultiLogBohm":
        z = spec.get("zs", spec.get("z"))
        c = spec.get("cs", spec.get("c"))
        if z is None or c is None:
            raise SimulationInputError("anom_model MultiLogBohm: needs 'zs' and 'cs' arrays")
        return MultiLogBohm(tuple(z), tuple(c))
    if kind == "LogisticPressureShift":
        return LogisticPressureShift(_anom_model(spec["model"]), float(spec["z0"]), float(spec["dz"]),
                                     float(spec["pstar"]), float(spec["alpha"]))
    raise SimulationInputError(
        f"anom_model type {kind!r} is not supported; allowed: NoAnom, Bohm, TwoZoneBohm, GaussianBohm, "
        "MultiLogBohm, LogisticPressureShift")


def _wall_model(spec: dict) -> Any:
    kind = spec.get("type")
    if kind == "NoWallLosses":
        return NoWallLosses()
    if kind == "WallSheath":
        return WallSheath(str(_get(spec, "material", "BNSiO2")), float(_get(spec, "loss_scale", 1.0)))
    if kind == "ConstantSheathPotential":
        return ConstantSheathPotential(float(_get(spec, "sheath_potential", 20.0)),
                                       float(_get(spec, "inner_loss_coeff", 1.0)),
                                       float(_get(spec, "outer_loss_coeff", 1.0)))
    raise SimulationInputError(
        f"wall_loss_model type {kind!r} is not supported; allowed: NoWallLosses, WallSheath, ConstantSheathPotential")


def _thruster(spec: dict, base_dir: Path) -> Thruster:
    geom = spec.get("geometry", {})
    try:
        L = float(geom["channel_length"])
        ri = float(geom["inner_radius"])
        ro = float(geom["outer_radius"])
    except KeyError as exc:
        raise SimulationInputError(f"thruster.geometry: missing {exc.args[0]!r}") from exc
    mf = spec.get("magnetic_field", {})
    if mf.get("z") is not None and mf.get("B") is not None:
        z, B = tuple(mf["z"]), tuple(mf["B"])
    elif mf.get("file"):
        z, B = load_bfield_csv(base_dir / mf["file"])
    else:
        raise SimulationInputError("thruster.magnetic_field: needs 'file' or inline 'z' and 'B'")
    return Thruster(str(_get(spec, "name", "thruster")), L, ri, ro, z, B, bool(_get(spec, "shielded", False)))


def _propellant_settings(cfg: dict) -> dict[str, Any]:
    """Flow rate, charge states and heavy-species temperatures: the propellants list, or the legacy keys."""
    kw: dict[str, Any] = {}
    props = cfg.get("propellants")
    if props is not None:
        if len(props) != 1:
            raise SimulationInputError(f"config.propellants: exactly one propellant is supported, got {len(props)}")
        p = props[0]
        _check_keys(p, "propellant", "config.propellants[0]")
        gas = p.get("gas", "Xenon")
        if gas not in _XENON:
            raise SimulationInputError(f"config.propellants[0].gas = {gas!r} is not supported; allowed: 'Xenon'")
        kw["anode_mass_flow_rate_kg_s"] = float(p["flow_rate_kg_s"])
        if "allowed_charges" in p:
            charges = sorted(int(c) for c in p["allowed_charges"])
            if charges != list(range(1, len(charges) + 1)) or not 1 <= len(charges) <= 3:
                raise SimulationInputError(
                    f"config.propellants[0].allowed_charges = {charges} is not supported; allowed: [1], [1,2], [1,2,3]")
            kw["max_charge"] = len(charges)
        else:
            kw["max_charge"] = int(_get(p, "max_charge", 1))
        kw["neutral_velocity_m_s"], kw["neutral_temperature_K"] = _neutral_velocity(p.get("velocity_m_s"),
                                                                                     p.get("temperature_K"))
        kw["ion_temperature_K"] = float(_get(p, "ion_temperature_K", 1000.0))
    else:
        # legacy single-propellant keys
        gas = cfg.get("propellant", "Xenon")
        name = gas.get("name", gas.get("short_name")) if isinstance(gas, dict) else gas
        if name not in _XENON:
            raise SimulationInputError(f"config.propellant = {name!r} is not supported; allowed: 'Xenon' (other "
                                       "gases are not implemented yet)")
        kw["anode_mass_flow_rate_kg_s"] = float(_get(cfg, "anode_mass_flow_rate", 5e-6))
        if "ncharge" in cfg:
            kw["max_charge"] = int(cfg["ncharge"])
        kw["neutral_velocity_m_s"], kw["neutral_temperature_K"] = _neutral_velocity(cfg.get("neutral_velocity"),
                                                                                     cfg.get("neutral_temperature_K"))
        if cfg.get("ion_temperature_K") is not None:
            kw["ion_temperature_K"] = float(cfg["ion_temperature_K"])
    return kw


def _model_settings(cfg: dict, base_dir: Path) -> dict[str, Any]:
    """Anomalous transport, walls, conductivity, reactions, switches and scales."""
    kw: dict[str, Any] = {}
    # docs/physics.md §16 item 12: with a propellants list, the top-level keys are ignored upstream
    if "anom_model" in cfg:
        kw["anom_model"] = _anom_model(cfg["anom_model"])
    if "wall_loss_model" in cfg:
        kw["wall_model"] = _wall_model(cfg["wall_loss_model"])
    kw["conductivity_model"] = "mitchner"  # upstream's default closure
    if "conductivity_model" in cfg:
        kind = cfg["conductivity_model"].get("type")
        if kind not in _CONDUCTIVITY:
            raise SimulationInputError(
                f"conductivity_model type {kind!r} is not supported; allowed: {sorted(_CONDUCTIVITY)}")
        kw["conductivity_model"] = _CONDUCTIVITY[kind]
    landmark = bool(_get(cfg, "LANDMARK", False))
    kw["landmark"] = landmark
    models = {_get(cfg, k, "Landmark" if landmark else "Lookup")
              for k in ("ionization_model", "excitation_model", "electron_neutral_model")}
    if len(models) != 1 or next(iter(models)) not in _REACTIONS:
        raise SimulationInputError(
            f"ionization/excitation/electron_neutral models {sorted(models)} are not supported; "
            "allowed: all 'Lookup' or all 'Landmark'")
    kw["reaction_model"] = _REACTIONS[next(iter(models))]
    dirs = _get(cfg, "reaction_rate_directories", [])
    kw["reaction_rate_directories"] = tuple(str(base_dir / d) for d in dirs)
    for src, dst in (("electron_ion_collisions", "electron_ion_collisions"), ("ion_wall_losses", "ion_wall_losses"),
                     ("solve_plume", "solve_plume"), ("reconstruct", "reconstruct"),
                     ("apply_thrust_divergence_correction", "apply_thrust_divergence_correction")):
        if src in cfg:
            kw[dst] = bool(cfg[src])
    for src, dst in (("background_pressure_Torr", "background_pressure_Torr"),
                     ("background_temperature_K", "background_temperature_K"),
                     ("neutral_ingestion_multiplier", "neutral_ingestion_multiplier"),
                     ("electron_plume_loss_scale", "electron_plume_loss_scale"),
                     ("magnetic_field_scale", "magnetic_field_scale"), ("anode_Tev", "anode_Te_eV"),
                     ("cathode_Tev", "cathode_Te_eV"), ("min_Te", "min_Te_eV"),
                     ("implicit_energy", "implicit_energy")):
        if cfg.get(src) is not None:
            kw[dst] = float(cfg[src])
    if cfg.get("anode_Tev") is None and cfg.get("cathode_Tev") is not None:
        kw["anode_Te_eV"] = float(cfg["cathode_Tev"])  # anode value defaults to the cathode value
    if cfg.get("transition_length") is not None:
        kw["transition_length_m"] = float(cfg["transition_length"])
    if "anode_boundary_condition" in cfg:
        bc = str(cfg["anode_boundary_condition"]).lstrip(":")
        kw["anode_boundary_condition"] = bc
    return kw


def _numerics_settings(cfg: dict, sim: dict, post: dict) -> dict[str, Any]:
    """Initial condition, circuit, grid, time stepping and the averaging window."""
    kw: dict[str, Any] = {}
    if int(_get(cfg, "anom_smoothing_iters", 0)) != 0:
        raise SimulationInputError("config.anom_smoothing_iters ≠ 0 is not supported")
    ic = cfg.get("initial_condition")
    if ic is not None:
        if ic.get("type", "DefaultInitialization") != "DefaultInitialization":
            raise SimulationInputError(
                f"config.initial_condition type {ic.get('type')!r} is not supported; allowed: DefaultInitialization")
        kw["max_electron_temperature_eV"] = float(_get(ic, "max_electron_temperature", -1.0))
        kw["min_ion_density_m3"] = float(_get(ic, "min_ion_density", 2e17))
        kw["max_ion_density_m3"] = float(_get(ic, "max_ion_density", 1e18))
    circuit = cfg.get("filter_circuit")
    if circuit is not None:
        if circuit.get("type", "NoCircuit") != "NoCircuit":
            raise SimulationInputError(
                f"config.filter_circuit type {circuit.get('type')!r} is not supported; allowed: NoCircuit")
        if circuit.get("limit_current") is not None:
            kw["current_limit_A"] = float(circuit["limit_current"])
    if cfg.get("propellant_config"):
        raise SimulationInputError("config.propellant_config is not supported")
    grid = sim.get("grid")
    if grid is not None:
        if grid.get("type", "EvenGrid") != "EvenGrid":
            raise SimulationInputError(f"simulation.grid type {grid.get('type')!r} is not supported; allowed: EvenGrid")
        kw["num_cells"] = int(grid["num_cells"])
    elif "ncells" in sim:
        kw["num_cells"] = int(sim["ncells"])
    control = sim.get("current_control")
    if control is not None and control.get("type", "NoController") != "NoController":
        raise SimulationInputError(
            f"simulation.current_control type {control.get('type')!r} is not supported; allowed: NoController")
    kw["num_save"] = 1000  # upstream's default
    for src, dst, conv in (("dt", "dt_s", float), ("duration", "duration_s", float), ("num_save", "num_save", int),
                           ("adaptive", "adaptive", bool), ("CFL", "cfl", float), ("min_dt", "min_dt_s", float),
                           ("max_dt", "max_dt_s", float), ("max_small_steps", "max_small_steps", int)):
        if sim.get(src) is not None:
            kw[dst] = conv(sim[src])
    t_avg = post.get("average_start_time")
    if t_avg is not None and float(t_avg) >= 0 and math.isfinite(float(t_avg)):
        # upstream averages every frame when the start lies past the last one
        duration = float(sim.get("duration", math.inf))
        kw["average_start_time_s"] = float(t_avg) if float(t_avg) <= duration else 0.0
    return kw


def config_from_dict(data: dict, *, base_dir: Path | str = ".") -> SimConfig:
    """Build a :class:`SimConfig` from upstream's ``{"config", "simulation", "postprocess"}``.

    Raises:
        SimulationInputError: an unsupported option or value.
    """
    base_dir = Path(base_dir)
    data = data.get("input", data)  # the wrapper of upstream's output files
    if not isinstance(data, dict):
        raise SimulationInputError("input: must be an object with config, simulation and postprocess")
    cfg = data.get("config", data)
    sim = data.get("simulation", {}) or {}
    post = data.get("postprocess", {}) or {}
    if "config" in data:
        _check_keys(cfg, "config", "config")
    _check_keys(sim, "simulation", "simulation")
    _check_keys(post, "postprocess", "postprocess")
    kw: dict[str, Any] = {}
    if "thruster" not in cfg:
        raise SimulationInputError("config.thruster: missing")
    kw["thruster"] = _thruster(cfg["thruster"], base_dir)
    if "domain" in cfg:
        kw["domain_m"] = tuple(float(v) for v in cfg["domain"])
    kw["discharge_voltage_V"] = float(_get(cfg, "discharge_voltage", 300.0))
    kw["cathode_coupling_voltage_V"] = float(_get(cfg, "cathode_coupling_voltage", 0.0))
    kw.update(_propellant_settings(cfg))
    kw.update(_model_settings(cfg, base_dir))
    kw.update(_numerics_settings(cfg, sim, post))
    return SimConfig(**kw)
