"""``hallctl train``: the [model] and [train] sections as the EDM2 prior on the training split.

Post-hoc EMA reconstructions follow when asked for.

The whole split is loaded once as one tensor; model files land in runs/<run_name>/ with the
dataset's normalization in their metadata, so ``hallctl sample`` needs nothing else.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hallctl.data.store import read_dataset
from hallctl.errors import DataError, ProjectError
from hallctl.model.control import ControlTemplate
from hallctl.model.ema import posthoc_ema
from hallctl.model.settings import ModelConfig, TrainSettings
from hallctl.model.train import TrainSummary, train
from hallctl.project import Project
from hallctl.report import Reporter

__all__ = ["control_template", "dataset_metadata", "model_config", "run", "settings"]


def model_config(project: Project, kinds: list[str] | None = None) -> ModelConfig:
    """The [model] section as a ModelConfig; ``kinds`` (the dataset's row kinds) marks the scalar rows
    as constant rows."""
    constant = [i for i, k in enumerate(kinds or []) if k == "scalar"]
    return ModelConfig.from_dict({**dataclasses.asdict(project.model), "constant_rows": constant,
                                  "control": project.conditioning.enabled})


def control_template(project: Project, rows: list[str]) -> ControlTemplate:
    """The [conditioning] section as the amortized model's ControlTemplate, checked against the data's rows."""
    c = project.conditioning
    unknown = [name for name in [*c.fields, *c.scalars] if name not in rows]
    if unknown:
        raise ProjectError(f"conditioning names {unknown[0]!r}, which is not a row of the dataset; rows: "
                           f"{', '.join(rows)}")
    values = {f.name: getattr(c, f.name) for f in dataclasses.fields(ControlTemplate) if hasattr(c, f.name)}
    return ControlTemplate(**values)


def settings(project: Project) -> TrainSettings:
    """The [train] section as TrainSettings: every field of the same name (``dataset`` is the command's)."""
    section = project.train
    return TrainSettings(**{f.name: getattr(section, f.name) for f in dataclasses.fields(TrainSettings)
                            if hasattr(section, f.name)})


VALIDATION_SPLIT = "val_small"
"""The split training validates on (and a user selects EMA lengths by); evaluation uses another."""


def dataset_metadata(project: Project, path: Path, ds: Any, validation: str | None) -> dict[str, Any]:
    """What a model file carries about its training data (and an amortized model's template)."""
    meta = {"normalization": ds.normalization(), "file": str(path), "num_records": len(ds),
            "split": ds.split, "campaign_id": ds.attrs.get("campaign_id"),
            "filter_report": ds.filter_report, "data_dir": str(project.data_dir), "validation_split": validation}
    if project.conditioning.enabled:
        meta["control_template"] = control_template(project, list(ds.rows)).to_dict()
    return meta


def _validation(project: Project, rows: list[str]) -> torch.Tensor | None:
    """The val_small records (None when there are none: then a fixed subset of the training set)."""
    path = project.data_dir / f"{VALIDATION_SPLIT}.h5"
    if path.is_file():
        ds = read_dataset(path)
        if len(ds) and ds.rows == rows:
            return torch.from_numpy(np.ascontiguousarray(ds.tensor, dtype=np.float32))
    return None


def run(project: Project, *, restart: bool = False, posthoc_stds: list[float] | None = None,
        report: Reporter | None = None) -> tuple[TrainSummary, list[Path]]:
    """Train on data/<train.dataset>.h5 (resuming a checkpoint unless ``restart``), then write
    ``ema-<std>.safetensors`` for every post-hoc EMA length asked for.

    Returns:
        (TrainSummary, post-hoc files written)
    """
    path = project.data_dir / f"{project.train.dataset}.h5"
    ds = read_dataset(path, hint="run `hallctl normalize` and `hallctl split` first")
    if len(ds) == 0:
        raise DataError(f"{path} holds no records; generate more simulations or lower the validation fractions")
    data = torch.from_numpy(np.ascontiguousarray(ds.tensor, dtype=np.float32))
    val = _validation(project, ds.rows)
    summary = train(data, val, model_config=model_config(project, list(ds.normalization()["kind"])),
                    settings=settings(project), run_dir=project.run_dir,
                    dataset_meta=dataset_metadata(project, path, ds, VALIDATION_SPLIT if val is not None else None),
                    restart=restart, report=report)
    extra = posthoc_ema(project.run_dir, posthoc_stds) if posthoc_stds and summary.rank == 0 else []
    return summary, extra
