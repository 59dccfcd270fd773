"""Shared fixtures: a seeded rng, the shared reference folder, a temporary project folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

# The test models are tiny: one intra-op thread is fastest and immune to a busy neighbour, whose
# spinning OpenMP threads can slow two-thread runs of small kernels by 10-50x.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def shared_reference() -> Path:
    """../shared/reference, or skip when this checkout has no shared folder (CI)."""
    ref = SHARED / "reference"
    if not ref.is_dir():
        pytest.skip("../shared/reference is absent")
    return ref


TINY_PROJECT = """
[simulation]
num_cells = 64
duration_s = 1e-4
num_save = 51

[generate]
num_sims = 10
threads = 2
shard_size = 4

[normalize]
resolution = 32

[split]
val_small = 0.25
val_large = 0.25

[model]
channels = 16
channel_mult = [1, 2]
num_blocks = 1
attn_resolutions = [16]

[train]
duration_nimg = 1024
batch_size = 32
lr_rampup_nimg = 0
val_every_nimg = 512
checkpoint_every_nimg = 512
ema_snapshot_every_nimg = 256
device = "cpu"

[sample]
num_samples = 8
batch_size = 8
steps = 6
device = "cpu"

[evaluate]
dataset = "val_large"
num_truths = 2
num_samples = 6
observe_points = 5
"""


def write_tiny_project(folder: Path) -> Path:
    """A project small enough for tests: 10 short 64-cell simulations and a 16-channel model."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hallctl.toml"
    path.write_text(TINY_PROJECT)
    return path


@pytest.fixture(scope="session")
def tiny_campaign(tmp_path_factory) -> Path:
    """A generated tiny campaign (real simulations), shared by the tests that only read it."""
    from hallctl.commands import generate as campaign
    from hallctl.project import load_project

    path = write_tiny_project(tmp_path_factory.mktemp("campaign"))
    campaign.run(load_project(path))
    return path


@pytest.fixture(scope="session")
def tiny_trained(tiny_campaign: Path, tmp_path_factory) -> Path:
    """The tiny campaign normalized, split and trained for a few steps (a copy, to keep the campaign clean)."""
    import shutil

    from hallctl.commands import normalize, split, train
    from hallctl.project import load_project

    folder = tmp_path_factory.mktemp("trained")
    shutil.copytree(tiny_campaign.parent / "data", folder / "data")
    path = write_tiny_project(folder)
    project = load_project(path)
    normalize.run(project)
    split.run(project)
    train.run(project)
    return path
