"""``hallctl simulate``: one simulation from the project's nominal point or a HallThruster.jl input."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from hallctl.data.store import SimulationFile, atomic_write, make_provenance, write_simulation
from hallctl.errors import ProjectError
from hallctl.generate.setup import nominal_job, sim_config_for
from hallctl.project import PARAMETER_NAMES, Project
from hallctl.report import Reporter
from hallctl.sim import PROFILE_UNITS, Result, SimConfig, simulate

__all__ = ["parse_params", "run", "to_simulation_file", "write_csv"]

JSON_KEYS = ("thrust_N", "discharge_current_A", "ion_current_A", "anode_efficiency", "mass_utilization",
             "current_utilization", "max_Te_eV", "z_max_Te_m", "max_E_V_m", "z_max_E_m")


def parse_params(items: list[str]) -> dict[str, float]:
    """``name=value`` strings → floats, names checked against the campaign parameters."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise ProjectError(f"--param {item!r} must look like name=value, e.g. discharge_voltage_v=300")
        if name not in PARAMETER_NAMES:
            raise ProjectError(f"--param: unknown parameter '{name}'; valid: {', '.join(PARAMETER_NAMES)}")
        try:
            out[name] = float(value)
        except ValueError:
            raise ProjectError(f"--param {name}={value!r}: the value must be a number") from None
    return out


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
    series = {"discharge_current_A": result.discharge_current_A, "ion_current_A": result.ion_current_A,
              "thrust_N": result.thrust_N}
    return SimulationFile(status=result.status, reason=result.reason, z_m=result.z_m, profiles=result.profiles,
                          units=dict(PROFILE_UNITS), t_s=result.t_s, series=series,
                          performance=dict(result.performance), config=_config_dict(result.config), params=params)


def run(project: Project, *, params: dict[str, float] | None = None, seed: int | None = None,
        hallthruster_json: Path | None = None, output: Path | None = None,
        report: Reporter | None = None) -> tuple[Result, dict[str, float]]:
    """Run one simulation; write it to ``output`` (HDF5) when given.

    Returns:
        The solver Result and the campaign parameters used ({} for a HallThruster.jl input).
    """
    if hallthruster_json is not None:
        if params:
            raise ProjectError("--param cannot be combined with --hallthruster-json; edit the JSON input instead")
        from hallctl.sim.hallthruster_json import load_hallthruster_json

        config, used = load_hallthruster_json(hallthruster_json), {}
    else:
        job = nominal_job(project, params, seed=seed)
        config, used = sim_config_for(project, job), job.params
    result = simulate(config, report=report)
    if output is not None:
        prov = make_provenance(project if hallthruster_json is None else None, seed=seed, command="simulate",
                               extra={"hallthruster_json": str(hallthruster_json) if hallthruster_json else None})
        write_simulation(output, to_simulation_file(result, used), prov)
    return result, used


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
