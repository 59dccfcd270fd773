"""One simulation as files: the HDF5 ``simulation`` file of a solver result, and CSV tables."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from hallctl.data.store import SimulationFile, atomic_write
from hallctl.sim import PROFILE_UNITS, Result, SimConfig

__all__ = ["to_simulation_file", "write_csv"]


def _config_dict(config: SimConfig) -> dict[str, Any]:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v

    d = dataclasses.asdict(config)
    d["anom_model_type"] = type(config.anom_model).__name__
    d["wall_model_type"] = type(config.wall_model).__name__
    return clean(d)


def to_simulation_file(result: Result, params: dict[str, float]) -> SimulationFile:
    """The solver result as a ``simulation`` file (``params``: the campaign parameters used)."""
    series = {"discharge_current_A": result.discharge_current_A, "ion_current_A": result.ion_current_A,
              "thrust_N": result.thrust_N}
    return SimulationFile(status=result.status, reason=result.reason, z_m=result.z_m, profiles=result.profiles,
                          units=dict(PROFILE_UNITS), t_s=result.t_s, series=series,
                          performance=dict(result.performance), config=_config_dict(result.config), params=params)


def write_csv(result: Result, stem: Path) -> list[Path]:
    """``<stem>_profiles.csv`` (z and every profile) and ``<stem>_series.csv`` (time series)."""
    names = list(result.profiles)
    prof, ser = stem.with_name(stem.name + "_profiles.csv"), stem.with_name(stem.name + "_series.csv")
    with atomic_write(prof) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["z_m"] + [f"{n} [{PROFILE_UNITS.get(n, '')}]" for n in names])
        for k, z in enumerate(result.z_m):
            w.writerow([f"{z:.8g}"] + [f"{result.profiles[n][k]:.8g}" for n in names])
    with atomic_write(ser) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["t_s", "discharge_current_A", "ion_current_A", "thrust_N"])
        for row in np.column_stack([result.t_s, result.discharge_current_A, result.ion_current_A, result.thrust_N]):
            w.writerow([f"{v:.8g}" for v in row])
    return [prof, ser]
