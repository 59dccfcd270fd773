"""Tests of hallctl/sim/config.py and hallthruster_json.py: validation and input loading."""

from __future__ import annotations

import dataclasses
import json

import pytest

from hallctl.errors import SimulationInputError
from hallctl.sim.config import MultiLogBohm, SimConfig, Thruster, TwoZoneBohm, WallSheath
from hallctl.sim.hallthruster_json import config_from_dict, load_hallthruster_json


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("anode_mass_flow_rate_kg_s", -1e-6, "anode_mass_flow_rate_kg_s"),
        ("discharge_voltage_V", 0.0, "discharge_voltage_V"),
        ("discharge_voltage_V", -300.0, "discharge_voltage_V"),
        ("num_cells", 2, "num_cells"),
        ("domain_m", (0.08, 0.0), "domain_m"),
        ("cfl", 0.8, "cfl"),
        ("conductivity_model", "spitzer", "conductivity_model"),
        ("anom_model", "Bohm", "anom_model"),
        ("wall_model", None, "wall_model"),
        ("max_charge", 4, "max_charge"),
        ("anode_boundary_condition", "neumann", "anode_boundary_condition"),
        ("reaction_model", "bolsig", "reaction_model"),
        ("num_save", 1, "num_save"),
        ("min_dt_s", 1e-6, "max_dt_s"),
        ("average_start_time_s", 1.0, "average_start_time_s"),
        ("duration_s", float("nan"), "duration_s"),
    ],
)
def test_validation_errors_name_the_field(field, value, match):
    with pytest.raises(SimulationInputError, match=match) as info:
        dataclasses.replace(SimConfig(), **{field: value})
    assert "\n" not in str(info.value)
    assert "allowed" in str(info.value)


def test_inconsistent_radii():
    with pytest.raises(SimulationInputError, match="outer_radius_m"):
        Thruster("t", 0.025, 0.05, 0.035, (0.0, 0.1), (0.01, 0.01))


def test_hall_diffusion_preset():
    cfg = SimConfig.hall_diffusion(discharge_voltage_V=400.0)
    assert cfg.discharge_voltage_V == 400.0
    assert cfg.domain_m == pytest.approx((0.0, 0.08))
    assert cfg.num_cells == 128 and cfg.max_charge == 3
    assert cfg.conductivity_model == "braginskii" and cfg.ion_wall_losses
    assert cfg.current_limit_A == 100.0 and cfg.transition_length == 2.5e-3
    assert isinstance(cfg.anom_model, MultiLogBohm) and len(cfg.anom_model.z_m) == 256
    assert isinstance(cfg.wall_model, WallSheath) and cfg.wall_model.material == "BNSiO2"
    assert cfg.duration_s == 2e-3 and cfg.num_save == 2001
    with pytest.raises(SimulationInputError, match="unknown"):
        SimConfig.hall_diffusion(voltage=1.0)


def test_defaults():
    cfg = SimConfig()
    assert cfg.transition_length == pytest.approx(0.0025)
    assert cfg.max_Te_initial_eV == 30.0
    assert isinstance(cfg.anom_model, TwoZoneBohm)


def _write(tmp_path, data):
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    return path


BASE = {
    "config": {
        "thruster": {"name": "x", "geometry": {"inner_radius": 0.035, "outer_radius": 0.05, "channel_length": 0.025},
                     "magnetic_field": {"z": [0.0, 0.1], "B": [0.01, 0.01]}},
        "domain": [0.0, 0.08],
        "propellants": [{"gas": "Xenon", "max_charge": 2, "flow_rate_kg_s": 4e-6}],
        "discharge_voltage": 250,
    },
    "simulation": {"dt": 5e-9, "duration": 1e-3, "num_save": 101, "grid": {"type": "EvenGrid", "num_cells": 50}},
}


def test_json_loader_basic(tmp_path):
    cfg = load_hallthruster_json(_write(tmp_path, BASE))
    assert cfg.max_charge == 2 and cfg.anode_mass_flow_rate_kg_s == 4e-6
    assert cfg.num_cells == 50 and cfg.num_save == 101 and cfg.discharge_voltage_V == 250.0
    assert cfg.conductivity_model == "mitchner"  # upstream's default closure


def test_json_propellant_list_ignores_top_level_neutral_velocity(tmp_path):
    data = json.loads(json.dumps(BASE))
    data["config"]["neutral_velocity"] = 300.0  # docs/physics.md §16 item 12
    assert load_hallthruster_json(_write(tmp_path, data)).neutral_velocity_m_s == 150.0


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        (("config", "propellants", 0, "gas"), "Krypton", "gas"),
        (("simulation", "grid", "type"), "UnevenGrid", "UnevenGrid"),
        (("config", "filter_circuit"), {"type": "RLC"}, "filter_circuit"),
        (("config", "anom_model"), {"type": "ScaledGaussianBohm"}, "anom_model type 'ScaledGaussianBohm'"),
        (("config", "wall_loss_model"), {"type": "Sheath2"}, "wall_loss_model"),
        (("config", "conductivity_model"), {"type": "Spitzer"}, "conductivity_model"),
        (("config", "ionization_model"), "OVS", "ionization"),
    ],
)
def test_json_unsupported_options(tmp_path, path, value, match):
    data = json.loads(json.dumps(BASE))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(SimulationInputError, match=match):
        load_hallthruster_json(_write(tmp_path, data))


