"""The HallThruster.jl input hallctl writes, against what HallThruster.jl v0.21.6 itself serialized.

The golden `config`, `simulation` and `postprocess` blocks (tests/data/hallthruster, tutorial and the
three LANDMARK cases) are upstream's own output. hallctl reads each, writes it back, and the two are
compared key by key and JSON type by JSON type, both ways: every key hallctl writes is one upstream
writes, with the same structure, and hallctl writes every key upstream writes, so HallThruster.jl
never falls back on a default of its own. Then every [simulation] and [thruster] setting must change
the input (or be refused by name).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from hallctl.backends.julia import check_config
from hallctl.commands.generate import campaign_plan
from hallctl.errors import BackendError
from hallctl.generate.plan import draw_job, nominal_job, sim_config_for
from hallctl.project import load_project
from hallctl.sections import SimulationSection, ThrusterSection
from hallctl.sim.anomalous import Bohm, MultiLogBohm
from hallctl.sim.config import SimConfig
from hallctl.sim.hallthruster_json import config_from_dict
from hallctl.sim.hallthruster_writer import to_hallthruster_input
from hallctl.sim.thruster import Thruster
from hallctl.sim.walls import NoWallLosses
from tests.conftest import write_tiny_project

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "hallthruster"
CASES = ("spt100_tutorial", "landmark_1", "landmark_2", "landmark_3")
BLOCKS = ("config", "simulation", "postprocess")
# keys whose value hallctl chooses itself: no console output, B inline (upstream names the file it read),
# the averaging start as an explicit time (upstream's -1 means "none")
OWN_VALUES = {"simulation.verbose", "simulation.print_errors", "config.thruster.magnetic_field.file",
              "postprocess.average_start_time"}


def golden(case: str) -> dict:
    return json.loads((GOLDEN / f"ref_{case}.json").read_text())


def kind(value) -> str:
    """The JSON type of a value as it is serialized."""
    value = json.loads(json.dumps(value))
    return {bool: "bool", int: "int", float: "float", str: "str", list: "array", dict: "object",
            type(None): "null"}[type(value)]


def compare_layout(written, upstream, where: str) -> None:
    """Same keys (both ways), same JSON types, recursively; arrays by their elements' type. Upstream's null
    (an optional value) accepts a number or null; a model of another type than upstream's only its type."""
    missing = sorted(set(written) - set(upstream))
    assert not missing, f"{where}: hallctl writes {missing}, which HallThruster.jl does not serialize"
    unwritten = sorted(set(upstream) - set(written))
    assert not unwritten, f"{where}: hallctl leaves {unwritten} to HallThruster.jl's defaults"
    for key, value in written.items():
        ref, path = upstream[key], f"{where}.{key}"
        if ref is None:
            assert kind(value) in ("null", "float"), path
            continue
        assert kind(value) == kind(ref), f"{path}: hallctl writes {kind(value)}, HallThruster.jl {kind(ref)}"
        if isinstance(ref, dict) and ref.get("type") != value.get("type"):
            assert isinstance(value.get("type"), str), path  # another model: its keys are the reader's (round trip)
        elif isinstance(ref, dict):
            compare_layout(value, ref, path)
        elif isinstance(ref, list) and ref and value:
            assert {kind(v) for v in value} == {kind(ref[0])}, path


def compare_values(written, upstream, where: str) -> None:
    if where in OWN_VALUES:
        return
    if isinstance(upstream, dict):
        for key, value in written.items():
            compare_values(value, upstream[key], f"{where}.{key}")
    elif isinstance(upstream, float):
        assert written == pytest.approx(upstream, rel=1e-12), where
    else:
        assert written == upstream, where


@pytest.mark.parametrize("case", CASES)
def test_input_has_hallthrusters_own_keys_types_and_values(case):
    ref = golden(case)
    written = json.loads(json.dumps(to_hallthruster_input(config_from_dict(ref))))
    assert set(written) == set(BLOCKS)
    for block in BLOCKS:
        compare_layout(written[block], ref[block], block)
        compare_values(written[block], ref[block], block)


