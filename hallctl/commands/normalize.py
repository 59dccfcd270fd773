"""``hallctl normalize``: the [normalize] section applied to the campaign in ``<data>/raw``."""

from __future__ import annotations

from pathlib import Path

from hallctl.commands.common import provenance
from hallctl.commands.generate import raw_dir
from hallctl.data.normalize import NormalizeSummary, normalize_campaign, raw_shards
from hallctl.project import Project
from hallctl.report import Reporter

__all__ = ["normalized_path", "run"]


def normalized_path(project: Project) -> Path:
    """The normalized dataset, ``<data>/normalized.h5``."""
    return project.data_dir / "normalized.h5"


def run(project: Project, *, norm_from: Path | None = None, output: Path | None = None,
        report: Reporter | None = None) -> NormalizeSummary:
    """Filter, transform and z-score the project's campaign into ``output`` (default <data>/normalized.h5)."""
    return normalize_campaign(
        raw_shards(raw_dir(project)), output or normalized_path(project), project.normalize, project.split,
        average_start_fraction=project.simulation.average_start_fraction,
        provenance=provenance(project, seed=project.generate.seed, command="normalize"),
        norm_from=norm_from, report=report)
