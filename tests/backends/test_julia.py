"""The julia backend: its wire format round-trips, it refuses fast without Julia, it runs when Julia is there."""

from __future__ import annotations

import dataclasses
import json
import threading

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


# --------------------------------------------------------------------------------------------------------
# Pieces of the backend, without Julia
# --------------------------------------------------------------------------------------------------------


def test_probe_output_and_exact_version(tmp_path, clean_julia_environment, monkeypatch):
    from hallctl.backends.julia_probe import parse_probe
    from tests.backends.conftest import fake_julia_executable

    assert parse_probe("1.11.5\n/p\n0.21.6\n0.9.28\n") == ("1.11.5", "/p", "0.21.6", "0.9.28")
    assert parse_probe("") == ("", "", "", "")
    monkeypatch.setattr("hallctl.backends.julia_probe.juliacall_version", lambda: "0.9.30")
    exe = fake_julia_executable(tmp_path / "bin", project="/home/u/.julia/environments/v1.11", hallthruster="0.21.7")
    monkeypatch.setenv("PYTHON_JULIACALL_EXE", str(exe))
    status = probe_julia()
    assert (status.julia, status.julia_version, status.project) == (str(exe), "1.11.5",
                                                                     "/home/u/.julia/environments/v1.11")
    assert not status.ready and "HallThruster.jl 0.21.7 is installed" in status.missing()
    assert "needs exactly 0.21.6" in status.missing()
    monkeypatch.setenv("PYTHON_JULIACALL_PROJECT", str(tmp_path / "mine"))
    assert probe_julia().project == str(tmp_path / "mine")  # the user's project wins (and is the one probed)


def test_juliacall_environment_sets_executable_and_project_together():
    from hallctl.backends.julia import juliacall_environment
    from hallctl.backends.julia_probe import JuliaStatus

    env = juliacall_environment(JuliaStatus("/opt/julia/bin/julia", "1.11.5", "/p", "0.21.6", "0.9.28", "0.9.28"), 0)
    assert env == {"PYTHON_JULIACALL_EXE": "/opt/julia/bin/julia", "PYTHON_JULIACALL_PROJECT": "/p",
                   "PYTHON_JULIACALL_THREADS": "1", "PYTHON_JULIACALL_HANDLE_SIGNALS": "yes",
                   "PYTHON_JULIAPKG_OFFLINE": "yes"}


def test_driver_results_become_native_outcomes():
    from hallctl.backends.julia_outcome import outcome_from_driver, plain
    from hallctl.jobs import PERFORMANCE_NAMES, RECORD_FIELDS, SERIES_NAMES
    from hallctl.sim.config import SimConfig
    from hallctl.sim.metrics import peaks
    from tests.backends.fake_juliacall import driver_result, to_python

    config = SimConfig(num_cells=20, num_save=11, duration_s=1e-5, max_charge=2)
    doc = to_hallthruster_input(config)
    raw = plain(to_python(driver_result(doc, config.average_start_s, 2, "success")))
    assert isinstance(raw["t"], np.ndarray) and isinstance(raw["averaged"]["Tev"], np.ndarray)
    out = outcome_from_driver(raw, config)
    assert out.status == "success" and out.reason == ""
    assert set(out.profiles) == set(RECORD_FIELDS) and all(v.shape == (20,) for v in out.profiles.values())
    assert set(out.series) == set(SERIES_NAMES) and all(v.shape == (11,) for v in out.series.values())
    assert set(out.performance) == set(PERFORMANCE_NAMES)
    assert not out.profiles["ni_3"].any() and not out.profiles["ui_3"].any() and out.profiles["ni_2"].all()
    np.testing.assert_allclose(out.z_m, raw["grid"][1:-1])
    window = raw["t"] >= config.average_start_s
    assert window.sum() == 11 - 4  # frames 5..11 (1-based), the native window
    assert out.performance["discharge_current_A"] == pytest.approx(np.mean(raw["discharge_current"][window]))
    assert {k: out.performance[k] for k in ("max_Te_eV", "z_max_Te_m", "max_E_V_m", "z_max_E_m")} == peaks(
        out.z_m, out.profiles["Tev"], out.profiles["E"])
    assert out.series["ion_current_A"][3] == pytest.approx(raw["boundaries"]["ji_right"][3]
                                                           * raw["boundaries"]["channel_area_right"][3])
    assert out.steps == round(float(np.sum(np.diff(raw["t"]) / raw["dt"][1:])))

    failed = outcome_from_driver(plain(to_python(driver_result(doc, config.average_start_s, 2, "failure"))), config)
    assert failed.status == "failure" and failed.reason.startswith("HallThruster.jl returned failure: NaN")
    assert np.isnan(failed.profiles["Tev"]).all() and np.isnan(failed.performance["thrust_N"])
    assert failed.series["thrust_N"].shape == (3,)
    crashed = outcome_from_driver(plain(to_python(driver_result(doc, 0.0, 2, "exception"))), config)
    assert crashed.status == "error" and crashed.reason == 'HallThruster.jl: KeyError: key "elements" not found'
    errored = outcome_from_driver({**raw, "retcode": "error", "error": "DomainError\nstack"}, config)
    assert errored.status == "error" and errored.reason == "HallThruster.jl returned error: DomainError"