def test_a_campaign_input_has_hallthrusters_keys_and_types(tmp_path):
    """The campaign's own choices (MultiLogBohm profile, three charge states, a current limit, Braginskii)."""
    plan = campaign_plan(load_project(write_tiny_project(tmp_path)))
    config = sim_config_for(plan, draw_job(plan, 3))
    written = json.loads(json.dumps(to_hallthruster_input(config)))
    ref = golden("spt100_tutorial")
    for block in BLOCKS:
        compare_layout(written[block], ref[block], block)
    assert written["postprocess"]["average_start_time"] == config.average_start_time_s  # the campaign's window
    config = written["config"]
    assert config["propellants"][0]["allowed_charges"] == [1, 2, 3]
    assert config["filter_circuit"] == {"type": "NoCircuit", "elements": [], "limit_current": 100.0}
    assert config["anom_model"]["type"] == "MultiLogBohm"
    assert {kind(v) for v in config["anom_model"]["zs"] + config["anom_model"]["cs"]} == {"float"}
    assert config["conductivity_model"] == {"type": "Braginskii"}


def test_the_default_averaging_start_selects_the_native_frames():
    for num_save in (2, 3, 11, 51, 1000, 2001):
        config = SimConfig(num_save=num_save, duration_s=1e-3)
        save_t = np.array([config.duration_s * k / (num_save - 1) for k in range(num_save)])
        first = int(np.nonzero(save_t >= config.average_start_s)[0][0])
        assert first == config.average_start_frame(save_t), num_save
        written = to_hallthruster_input(config)["postprocess"]["average_start_time"]
        assert written == config.average_start_s >= 0.0


# --------------------------------------------------------------------------------------------------------
# Every setting reaches the input
# --------------------------------------------------------------------------------------------------------

#: a valid non-default value of every [simulation] setting (a dict: several settings that go together)
SIMULATION_CHANGES = {
    "domain_channel_lengths": 3.0, "num_cells": 100, "max_charge": 2, "ion_temperature_K": 500.0,
    "neutral_temperature_K": 300.0, "wall_model": "ConstantSheathPotential", "wall_material": "Alumina",
    "conductivity_model": "mitchner", "ion_wall_losses": False, "electron_ion_collisions": False, "anode_Te_eV": 3.0,
    "cathode_Te_eV": 3.0, "min_Te_eV": 1.0, "transition_length_m": 0.001, "reconstruct": False,
    "current_limit_A": 50.0, "duration_s": 1e-3, "num_save": 1001, "average_start_fraction": 0.7, "dt_s": 2e-9,
    "cfl": 0.5, "min_dt_s": 2e-10, "max_dt_s": 5e-8, "perturbation_scale": 0.5, "perturbation_length": 2.0,
    "profile_points_per_cell": 3, "anom_model": {"anom_model": "Bohm", "anom_params": [0.0625]},
    "anom_params": {"anom_model": "TwoZoneBohm", "anom_params": [0.01, 0.1]},
    "pressure_shift": [0.02, 0.01, 1e-5, 1.0], "background_pressure_Torr": 1e-5, "background_temperature_K": 300.0,
    "solve_plume": True, "landmark": True, "anode_boundary_condition": "dirichlet", "reaction_model": "landmark",
    "anom_minimum": 0.1, "anom_width": 0.5, "anom_slope": 0.3, "anom_step": 0.3, "anom_scale": 0.2,
    "anom_center": 1.0, "neutral_velocity_m_s": 200.0, "wall_loss_scale": 0.5, "magnetic_field_scale": 1.2,
    "discharge_voltage_v": 250.0, "anode_mass_flow_rate_kg_s": 4e-6, "cathode_coupling_voltage_v": 10.0,
}
#: the setting a change is compared against, where the default is not its natural baseline
SIMULATION_BASES = {"anom_params": {"anom_model": "TwoZoneBohm", "anom_params": [0.00625, 0.0625]},
                    "wall_material": {"wall_model": "WallSheath"}}
#: [simulation] settings the julia backend refuses, with the word its one-line error must contain
REFUSED: dict[str, str] = {}


def project_input(tmp_path, name: str, simulation: dict, thruster: dict | None = None) -> dict:
    lines = ["[simulation]"] + [f"{k} = {json.dumps(v)}" for k, v in simulation.items()]
    lines += ["[thruster]"] + [f"{k} = {json.dumps(v)}" for k, v in (thruster or {}).items()]
    path = tmp_path / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    plan = campaign_plan(load_project(path))
    return check_config(sim_config_for(plan, nominal_job(plan, seed=7)))


