"""The simulator options of [simulation] beyond the campaign's profile: fixed anomalous models, the pressure
shift, background pressure, plume, LANDMARK mode, anode boundary, reactions; campaigns keep their identity."""

from __future__ import annotations

import pytest

from hallctl.commands import generate, simulate
from hallctl.errors import ProjectError
from hallctl.generate.campaign import campaign_identity
from hallctl.generate.plan import nominal_job, sim_config_for
from hallctl.project import load_project
from hallctl.sim.anomalous import Bohm, GaussianBohm, LogisticPressureShift, MultiLogBohm, NoAnom, TwoZoneBohm
from hallctl.sim.hallthruster_json import config_from_dict, to_hallthruster_input
from tests.conftest import write_tiny_project


def _config(sets: list[str]):
    project = load_project(None, sets)
    plan = generate.campaign_plan(project)
    return sim_config_for(plan, nominal_job(plan))


@pytest.mark.parametrize(("sets", "expected"), [
    (["simulation.anom_model=TwoZoneBohm", "simulation.anom_params=[0.00625, 0.0625]"], TwoZoneBohm(0.00625, 0.0625)),
    (["simulation.anom_model=Bohm", "simulation.anom_params=[0.05]"], Bohm(0.05)),
    (["simulation.anom_model=GaussianBohm", "simulation.anom_params=[0.1, 0.06, 0.025, 0.005]"],
     GaussianBohm(0.1, 0.06, 0.025, 0.005)),
    (["simulation.anom_model=MultiLogBohm", "simulation.anom_params=[0.0, 0.05, 0.01, 0.1]"],
     MultiLogBohm((0.0, 0.05), (0.01, 0.1))),
    (["simulation.anom_model=none"], NoAnom()),
])
def test_fixed_anomalous_models(sets, expected):
    assert _config(sets).anom_model == expected


def test_pressure_shift_and_the_other_switches():
    cfg = _config(["simulation.anom_model=Bohm", "simulation.anom_params=[0.05]",
                   "simulation.pressure_shift=[0.0, 0.2, 3e-5, 15.0]", "simulation.background_pressure_Torr=1e-5",
                   "simulation.solve_plume=true", "simulation.anode_boundary_condition=dirichlet",
                   "simulation.reaction_model=landmark", "simulation.landmark=true"])
    assert cfg.anom_model == LogisticPressureShift(Bohm(0.05), 0.0, 0.2, 3e-5, 15.0)
    assert cfg.background_pressure_Torr == 1e-5 and cfg.solve_plume and cfg.landmark
    assert cfg.anode_boundary_condition == "dirichlet" and cfg.reaction_model == "landmark"
    again = config_from_dict(to_hallthruster_input(cfg))  # the julia backend's wire format carries them
    assert again.anom_model == cfg.anom_model and again.background_pressure_Torr == 1e-5


@pytest.mark.parametrize(("sets", "message"), [
    (["simulation.anom_model=GaussianBohm", "simulation.anom_params=[0.1, 0.06]"], "it takes 4 numbers"),
    (["simulation.anom_model=MultiLogBohm", "simulation.anom_params=[0.0, 0.05, 0.01]"], "an even number"),
    (["simulation.anom_model=MultiLogBohm", "simulation.anom_params=[0.05, 0.0, 0.01, 0.1]"], "increasing"),
    (["simulation.anom_params=[0.1]"], "needs a fixed anom_model"),
    (["simulation.pressure_shift=[0.0, 0.2]"], r"must be \[z0, dz, pstar_Torr, alpha\]"),
    (["simulation.anom_model=Bohmm"], "anom_model"),
])
def test_bad_options_are_one_line(sets, message):
    with pytest.raises(ProjectError, match=message):
        _config(sets)


def test_a_fixed_model_runs_in_simulate_and_is_refused_by_generate(tmp_path):
    path = write_tiny_project(tmp_path)
    project = load_project(path, ["simulation.anom_model=TwoZoneBohm", "simulation.anom_params=[0.00625, 0.0625]",
                                  "simulation.duration_s=2e-5", "simulation.num_save=3"])
    result, _ = simulate.run(project)
    assert result.status == "success"
    with pytest.raises(ProjectError, match="a campaign draws the six-parameter profile"):
        generate.run(project)


def test_campaign_identity_ignores_new_options_at_their_defaults():
    base = campaign_identity(load_project(None).to_dict())
    assert "anom_model" not in base["simulation"] and "solve_plume" not in base["simulation"]
    assert campaign_identity(load_project(None, ["simulation.reaction_model=lookup"]).to_dict()) == base
    shifted = campaign_identity(load_project(None, ["simulation.background_pressure_Torr=1e-5"]).to_dict())
    assert shifted["campaign_id"] != base["campaign_id"]
