"""Fixtures of the model tests: a tiny configuration and a small synthetic dataset.

The tests run with one torch thread: on a shared 2-core machine two threads that wait on each
other slow tiny models down by an order of magnitude, and one thread keeps results reproducible.
"""

from __future__ import annotations

import math

import pytest
import torch

from hallctl.model import ModelConfig, TrainSettings


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_cfg() -> ModelConfig:
    """16 channels, two levels, one block, attention at length 8 (and the deepest level)."""
    return ModelConfig(channels=16, channel_mult=(1, 2), num_blocks=1, attn_resolutions=(8,), channels_per_head=16)


def synthetic_profiles(n: int, rows: int = 3, length: int = 16, seed: int = 0) -> torch.Tensor:
    """Smooth random profiles plus a constant row, each row normalized to std 0.5 (σ_d)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.linspace(0, 1, length)
    a, b = torch.randn(n, 1, 1, generator=g), torch.randn(n, 1, 1, generator=g)
    parts = [a * torch.sin(math.pi * z) + b * z, a * torch.cos(math.pi * z) - b, (a - b).expand(n, 1, length)]
    x = torch.cat([*parts[:rows], torch.zeros(n, max(rows - 3, 0), length)], dim=1)[:, :rows]
    x = x - x.mean(dim=(0, 2), keepdim=True)
    return 0.5 * x / x.std(dim=(0, 2), keepdim=True).clamp_min(1e-6)


@pytest.fixture
def profiles() -> torch.Tensor:
    return synthetic_profiles(160)


def tiny_settings(**overrides) -> TrainSettings:
    """Settings sized for seconds on a CPU."""
    base = dict(
        duration_nimg=16 * 20,
        batch_size=16,
        lr_ref=0.01,
        lr_ref_nimg=2000,
        lr_rampup_nimg=160,
        ema_snapshot_every_nimg=32,
        checkpoint_every_nimg=160,
        val_every_nimg=80,
        val_sigmas=(0.05, 0.5, 2.0),
        device="cpu",
        amp="off",
    )
    base.update(overrides)
    return TrainSettings(**base)
