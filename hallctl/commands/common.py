"""What several commands take from the project alike: provenance records, model paths, ``--shard`` parts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hallctl.data.hdf5 import make_provenance
from hallctl.errors import ProjectError
from hallctl.parts import Part
from hallctl.project import Project

__all__ = ["model_path", "parse_part", "provenance"]


def provenance(project: Project | None, *, seed: int | None = None, command: str = "",
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provenance record of a file written by ``command`` (``None``: no project was involved)."""
    if project is None:
        return make_provenance(seed=seed, command=command, extra=extra)
    return make_provenance(project.to_dict(), source=project.source, seed=seed, command=command, extra=extra)


def model_path(project: Project, model: str | Path | None = None, ema: float | None = None) -> Path:
    """The weights to sample: an explicit file, else runs/<run_name>/ema-<ema>.safetensors (model.safetensors
    for ema = 0)."""
    chosen = model or project.sample.model
    if chosen:
        return project.path(str(chosen)) if not Path(chosen).is_absolute() else Path(chosen)
    std = project.sample.ema if ema is None else ema
    name = "model.safetensors" if std == 0 else f"ema-{std:g}.safetensors"
    return project.run_dir / name


def parse_part(text: str) -> Part:
    """``"i/N"`` (``--shard``) → Part; ProjectError when it is not 0 ≤ i < N."""
    index, sep, count = text.partition("/")
    try:
        if not sep:
            raise ValueError(text)
        return Part(int(index), int(count))
    except ValueError:
        raise ProjectError(f"--shard {text!r}: use i/N with 0 <= i < N, e.g. 3/16 (Slurm: "
                           "${SLURM_ARRAY_TASK_ID}/16)") from None
