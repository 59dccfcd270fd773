"""Data-parallel training with torchrun: 2 CPU processes (gloo) follow the single-process run on the same global
batch, rank 0 alone writes, and a checkpoint resumes with another number of processes."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file

from hallctl.project import load_project

SETS = ["train.batch_size=32", "train.val_every_nimg=64", "train.checkpoint_every_nimg=128",
        "train.ema_snapshot_every_nimg=128", "train.threads=1", "train.device=cpu"]


def _train(project_file, run_name: str, nimg: int, processes: int) -> None:
    args = ["-m", "hallctl", "train", str(project_file), "-q", "--set", f"paths.run_name={run_name}",
            "--set", f"train.duration_nimg={nimg}"]
    for s in SETS:
        args += ["--set", s]
    launcher = [sys.executable] if processes == 1 else [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                                         f"--nproc-per-node={processes}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*launcher, *args], cwd=project_file.parent, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def _losses(run_dir) -> np.ndarray:
    with (run_dir / "metrics.csv").open() as f:
        return np.array([[float(r["nimg"]), float(r["train_loss"]), float(r["val_raw"])] for r in csv.DictReader(f)])


def _weights(run_dir) -> dict[str, np.ndarray]:
    return load_file(str(run_dir / "model.safetensors"))


@pytest.mark.slow
def test_two_processes_follow_the_single_process_run(tiny_trained):
    project = load_project(tiny_trained)
    runs = project.run_dir.parent
    _train(tiny_trained, "single", 256, 1)
    _train(tiny_trained, "ddp", 256, 2)
    one, two = _losses(runs / "single"), _losses(runs / "ddp")
    assert len(one) == len(two) == 4 and np.array_equal(one[:, 0], two[:, 0])  # rank 0 alone wrote the metrics
    np.testing.assert_allclose(two[:, 1:], one[:, 1:], rtol=2e-4)
    a, b = _weights(runs / "single"), _weights(runs / "ddp")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-4, atol=1e-5, err_msg=k)
    # resume the single-process checkpoint with two processes, and the two-process one with one
    for src, dst, processes in (("single", "single-then-ddp", 2), ("ddp", "ddp-then-single", 1)):
        shutil.copytree(runs / src, runs / dst)
        _train(tiny_trained, dst, 384, processes)
    c, d = _weights(runs / "single-then-ddp"), _weights(runs / "ddp-then-single")
    for k in c:
        np.testing.assert_allclose(c[k], d[k], rtol=1e-4, atol=1e-5, err_msg=k)
    assert _losses(runs / "single-then-ddp")[-1, 0] == 384
