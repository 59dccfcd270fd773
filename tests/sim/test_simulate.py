"""Tests of hallctl/sim/simulate.py: the driver, Result schema, failures, progress (§11.7, §13)."""

from __future__ import annotations

import dataclasses
import importlib
import math
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pytest

from hallctl.report import Progress, Reporter
from hallctl.sim import PROFILE_UNITS, Result, SimConfig, simulate
from hallctl.sim.result import PERFORMANCE_KEYS
from hallctl.sim.setup import build_arrays

simulate_module = importlib.import_module("hallctl.sim.simulate")  # the module, not the function


@pytest.fixture(scope="module")
def tiny_result(tiny_config) -> Result:
    return simulate(tiny_config)


def test_short_run_succeeds_with_fixed_schema(tiny_result, tiny_config):
    r = tiny_result
    assert r.status == "success" and r.reason == ""
    n2 = tiny_config.num_cells + 2
    assert r.z_m.shape == (n2,)
    assert r.z_m[0] == 0.0 and r.z_m[-1] == pytest.approx(0.08)
    assert set(r.profiles) == set(PROFILE_UNITS)
    for name, prof in r.profiles.items():
        assert prof.shape == (n2,), name
        assert np.all(np.isfinite(prof)), name
    assert r.interior("Tev").shape == (tiny_config.num_cells,)
    assert r.t_s.shape == (11,) and r.t_s[-1] == pytest.approx(2e-5)
    for series in (r.discharge_current_A, r.ion_current_A, r.thrust_N):
        assert series.shape == (11,) and np.all(np.isfinite(series))
    assert set(r.performance) == set(PERFORMANCE_KEYS)
    assert r.steps > 100 and r.wall_s > 0
    assert r.performance["discharge_current_A"] > 0
    assert np.all(r.interior("Tev") >= tiny_config.min_Te_eV)
    assert r.profiles["phi"][0] >= tiny_config.discharge_voltage_V  # anode at V_d + V_s
    assert r.profiles["phi"][-1] == pytest.approx(tiny_config.cathode_coupling_voltage_V, abs=1e-6)


def test_edge_values_replace_ghosts(tiny_result):
    B = tiny_result.profiles["B"]
    # B at the anode edge is the mean of the ghost (linear extrapolation) and the first cell
    assert B[0] == pytest.approx(0.5 * (max(2 * B[1] - B[2], 0.0) + B[1]), rel=1e-12)


def test_missing_charge_states_are_zero(tiny_config):
    r = simulate(dataclasses.replace(tiny_config, max_charge=1, duration_s=4e-6, num_save=3))
    assert r.ok
    for name in ("ni_2", "ni_3", "ui_2", "ui_3"):
        assert np.all(r.profiles[name] == 0.0)


def test_nonadaptive_run(tiny_config):
    r = simulate(dataclasses.replace(tiny_config, adaptive=False, dt_s=5e-9, duration_s=1e-6, num_save=3))
    assert r.ok and 200 <= r.steps <= 202  # + at most a rounding-sized landing step per frame


def test_injected_nan_is_a_failure_not_an_exception(monkeypatch, tiny_config):
    def poisoned(config):
        arrays = build_arrays(config)
        arrays.U[1, 5] = math.nan
        return arrays

    monkeypatch.setattr(simulate_module, "build_arrays", poisoned)
    r = simulate(tiny_config)
    assert r.status == "failure"
    assert "non-finite" in r.reason
    assert all(math.isnan(v) for v in r.performance.values())


def test_diverging_config_fails_cleanly(tiny_config):
    # an absurd CFL-free fixed step blows the heavy species up within a few steps
    cfg = dataclasses.replace(tiny_config, adaptive=False, dt_s=1e-5, duration_s=1e-3, num_save=11)
    r = simulate(cfg)
    assert r.status == "failure"
    assert "at t=" in r.reason
    assert len(r.t_s) < 11


class _Recorder(Reporter):
    def __init__(self):
        self.updates = []

    @contextmanager
    def progress(self, description, total=None, unit=""):
        outer = self

        class _P(Progress):
            def update(self, completed=None, total=None, **fields):
                outer.updates.append(completed)

        yield _P()


def test_progress_reports_simulated_time(tiny_config):
    rec = _Recorder()
    simulate(tiny_config, report=rec)
    assert rec.updates and rec.updates[-1] == pytest.approx(tiny_config.duration_s)
    assert rec.updates == sorted(rec.updates)


def test_threads_give_identical_results(tiny_config):
    cfgs = [dataclasses.replace(tiny_config, discharge_voltage_V=v) for v in (250.0, 300.0)]
    with ThreadPoolExecutor(2) as pool:
        parallel = list(pool.map(simulate, cfgs))
    serial = [simulate(c) for c in cfgs]
    for a, b in zip(parallel, serial, strict=True):
        assert np.array_equal(a.discharge_current_A, b.discharge_current_A)


def test_invalid_input_raises():
    from hallctl.errors import SimulationInputError

    with pytest.raises(SimulationInputError):
        simulate("not a config")  # type: ignore[arg-type]
    with pytest.raises(SimulationInputError):
        simulate(SimConfig(landmark_rates_file="/nonexistent/rates.csv", reaction_model="landmark"))