def test_json_reads_what_upstream_reads(tmp_path):
    """The output-file wrapper, legacy propellant keys, the velocity from a temperature, a late averaging start."""
    wrapped = {"input": {**json.loads(json.dumps(BASE)), "postprocess": {"average_start_time": 5e-3}}}
    cfg = load_hallthruster_json(_write(tmp_path, wrapped))
    assert cfg.num_cells == 50 and cfg.max_charge == 2
    assert cfg.average_start_time_s == 0.0  # past the 1 ms run: upstream averages every frame
    assert (cfg.neutral_velocity_m_s, cfg.neutral_temperature_K) == (150.0, 500.0)  # neither given
    data = json.loads(json.dumps(BASE))
    data["config"]["propellants"][0]["temperature_K"] = 300.0
    cfg = load_hallthruster_json(_write(tmp_path, data))
    assert cfg.neutral_velocity_m_s == pytest.approx(55.0, abs=0.05)  # ¼ √(8kT/(πm)) at 300 K
    assert cfg.neutral_temperature_K == 300.0
    legacy = json.loads(json.dumps(BASE))
    del legacy["config"]["propellants"]
    legacy["config"].update({"propellant": "Xenon", "anode_mass_flow_rate": 3e-6, "ncharge": 3,
                             "neutral_temperature_K": 300.0})
    cfg = load_hallthruster_json(_write(tmp_path, legacy))
    assert cfg.anode_mass_flow_rate_kg_s == 3e-6 and cfg.max_charge == 3
    assert cfg.neutral_velocity_m_s == pytest.approx(55.0, abs=0.05)
    legacy["config"]["neutral_velocity"] = 200.0
    assert load_hallthruster_json(_write(tmp_path, legacy)).neutral_velocity_m_s == 200.0
    legacy["config"]["propellant"] = "Krypton"
    with pytest.raises(SimulationInputError, match=r"^config.propellant = 'Krypton' is not supported"):
        load_hallthruster_json(_write(tmp_path, legacy))


@pytest.mark.parametrize(("block", "key", "message"), [
    ("config", "discharge_votlage", r"config: unknown key\(s\) 'discharge_votlage' \(did you mean 'discharge_voltage'"),
    ("simulation", "ncell", r"simulation: unknown key\(s\) 'ncell' \(did you mean 'ncells'"),
    ("postprocess", "average_start", r"postprocess: unknown key\(s\) 'average_start'"),
])
def test_json_unknown_keys_are_named(tmp_path, block, key, message):
    data = json.loads(json.dumps(BASE))
    data.setdefault(block, {})[key] = 1
    with pytest.raises(SimulationInputError, match=message):
        load_hallthruster_json(_write(tmp_path, data))


def test_json_missing_and_invalid(tmp_path):
    with pytest.raises(SimulationInputError, match="not found"):
        load_hallthruster_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SimulationInputError, match="parsed"):
        load_hallthruster_json(bad)


def test_json_models(tmp_path):
    data = json.loads(json.dumps(BASE))
    data["config"].update({
        "anom_model": {"type": "LogisticPressureShift", "z0": 0.0, "dz": 0.2, "pstar": 3e-5, "alpha": 15.0,
                       "model": {"type": "MultiLogBohm", "zs": [0.0, 0.05], "cs": [0.01, 0.1]}},
        "wall_loss_model": {"type": "ConstantSheathPotential", "sheath_potential": 20.0, "inner_loss_coeff": 0.5,
                            "outer_loss_coeff": 1.0},
        "conductivity_model": {"type": "LANDMARK_conductivity"},
        "LANDMARK": True, "ionization_model": "Landmark", "excitation_model": "Landmark",
        "electron_neutral_model": "Landmark", "anode_boundary_condition": "dirichlet",
        "filter_circuit": {"type": "NoCircuit", "limit_current": 50.0},
    })
    cfg = load_hallthruster_json(_write(tmp_path, data))
    assert cfg.landmark and cfg.reaction_model == "landmark" and cfg.conductivity_model == "landmark"
    assert cfg.wall_model.inner_loss_coeff == 0.5 and cfg.current_limit_A == 50.0
    assert cfg.anom_model.model.c == (0.01, 0.1)


def test_json_tutorial_file(reference):
    cfg = load_hallthruster_json(reference("hallthruster_regression", "spt100_tutorial.json"))
    assert cfg.num_cells == 100 and cfg.max_charge == 1 and cfg.num_save == 1001
    assert len(cfg.thruster.bfield_z_m) == 58  # bfield_spt100.csv next to the JSON
    ref = json.loads(reference("hallthruster_regression", "ref_landmark_3.json").read_text())
    lm = config_from_dict(ref)
    assert lm.landmark and lm.num_cells == 200 and lm.cfl == 0.5 and lm.reconstruct
    assert lm.wall_model.inner_loss_coeff == 0.4 and lm.ion_temperature_K == 0.0
