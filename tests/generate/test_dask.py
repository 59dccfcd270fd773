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


def test_dask_settings_from_the_project(tmp_path):
    project = load_project(write_tiny_project(tmp_path), ["generate.executor=dask", "generate.threads=3"])
    settings = campaign.dask_settings(project)
    assert settings.workers == 3 and settings.cluster == "local" and not settings.scheduler
    remote = load_project(project.source, ["generate.executor=dask", "generate.scheduler=tcp://10.0.0.1:8786"])
    assert campaign.dask_settings(remote).scheduler == "tcp://10.0.0.1:8786"
    assert campaign.dask_settings(load_project(project.source)) is None
    with pytest.raises(ProjectError, match="runs the native solver"):
        campaign.dask_settings(load_project(project.source, ["generate.executor=dask", "generate.backend=julia"]))
