"""The dask executor: a 2-worker LocalCluster on the loopback interface gives the threaded campaign, bit for bit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hallctl.commands import generate as campaign
from hallctl.errors import ProjectError
from hallctl.project import load_project
from tests.conftest import write_tiny_project
from tests.generate.test_campaign import _records

pytest.importorskip("distributed", reason="dask.distributed is the optional extra hallctl[dask]")

SETS = ["generate.num_sims=4", "simulation.duration_s=4e-4"]


def test_dask_local_cluster_equals_threads(tmp_path):
    threads = write_tiny_project(tmp_path / "threads")
    dask = write_tiny_project(tmp_path / "dask")
    # both runs in fresh processes, so both use the cached compiled solver like the dask workers do
    for path, extra in ((threads, ["--threads", "1"]), (dask, ["--executor", "dask", "--threads", "2"])):
        cmd = [sys.executable, "-m", "hallctl", "generate", str(path), "-q", *extra]
        for s in SETS:
            cmd += ["--set", s]
        done = subprocess.run(cmd, cwd=path.parent, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    a, b = _records(load_project(threads)), _records(load_project(dask))
    assert sorted(a) == sorted(b) == [0, 1, 2, 3]
    for i in a:
        assert a[i][0] == b[i][0]
        np.testing.assert_array_equal(a[i][1], b[i][1])
        np.testing.assert_array_equal(a[i][2], b[i][2])


def test_a_killed_client_loses_only_simulations_in_flight(tmp_path):
    import os
    import signal
    import time

    path = write_tiny_project(tmp_path)
    cmd = [sys.executable, "-m", "hallctl", "generate", str(path), "-q", "--executor", "dask", "-t", "2",
           "--set", "generate.num_sims=8", "--set", "simulation.duration_s=4e-4", "--set", "generate.shard_size=2"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, start_new_session=True)
    raw = tmp_path / "data" / "raw"
    deadline = time.time() + 240
    while time.time() < deadline and not list(raw.glob("shard-*.h5")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the client and its local cluster
    proc.wait()
    before = len(_records(load_project(path)))
    assert 1 <= before < 8
    again = subprocess.run([*cmd[:6], "--threads", "1", *cmd[10:]], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert sorted(_records(load_project(path, ["generate.num_sims=8"]))) == list(range(8))  # each index once


def test_a_crashing_worker_is_retried_then_recorded_as_an_error(tmp_path):
    import functools

    from hallctl.backends.dask import DaskSettings, run_dask
    from hallctl.generate.plan import draw_job
    from tests.generate.dask_helpers import config_or_die

    project = load_project(write_tiny_project(tmp_path), SETS)
    plan = campaign.campaign_plan(project)
    jobs = [draw_job(plan, i) for i in range(2)]
    make_config = functools.partial(config_or_die, plan, 1)
    out = dict((job.index, outcome) for job, outcome in run_dask(jobs, make_config,
                                                                  settings=DaskSettings(workers=2, retries=1)))
    assert out[0].status in ("success", "failure")
    assert out[1].status == "error" and "dask worker failed" in out[1].reason


def test_dask_settings_from_the_project(tmp_path):
    project = load_project(write_tiny_project(tmp_path), ["generate.executor=dask", "generate.threads=3"])
    settings = campaign.dask_settings(project)
    assert settings.workers == 3 and settings.cluster == "local" and not settings.scheduler
    remote = load_project(project.source, ["generate.executor=dask", "generate.scheduler=tcp://10.0.0.1:8786"])
    assert campaign.dask_settings(remote).scheduler == "tcp://10.0.0.1:8786"
    assert campaign.dask_settings(load_project(project.source)) is None
    with pytest.raises(ProjectError, match="runs the native solver"):
        campaign.dask_settings(load_project(project.source, ["generate.executor=dask", "generate.backend=julia"]))
