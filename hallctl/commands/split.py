"""``hallctl split``: the [split] section applied to ``<data>/normalized.h5``."""

from __future__ import annotations

from pathlib import Path

from hallctl.commands.common import provenance
from hallctl.commands.normalize import normalized_path
from hallctl.data.split import SPLITS, SplitSummary, split_dataset
from hallctl.project import Project
from hallctl.report import Reporter

__all__ = ["run", "split_paths"]


def split_paths(project: Project) -> list[Path]:
    """The split files, ``<data>/<split>.h5``, in the order of ``SPLITS``."""
    return [project.data_dir / f"{s}.h5" for s in SPLITS]


def run(project: Project, *, source: Path | None = None, report: Reporter | None = None) -> SplitSummary:
    """Write train, val_small and val_large from ``source`` (default <data>/normalized.h5)."""
    return split_dataset(source or normalized_path(project), project.data_dir, project.split,
                         provenance=provenance(project, seed=project.split.seed, command="split"), report=report)
