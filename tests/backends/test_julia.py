"""The julia backend: its wire format round-trips, it refuses fast without Julia, it runs when Julia is there."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from hallctl.backends.julia_probe import probe_julia
from hallctl.commands.generate import campaign_plan
from hallctl.errors import BackendError
from hallctl.generate.plan import draw_job, sim_config_for
from hallctl.project import load_project
from hallctl.sim.hallthruster_json import config_from_dict, to_hallthruster_input
from tests.conftest import write_tiny_project


def test_campaign_config_round_trips_through_the_hallthruster_input(tmp_path):
    """What the julia backend sends HallThruster.jl reads back as the same configuration."""
    project = load_project(write_tiny_project(tmp_path))
    config = sim_config_for(campaign_plan(project), draw_job(campaign_plan(project), 2))
    doc = json.loads(json.dumps(to_hallthruster_input(config)))
    back = config_from_dict(doc)
    for f in dataclasses.fields(config):
        a, b = getattr(config, f.name), getattr(back, f.name)
        if f.name in ("reaction_rate_directories", "landmark_rates_file", "reaction_model"):
            continue
        if isinstance(a, float):
            assert a == pytest.approx(b, rel=1e-12), f.name
        else:
            assert a == b, f.name
    assert doc["config"]["anom_model"]["type"] == "MultiLogBohm"
    np.testing.assert_allclose(doc["config"]["anom_model"]["cs"], draw_job(campaign_plan(project), 2).anom_c)


def test_missing_julia_is_reported_without_importing_juliacall(monkeypatch, tmp_path):
    import sys

    from hallctl.backends import julia

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PYTHON_JULIACALL_EXE", raising=False)
    monkeypatch.delenv("JULIA_EXE", raising=False)
    with pytest.raises(BackendError, match=r"Julia is not installed.*--backend native"):
        julia.check_backend()
    assert "juliacall" not in sys.modules


@pytest.mark.skipif(not probe_julia(timeout_s=60).ready, reason="Julia with HallThruster.jl and juliacall absent")
def test_julia_backend_runs_a_campaign(tmp_path):  # pragma: no cover - needs Julia
    from hallctl.commands import generate as campaign
    from hallctl.data.store import read_raw_shard

    project = load_project(write_tiny_project(tmp_path), ["generate.backend='julia'", "generate.num_sims=2"])
    summary = campaign.run(project)
    assert summary.ran == 2
    rec = read_raw_shard(next((project.data_dir / "raw").glob("shard-*.h5")))
    assert rec.fields.shape[2] == project.simulation.num_cells
