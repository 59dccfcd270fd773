"""The whole job in one command: stages run once, are skipped when up to date, rerun on change."""

from __future__ import annotations

import shutil

from hallctl.commands import pipeline
from hallctl.project import load_project
from tests.conftest import write_tiny_project


def _status(summary):
    return {name: status for name, status, _ in summary.stages}


def test_pipeline_runs_then_skips_then_reruns_what_changed(tiny_campaign, tmp_path):
    shutil.copytree(tiny_campaign.parent / "data" / "raw", tmp_path / "data" / "raw")
    path = write_tiny_project(tmp_path)
    first = pipeline.run(load_project(path))
    assert _status(first) == {"generate": "skipped", "normalize": "ran", "split": "ran", "train": "ran",
                              "evaluate": "ran", "figures": "ran"}
    names = {p.name for p in first.figures}
    assert {"normalized-overview.png", "training.png", "example-profiles.png", "calibration.png"} <= names
    assert all(p.stat().st_size > 10_000 for p in first.figures)
    assert first.evaluation.is_file()

    again = pipeline.run(load_project(path))
    assert set(_status(again).values()) == {"skipped"}

    changed = pipeline.run(load_project(path, ["train.duration_nimg=512"]))
    status = _status(changed)
    assert status["normalize"] == status["split"] == "skipped"
    assert status["train"] == status["evaluate"] == status["figures"] == "ran"
