"""``hallctl plot``: from files on disk to figures (one function per subcommand; [plot] gives the defaults)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hallctl.data.normalize import denormalize
from hallctl.data.store import read_dataset, read_samples, read_simulation
from hallctl.errors import DataError
from hallctl.plot.derived import DERIVED
from hallctl.plot.figures import (
    figure_dataset,
    figure_params,
    figure_samples,
    figure_simulation,
    figure_training,
    read_metrics,
)
from hallctl.plot.style import save
from hallctl.project import PlotSection, Project

__all__ = ["figure_defaults", "load_reference", "plot_dataset", "plot_params", "plot_samples", "plot_simulation",
           "plot_training", "read_observation_points"]


def figure_defaults(project: Project) -> PlotSection:
    """The [plot] section: default format, resolution and fields of the figures."""
    return project.plot


def _check_fields(fields: list[str], available: list[str]) -> None:
    valid = list(available) + list(DERIVED)
    bad = [f for f in fields if f not in valid]
    if bad:
        raise DataError(f"unknown field(s) {', '.join(bad)}; choose from: {', '.join(valid)}")


def read_observation_points(path: Path) -> list[dict[str, Any]]:
    """Observation CSV rows as dicts (field, z, value, std) for plotting; std from rel_std if needed."""
    if not path.is_file():
        raise DataError(f"observation file {path} not found")
    out = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                value = float(row["value"])
                std = float(row["std"]) if row.get("std") not in (None, "") else float(row["rel_std"]) * abs(value)
            except (KeyError, TypeError, ValueError):
                raise DataError(f"{path}: cannot read row {row}; columns are field,z,value,std[,rel_std]") from None
            out.append({"field": row["field"].strip(), "z": row.get("z", ""), "value": value, "std": std})
    return out


def load_reference(spec: str) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, float]]:
    """A truth for plots: ``sim.h5`` (a simulation file) or ``data/val_small.h5:ID`` (a dataset record).

    Returns:
        (profiles: name → (z, values), scalars: name → value)
    """
    path, _, rec = spec.partition(":") if spec.count(":") == 1 and not Path(spec).exists() else (spec, "", "")
    p = Path(path)
    if not p.is_file():
        raise DataError(f"reference {p} not found")
    with h5py.File(p, "r") as f:
        kind = f.attrs.get("hallctl_kind")
    if kind == "simulation":
        sim = read_simulation(p)
        profiles = {k: (sim.z_m, v) for k, v in sim.profiles.items()}
        return profiles, {**sim.params, **sim.performance}
    if kind == "dataset":
        ds = read_dataset(p)
        if not rec:
            raise DataError(f"say which record of {p} is the reference, e.g. {p}:{int(ds.record_id[0])}")
        match = np.flatnonzero(ds.record_id == int(rec))
        if not match.size:
            raise DataError(f"record {rec} is not in {p}")
        phys = denormalize(ds.tensor[match[0]], ds.normalization())
        profiles = {r: (ds.grid_m, phys[i]) for i, r in enumerate(ds.rows) if ds.kinds[i] == "field"}
        scalars = {r: float(phys[i].mean()) for i, r in enumerate(ds.rows) if ds.kinds[i] == "scalar"}
        return profiles, scalars
    raise DataError(f"{p} is neither a simulation file nor a dataset; pass `hallctl simulate -o` output "
                    "or data/<split>.h5:<record id>")


def plot_samples(path: Path, output: Path, *, fields: list[str], reference: str | None = None,
                 observations: Path | None = None, dpi: int = 150) -> Path:
    s = read_samples(path)
    _check_fields(fields, s.rows)
    ref = load_reference(reference)[0] if reference else None
    obs = read_observation_points(observations) if observations else None
    settings = s.settings
    title = f"{len(s.samples)} samples, {settings.get('sampler', '')} {settings.get('steps', '')} steps"
    if settings.get("guidance"):
        title += f", {settings['guidance']} guidance"
    return save(figure_samples(s, fields, reference=ref, observations=obs, title=title), output, dpi=dpi)


def plot_params(path: Path, output: Path, *, names: list[str] | None = None, reference: str | None = None,
                dpi: int = 150) -> Path:
    s = read_samples(path)
    scalars = [r for r, k in zip(s.rows, s.kinds, strict=True) if k == "scalar" and not r.startswith("psd_")]
    names = names or scalars
    bad = [n for n in names if n not in scalars]
    if bad:
        raise DataError(f"not scalar rows: {', '.join(bad)}; choose from: {', '.join(scalars)}")
    truth = load_reference(reference)[1] if reference else None
    observed = {o["field"]: float(o["value"]) for o in s.observations if o.get("z") in (None, "")}
    return save(figure_params(s, names, truth=truth, observed=observed), output, dpi=dpi)


def plot_training(run_dir: Path, output: Path, *, dpi: int = 150) -> Path:
    metrics = run_dir / "metrics.csv" if run_dir.is_dir() else run_dir
    if not metrics.is_file():
        raise DataError(f"no metrics.csv in {run_dir}; train a model first with `hallctl train`")
    cols = read_metrics(metrics)
    if not cols or not len(next(iter(cols.values()))):
        raise DataError(f"{metrics} holds no rows yet; train longer")
    return save(figure_training(cols), output, dpi=dpi)


def plot_dataset(path: Path, output: Path, *, dpi: int = 150) -> Path:
    return save(figure_dataset(read_dataset(path)), output, dpi=dpi)


def plot_simulation(path: Path, output: Path, *, fields: list[str], dpi: int = 150) -> Path:
    sim = read_simulation(path)
    _check_fields(fields, list(sim.profiles))
    return save(figure_simulation(sim, fields), output, dpi=dpi)
