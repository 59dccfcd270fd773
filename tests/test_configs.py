"""The ready project files in configs/ validate, and their models have the documented sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallctl.commands.train import model_config
from hallctl.model import build_precond
from hallctl.project import load_project

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize(("name", "length", "millions"),
                         [("tiny", 32, 0.327), ("small", 64, 10.9), ("medium", 128, 25.3), ("large", 128, 101.4)])
def test_config_loads_and_model_size(name, length, millions):
    project = load_project(CONFIGS / f"{name}.toml")
    res = project.normalize.resolution or project.simulation.num_cells
    assert res == length
    params = sum(p.numel() for p in build_precond(model_config(project), 25, length).parameters())
    assert params / 1e6 == pytest.approx(millions, rel=0.01)


def test_tiny_writes_under_out():
    project = load_project(CONFIGS / "tiny.toml")
    assert project.data_dir == CONFIGS.parent / "out" / "tiny" / "data"