def test_every_simulation_setting_is_written_or_refused(tmp_path):
    settings = {f.name for f in dataclasses.fields(SimulationSection)}
    assert settings == set(SIMULATION_CHANGES), "a new [simulation] setting: add it here (and to the writer)"
    for name, change in SIMULATION_CHANGES.items():
        base = SIMULATION_BASES.get(name, {})
        changed = {**base, **(change if isinstance(change, dict) else {name: change})}
        if name in REFUSED:
            with pytest.raises(BackendError, match=REFUSED[name]):
                project_input(tmp_path, name, changed)
            continue
        assert project_input(tmp_path, f"{name}-base", base) != project_input(tmp_path, name, changed), name


def test_every_thruster_setting_is_written(tmp_path):
    assert {f.name for f in dataclasses.fields(ThrusterSection)} == {
        "name", "channel_length_m", "inner_radius_m", "outer_radius_m", "bfield_csv"}
    spt100 = project_input(tmp_path, "spt100", {}, {"name": "spt100"})
    assert project_input(tmp_path, "hallthruster", {}, {"name": "spt100-hallthruster"}) != spt100
    csv = tmp_path / "b.csv"
    csv.write_text("z,B\n0.0,0.001\n0.02,0.02\n0.05,0.005\n")
    custom = {"name": "custom", "bfield_csv": str(csv), "channel_length_m": 0.02, "inner_radius_m": 0.03,
              "outer_radius_m": 0.045}
    base = project_input(tmp_path, "custom", {}, custom)["config"]["thruster"]
    assert base["magnetic_field"]["z"] == [0.0, 0.02, 0.05] and base["magnetic_field"]["B"] == [0.001, 0.02, 0.005]
    for key, value, path in (("channel_length_m", 0.025, "channel_length"), ("inner_radius_m", 0.032, "inner_radius"),
                             ("outer_radius_m", 0.048, "outer_radius")):
        changed = project_input(tmp_path, key, {}, {**custom, key: value})["config"]["thruster"]
        assert changed["geometry"][path] == value != base["geometry"][path], key


#: a valid non-default value of every SimConfig field (Python users and JSON inputs reach all of them)
CONFIG_CHANGES = {
    "thruster": Thruster.spt100_hallthruster(), "domain_m": (0.0, 0.07), "num_cells": 100, "discharge_voltage_V": 250.0,
    "cathode_coupling_voltage_V": 5.0, "anode_mass_flow_rate_kg_s": 4e-6, "max_charge": 2,
    "neutral_velocity_m_s": 200.0, "neutral_temperature_K": 300.0, "ion_temperature_K": 500.0,
    "anom_model": Bohm(0.1), "wall_model": NoWallLosses(), "conductivity_model": "mitchner",
    "electron_ion_collisions": False, "ion_wall_losses": True, "background_pressure_Torr": 1e-5,
    "background_temperature_K": 300.0, "neutral_ingestion_multiplier": 2.0, "solve_plume": True,
    "apply_thrust_divergence_correction": True, "electron_plume_loss_scale": 0.5, "magnetic_field_scale": 1.2,
    "transition_length_m": 0.001, "reconstruct": False, "anode_boundary_condition": "dirichlet", "anode_Te_eV": 3.0,
    "cathode_Te_eV": 3.0, "min_Te_eV": 1.0, "implicit_energy": 0.5, "landmark": True, "reaction_model": "landmark",
    "landmark_rates_file": "landmark_rates.csv", "reaction_rate_directories": ("/data/rates",),
    "current_limit_A": 50.0, "min_ion_density_m3": 1e17, "max_ion_density_m3": 2e18,
    "max_electron_temperature_eV": 20.0, "dt_s": 2e-9, "duration_s": 1e-3, "num_save": 1001, "adaptive": False,
    "cfl": 0.5, "min_dt_s": 2e-10, "max_dt_s": 5e-8, "max_small_steps": 50, "average_start_time_s": 1e-3,
}
CONFIG_REFUSED = {"landmark_rates_file": "landmark_rates_file"}


def test_every_simconfig_field_is_written_or_refused_in_one_line():
    base = SimConfig(anom_model=MultiLogBohm((0.0, 0.08), (0.1, 0.1)))
    assert {f.name for f in dataclasses.fields(SimConfig)} == set(CONFIG_CHANGES)
    written = to_hallthruster_input(base)
    for name, value in CONFIG_CHANGES.items():
        config = dataclasses.replace(base, **{name: value})
        if name in CONFIG_REFUSED:
            with pytest.raises(BackendError, match=CONFIG_REFUSED[name]) as info:
                check_config(config)
            assert "\n" not in str(info.value)
            continue
        assert to_hallthruster_input(config) != written, name