def test_driver_is_the_variable_else_the_package_else_the_checkout(tmp_path, monkeypatch):
    from hallctl.backends import julia

    site = tmp_path / "site" / "hallctl"
    (site / "backends").mkdir(parents=True)
    monkeypatch.setattr(julia, "__file__", str(site / "backends" / "julia.py"))
    monkeypatch.delenv("HALLCTL_JULIA_DRIVER", raising=False)
    with pytest.raises(BackendError, match="HALLCTL_JULIA_DRIVER"):
        julia.driver_path()
    (tmp_path / "site" / "julia").mkdir()
    (tmp_path / "site" / "julia" / "generate.jl").write_text("")  # a checkout's julia/
    assert julia.driver_path() == tmp_path / "site" / "julia" / "generate.jl"
    (site / "julia").mkdir()
    (site / "julia" / "generate.jl").write_text("")  # the installed package
    assert julia.driver_path() == site / "julia" / "generate.jl"
    monkeypatch.setenv("HALLCTL_JULIA_DRIVER", str(tmp_path / "mine.jl"))
    with pytest.raises(BackendError, match=r"mine\.jl"):  # an override that names no file is an error
        julia.driver_path()
    (tmp_path / "mine.jl").write_text("")
    assert julia.driver_path() == tmp_path / "mine.jl"


def test_the_build_puts_the_driver_inside_the_package(tmp_path):
    pytest.importorskip("setuptools")
    import shutil
    import subprocess
    import sys

    from tests.conftest import REPO

    source = tmp_path / "source"  # a copy: the build writes its metadata next to setup.py
    for name in ("hallctl", "julia"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    res = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path / "lib")],
                         cwd=source, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    lib = tmp_path / "lib" / "hallctl"
    assert (lib / "julia" / "generate.jl").read_text() == (REPO / "julia" / "generate.jl").read_text()
    assert (lib / "backends" / "julia.py").is_file() and (lib / "py.typed").is_file()


def test_julias_interrupt_is_keyboardinterrupt_and_a_stop_ends_the_stream(fake_julia, tmp_path):
    from hallctl.backends import julia as backend
    from tests.backends.fake_juliacall import JuliaError

    def interrupted():
        raise JuliaError("InterruptException:")

    with pytest.raises(KeyboardInterrupt):
        backend._call(interrupted)

    fake = fake_julia()
    project = load_project(write_tiny_project(tmp_path))
    plan = campaign_plan(project)
    jobs = [draw_job(plan, i) for i in range(6)]
    stop = threading.Event()
    stream = backend.run_julia(jobs, lambda job: sim_config_for(plan, job), threads=1, stop=stop)
    first = next(stream)
    stop.set()
    rest = list(stream)
    assert first[1].status == "success" and len(rest) <= 1  # at most the simulation already running
    assert len([c for c in fake.calls if c[0] == "run_one"]) <= 3  # warm-up, the first, the one in flight
