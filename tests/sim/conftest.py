"""Shared fixtures of the simulator tests: the validation-data folder and small configurations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hallctl.sim.config import SimConfig

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
"""The repository's sibling folder with validation data (absent in a fresh clone)."""

REFERENCE = SHARED / "reference"
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "hallthruster"
"""Trimmed golden records of HallThruster.jl's regression cases (tests/data/hallthruster/PROVENANCE.md)."""


def reference_path(*parts: str) -> Path:
    """Path under ``../shared/reference``; skips the test when it does not exist."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"validation data {path} not available")
    return path


@pytest.fixture
def reference():
    """``reference(*parts)``: a path under ``../shared/reference``, skipping when it is absent."""
    return reference_path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def tiny_config() -> SimConfig:
    """hall_diffusion configuration cut to 20 µs and 11 frames (a few hundred steps)."""
    return SimConfig.hall_diffusion(duration_s=2e-5, num_save=11)
