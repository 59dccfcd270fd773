"""Campaigns: seeding independent of threads, resume, refusal of another configuration, failures kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from hallctl.commands import generate as campaign
from hallctl.data.store import read_raw_shard
from hallctl.errors import CampaignError, DataError
from hallctl.generate.plan import draw_job
from hallctl.jobs import derive_seed
from hallctl.project import load_project
from tests.conftest import write_tiny_project


def _records(project):
    out = {}
    for path in sorted((project.data_dir / "raw").glob("shard-*.h5")):
        rec = read_raw_shard(path)
        for k, i in enumerate(rec.index):
            assert int(i) not in out, "an index was simulated twice"
            out[int(i)] = (rec.status[k], rec.fields[k], rec.params[k], rec.seed[k])
    return out


def test_draws_depend_only_on_seed_and_index(tmp_path):
    project = load_project(write_tiny_project(tmp_path))
    a, b = draw_job(campaign.campaign_plan(project), 3), draw_job(campaign.campaign_plan(project), 3)
    assert a.seed == b.seed == derive_seed(0, 3)
    assert a.params == b.params
    np.testing.assert_array_equal(a.anom_c, b.anom_c)
    assert draw_job(campaign.campaign_plan(project), 4).params != a.params
    assert len(a.anom_z_m) == 2 * project.simulation.num_cells
    other = load_project(write_tiny_project(tmp_path), ["generate.seed=1"])
    assert draw_job(campaign.campaign_plan(other), 3).params != a.params


def test_campaign_is_independent_of_threads(tiny_campaign, tmp_path):
    two = load_project(tiny_campaign)
    one = load_project(write_tiny_project(tmp_path), ["generate.threads=1", "generate.num_sims=4"])
    summary = campaign.run(one)
    assert summary.ran == 4 and summary.threads == 1
    r1, r2 = _records(one), _records(two)
    assert sorted(r2) == list(range(10))
    for i in range(4):
        assert r1[i][0] == r2[i][0]
        np.testing.assert_array_equal(r1[i][1], r2[i][1])  # bit-identical profiles
        np.testing.assert_array_equal(r1[i][2], r2[i][2])


def test_campaign_outputs_are_physical(tiny_campaign):
    project = load_project(tiny_campaign)
    records = _records(project)
    ok = [v for v in records.values() if v[0] == "success"]
    assert len(ok) >= 8
    rec = read_raw_shard(sorted((project.data_dir / "raw").glob("shard-*.h5"))[0])
    ne = rec.fields[:, rec.field_names.index("ne")]
    assert np.all(ne[np.array(rec.status) == "success"] > 0)
    assert rec.series.shape[2] == 51 and rec.anom_profile.shape[1] == 128


def test_resume_runs_only_missing_indices(tmp_path):
    project = load_project(write_tiny_project(tmp_path), ["generate.num_sims=2"])
    assert campaign.run(project).ran == 2
    more = load_project(project.source, ["generate.num_sims=4"])
    summary = campaign.run(more)
    assert summary.already_done == 2 and summary.ran == 2
    assert sorted(_records(more)) == [0, 1, 2, 3]
    assert campaign.run(more).ran == 0


def test_other_configuration_is_refused_unless_forced(tmp_path):
    project = load_project(write_tiny_project(tmp_path), ["generate.num_sims=1"])
    campaign.run(project)
    changed = load_project(project.source, ["generate.num_sims=1", "simulation.num_cells=32"])
    with pytest.raises(DataError, match=r"different configuration.*simulation\.num_cells"):
        campaign.run(changed)
    campaign.run(changed, force=True)
    assert any(p.name.startswith("raw.old-") for p in (tmp_path / "data").iterdir())


def test_failures_are_kept_with_parameters_and_reason(tmp_path):
    project = load_project(write_tiny_project(tmp_path), [
        "generate.num_sims=2", 'generate.params.anom_scale={dist="fixed", value=-1.0}'])
    summary = campaign.run(project)
    assert summary.successes == 0 and sum(summary.failures.values()) == 2 and not summary.errors
    recs = _records(project)
    assert all(s == "failure" for s, *_ in recs.values())  # refused parameters are final, like divergence
    rec = read_raw_shard(next((project.data_dir / "raw").glob("shard-*.h5")))
    assert "invalid configuration" in rec.reason[0]
    assert np.all(rec.params[:, rec.param_names.index("anom_scale")] == -1.0)
    assert np.all(np.isnan(rec.fields))
    assert campaign.run(project).ran == 0  # never retried


def test_errors_fail_the_command_and_are_retried_on_resume(tmp_path, monkeypatch):
    from hallctl.backends import native
    from hallctl.data.normalize import latest_records

    project = load_project(write_tiny_project(tmp_path), ["generate.num_sims=3", "simulation.duration_s=2e-4"])
    real = native.simulate

    def flaky(config, **kw):
        if flaky.fail:
            raise MemoryError("out of memory")
        return real(config, **kw)

    flaky.fail = True
    monkeypatch.setattr(native, "simulate", flaky)
    with pytest.raises(CampaignError, match=r"3 of the 3 simulations run raised errors \(most: 'MemoryError'\)"):
        campaign.run(project)
    assert [s for s, *_ in _records(project).values()] == ["error"] * 3
    flaky.fail = False
    summary = campaign.run(project)  # the same command again: only the errors run
    assert summary.ran == 3 and summary.successes + sum(summary.failures.values()) == 3 and not summary.errors
    shards = sorted((project.data_dir / "raw").glob("shard-*.h5"))
    assert [m.tolist() for m in latest_records(shards)] == [[False] * 3, [True] * 3]  # the retries supersede
    tolerant = load_project(project.source, ["generate.num_sims=4", "simulation.duration_s=2e-4",
                                             "generate.max_error_fraction=1.0"])
    flaky.fail = True
    assert campaign.run(tolerant).num_errors == 1  # tolerated: saved, reported, retried next time


def test_one_writer_per_campaign_folder(tmp_path):
    import json
    import socket

    project = load_project(write_tiny_project(tmp_path), ["generate.num_sims=1", "simulation.duration_s=2e-4"])
    lock = project.data_dir / ".raw.lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(), "command": "hallctl generate",
                                    "started": "2026-12-01 08:00:00"}))
        with pytest.raises(DataError, match=rf"in use by hallctl generate \(pid {holder.pid} on "):
            campaign.run(project)
        assert not (project.data_dir / "raw").exists()
    finally:
        holder.kill()
        holder.wait()
    assert campaign.run(project).ran == 1  # the holder is gone: a stale lock is taken over
    assert not lock.exists()  # and released


def test_an_unreadable_shard_stops_generate_or_is_moved_aside(tmp_path):
    project = load_project(write_tiny_project(tmp_path), ["generate.num_sims=2", "simulation.duration_s=2e-4"])
    campaign.run(project)
    raw = project.data_dir / "raw"
    shard = next(raw.glob("shard-*.h5"))
    shard.write_bytes(shard.read_bytes()[:500])  # truncated
    with pytest.raises(DataError, match=rf"raw shard {shard} cannot be read .*--repair"):
        campaign.run(project)
    summary = campaign.run(project, repair=True)
    assert summary.ran == 2 and (raw / "damaged" / shard.name).is_file()


def test_kill_loses_only_simulations_in_flight(tmp_path):
    """SIGKILL during a campaign, then the same command again: every index exactly once."""
    path = write_tiny_project(tmp_path)
    cmd = [sys.executable, "-m", "hallctl", "generate", str(path), "-q", "--set", "generate.num_sims=8",
           "--set", "simulation.duration_s=4e-4", "--set", "generate.threads=1"]
    proc = subprocess.Popen(cmd, cwd=tmp_path)
    raw = tmp_path / "data" / "raw"
    deadline = time.time() + 240
    while time.time() < deadline and not list(raw.glob("shard-*.h5")):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(_records(load_project(path)))
    assert 1 <= done_before < 8
    assert subprocess.run(cmd, cwd=tmp_path).returncode == 0
    assert sorted(_records(load_project(path, ["generate.num_sims=8"]))) == list(range(8))
    assert not list(raw.glob(".shard-*.tmp-*"))


def test_dry_run_simulates_nothing(tmp_path):
    project = load_project(write_tiny_project(tmp_path))
    jobs = campaign.preview(project, 3)
    assert [j.index for j in jobs] == [0, 1, 2]
    assert not (tmp_path / "data").exists()
