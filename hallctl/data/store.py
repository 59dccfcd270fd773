"""On-disk formats of hallctl (HDF5 via h5py), documented in docs/data-format.md.

Each file kind is a dataclass with a writer and a reader; the shared plumbing (atomic writes,
provenance, schema stamps) is :mod:`hallctl.data.hdf5`.

Kinds: ``raw-shard`` (finished simulations of a campaign), ``dataset`` (the normalized set and
its splits), ``simulation`` (one ``hallctl simulate`` run), ``samples`` (posterior samples in
physical units).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hallctl.data.hdf5 import (
    SCHEMA_VERSIONS,
    STR,
    atomic_write,
    make_provenance,
    open_checked,
    read_json_attr,
    read_strings,
    stamp,
    strings,
    write_json_attr,
)
from hallctl.errors import DataError

__all__ = [
    "SCHEMA_VERSIONS",
    "Dataset",
    "RawRecords",
    "SampleSet",
    "SimulationFile",
    "atomic_write",
    "make_provenance",
    "open_checked",
    "read_dataset",
    "read_json_attr",
    "read_raw_shard",
    "read_samples",
    "read_simulation",
    "write_dataset",
    "write_raw_shard",
    "write_samples",
    "write_simulation",
]

# ----------------------------------------------------------------------------------------------
# Raw simulation shards
# ----------------------------------------------------------------------------------------------


@dataclass
class RawRecords:
    """A batch of campaign simulations (successful and failed).

    Shapes: N records, P parameters, F profile fields on ``cells`` interior cells, S time
    series over T saved frames, K performance figures, Q anomalous-profile nodes.
    """

    index: np.ndarray  # (N,) int64: simulation index within the campaign
    seed: np.ndarray  # (N,) int64: seed of that simulation
    status: list[str]  # (N,) "success" | "failure" | "error"
    reason: list[str]  # (N,) "" on success
    param_names: list[str]
    params: np.ndarray  # (N, P) float64, physical units
    field_names: list[str]
    field_units: list[str]
    fields: np.ndarray  # (N, F, cells) float32, time-averaged, NaN for failed runs
    z_m: np.ndarray  # (cells,) cell centres
    series_names: list[str]
    t_s: np.ndarray  # (T,)
    series: np.ndarray  # (N, S, T) float32
    performance_names: list[str]
    performance: np.ndarray  # (N, K) float64
    anom_z_m: np.ndarray  # (Q,)
    anom_profile: np.ndarray  # (N, Q) float64: the anomalous coefficient c(z) fed to the solver
    wall_s: np.ndarray  # (N,) float64
    steps: np.ndarray  # (N,) int64
    attrs: dict[str, Any] = field(default_factory=dict)  # campaign id, backend, ...

    def __len__(self) -> int:
        return len(self.index)


def write_raw_shard(path: str | Path, rec: RawRecords, provenance: dict[str, Any]) -> None:
    """Write one shard atomically."""
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        stamp(f, "raw-shard", provenance)
        f["index"] = rec.index.astype(np.int64)
        f["seed"] = rec.seed.astype(np.int64)
        f.create_dataset("status", data=strings(rec.status), dtype=STR)
        f.create_dataset("reason", data=strings(rec.reason), dtype=STR)
        d = f.create_dataset("params", data=rec.params.astype(np.float64))
        d.attrs["names"] = strings(rec.param_names)
        d = f.create_dataset("fields", data=rec.fields.astype(np.float32), compression="gzip",
                             compression_opts=4, shuffle=True)
        d.attrs["names"] = strings(rec.field_names)
        d.attrs["units"] = strings(rec.field_units)
        f["z_m"] = rec.z_m.astype(np.float64)
        f["t_s"] = rec.t_s.astype(np.float64)
        d = f.create_dataset("series", data=rec.series.astype(np.float32), compression="gzip",
                             compression_opts=4, shuffle=True)
        d.attrs["names"] = strings(rec.series_names)
        d = f.create_dataset("performance", data=rec.performance.astype(np.float64))
        d.attrs["names"] = strings(rec.performance_names)
        f["anom_z_m"] = rec.anom_z_m.astype(np.float64)
        f["anom_profile"] = rec.anom_profile.astype(np.float64)
        f["wall_s"] = rec.wall_s.astype(np.float64)
        f["steps"] = rec.steps.astype(np.int64)
        write_json_attr(f, "campaign", rec.attrs)


def read_raw_shard(path: str | Path, *, load_series: bool = True) -> RawRecords:
    """Read one shard (all records)."""
    with open_checked(path, "raw-shard", hint="raw shards are written by `hallctl generate`") as f:
        return RawRecords(
            index=f["index"][()], seed=f["seed"][()],
            status=read_strings(f["status"]), reason=read_strings(f["reason"]),
            param_names=_read_strings_attr(f["params"]), params=f["params"][()],
            field_names=_read_strings_attr(f["fields"]),
            field_units=_read_strings_attr(f["fields"], "units"), fields=f["fields"][()],
            z_m=f["z_m"][()], series_names=_read_strings_attr(f["series"]), t_s=f["t_s"][()],
            series=f["series"][()] if load_series else np.zeros((len(f["index"]), 0, 0), np.float32),
            performance_names=_read_strings_attr(f["performance"]), performance=f["performance"][()],
            anom_z_m=f["anom_z_m"][()], anom_profile=f["anom_profile"][()],
            wall_s=f["wall_s"][()], steps=f["steps"][()],
            attrs=read_json_attr(f, "campaign", {}),
        )


def _read_strings_attr(ds: Any, name: str = "names") -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in ds.attrs[name]]


# ----------------------------------------------------------------------------------------------
# Normalized datasets (the full normalized set and its splits share one schema)
# ----------------------------------------------------------------------------------------------


@dataclass
class Dataset:
    """Normalized training data: a tensor of rows along the model grid, plus the tables to undo it.

    ``tensor[n, r, :] = (g_r(q) - mean[r]) / std[r]`` with g_r = ln when ``log[r]`` else identity.
    """

    tensor: np.ndarray  # (N, R, W) float32
    rows: list[str]
    kinds: list[str]  # "field" | "scalar" per row
    units: list[str]
    log: list[bool]
    mean: np.ndarray  # (R,)
    std: np.ndarray  # (R,) the divisor (includes target_std)
    grid_m: np.ndarray  # (W,)
    record_id: np.ndarray  # (N,) int64: simulation index within the campaign
    target_std: float = 0.5
    split: str = "all"
    source_shards: list[str] = field(default_factory=list)
    filter_report: dict[str, Any] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)  # channel length, campaign id, ...

    def __len__(self) -> int:
        return self.tensor.shape[0]

    def normalization(self) -> dict[str, Any]:
        """The normalization metadata that models and samplers carry (plain JSON types)."""
        return {
            "rows": list(self.rows), "kind": list(self.kinds), "log": [bool(x) for x in self.log],
            "mean": [float(x) for x in self.mean], "std": [float(x) for x in self.std],
            "units": list(self.units), "grid_m": [float(x) for x in self.grid_m],
            "target_std": float(self.target_std), **{k: v for k, v in self.attrs.items()
                                                     if k in ("channel_length_m",)},
        }

    def subset(self, mask: np.ndarray, split: str) -> Dataset:
        return Dataset(
            tensor=self.tensor[mask], rows=self.rows, kinds=self.kinds, units=self.units, log=self.log,
            mean=self.mean, std=self.std, grid_m=self.grid_m, record_id=self.record_id[mask],
            target_std=self.target_std, split=split, source_shards=self.source_shards,
            filter_report=self.filter_report, attrs=self.attrs,
        )


def write_dataset(path: str | Path, ds: Dataset, provenance: dict[str, Any]) -> None:
    """Write a normalized dataset (or one split of it) atomically."""
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        stamp(f, "dataset", provenance)
        f.attrs["split"] = ds.split
        f.attrs["target_std"] = float(ds.target_std)
        d = f.create_dataset("tensor", data=ds.tensor.astype(np.float32), compression="gzip",
                             compression_opts=4, shuffle=True)
        d.attrs["rows"] = strings(ds.rows)
        f.create_dataset("rows", data=strings(ds.rows), dtype=STR)
        f.create_dataset("kinds", data=strings(ds.kinds), dtype=STR)
        f.create_dataset("units", data=strings(ds.units), dtype=STR)
        f["log"] = np.asarray(ds.log, dtype=bool)
        f["mean"] = np.asarray(ds.mean, dtype=np.float64)
        f["std"] = np.asarray(ds.std, dtype=np.float64)
        f["grid_m"] = np.asarray(ds.grid_m, dtype=np.float64)
        f["record_id"] = np.asarray(ds.record_id, dtype=np.int64)
        f.create_dataset("source_shards", data=strings(ds.source_shards), dtype=STR)
        write_json_attr(f, "filter_report", ds.filter_report)
        write_json_attr(f, "attrs", ds.attrs)


def read_dataset(path: str | Path, *, hint: str = "run `hallctl normalize` and `hallctl split` first",
                 load_tensor: bool = True) -> Dataset:
    """Read a normalized dataset or split file."""
    with open_checked(path, "dataset", hint=hint) as f:
        n = f["tensor"].shape[0]
        return Dataset(
            tensor=f["tensor"][()] if load_tensor else np.zeros((n, 0, 0), np.float32),
            rows=read_strings(f["rows"]), kinds=read_strings(f["kinds"]),
            units=read_strings(f["units"]), log=[bool(x) for x in f["log"][()]],
            mean=f["mean"][()], std=f["std"][()], grid_m=f["grid_m"][()],
            record_id=f["record_id"][()], target_std=float(f.attrs["target_std"]),
            split=str(f.attrs["split"]), source_shards=read_strings(f["source_shards"]),
            filter_report=read_json_attr(f, "filter_report", {}), attrs=read_json_attr(f, "attrs", {}),
        )


# ----------------------------------------------------------------------------------------------
# One simulation (`hallctl simulate -o sim.h5`)
# ----------------------------------------------------------------------------------------------


@dataclass
class SimulationFile:
    """One simulation: time-averaged profiles on [z0, cell centres, zN], time series, performance."""

    status: str
    reason: str
    z_m: np.ndarray  # (N+2,)
    profiles: dict[str, np.ndarray]  # name -> (N+2,)
    units: dict[str, str]
    t_s: np.ndarray  # (T,)
    series: dict[str, np.ndarray]  # name -> (T,)
    performance: dict[str, float]
    config: dict[str, Any] = field(default_factory=dict)  # the solver configuration, JSON-ready
    params: dict[str, float] = field(default_factory=dict)  # campaign parameters, when known


def write_simulation(path: str | Path, sim: SimulationFile, provenance: dict[str, Any]) -> None:
    """Write one simulation atomically."""
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        stamp(f, "simulation", provenance)
        f.attrs["status"] = sim.status
        f.attrs["reason"] = sim.reason
        f["z_m"] = np.asarray(sim.z_m, dtype=np.float64)
        g = f.create_group("profiles")
        for name, values in sim.profiles.items():
            d = g.create_dataset(name, data=np.asarray(values, dtype=np.float64))
            d.attrs["unit"] = sim.units.get(name, "")
        f["t_s"] = np.asarray(sim.t_s, dtype=np.float64)
        g = f.create_group("series")
        for name, values in sim.series.items():
            g[name] = np.asarray(values, dtype=np.float64)
        write_json_attr(f, "performance", sim.performance)
        write_json_attr(f, "config", sim.config)
        write_json_attr(f, "params", sim.params)


def read_simulation(path: str | Path) -> SimulationFile:
    """Read a file written by ``hallctl simulate``."""
    with open_checked(path, "simulation", hint="simulation files are written by `hallctl simulate -o`") as f:
        profiles = {k: f["profiles"][k][()] for k in f["profiles"]}
        units = {k: str(f["profiles"][k].attrs.get("unit", "")) for k in f["profiles"]}
        perf = read_json_attr(f, "performance", {})
        return SimulationFile(
            status=str(f.attrs["status"]), reason=str(f.attrs["reason"]), z_m=f["z_m"][()], profiles=profiles,
            units=units, t_s=f["t_s"][()], series={k: f["series"][k][()] for k in f["series"]},
            performance={k: float(v) for k, v in perf.items()}, config=read_json_attr(f, "config", {}),
            params=read_json_attr(f, "params", {}),
        )


# ----------------------------------------------------------------------------------------------
# Posterior / unconditional samples (`hallctl sample`)
# ----------------------------------------------------------------------------------------------


@dataclass
class SampleSet:
    """Samples in physical units along the model grid (scalar rows repeat one value)."""

    samples: np.ndarray  # (S, R, W) float32, physical units
    rows: list[str]
    kinds: list[str]
    units: list[str]
    grid_m: np.ndarray  # (W,)
    normalization: dict[str, Any]  # the model's normalization metadata (to renormalize)
    observations: list[dict[str, Any]] = field(default_factory=list)  # field, z, value, std per point
    settings: dict[str, Any] = field(default_factory=dict)  # sampler, steps, guidance, nfe, seed, model
    seed: int = 0

    def row(self, name: str) -> np.ndarray:
        """(S, W) samples of one row; raises DataError naming the valid rows."""
        if name not in self.rows:
            raise DataError(f"no row '{name}' in the samples; rows: {', '.join(self.rows)}")
        return self.samples[:, self.rows.index(name)]

    def scalar(self, name: str) -> np.ndarray:
        """(S,) samples of a scalar row (its mean along the grid)."""
        return self.row(name).mean(axis=1)


def write_samples(path: str | Path, s: SampleSet, provenance: dict[str, Any]) -> None:
    """Write a sample set atomically."""
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        stamp(f, "samples", provenance)
        d = f.create_dataset("samples", data=s.samples.astype(np.float32), compression="gzip",
                             compression_opts=4, shuffle=True)
        d.attrs["rows"] = strings(s.rows)
        f.create_dataset("rows", data=strings(s.rows), dtype=STR)
        f.create_dataset("kinds", data=strings(s.kinds), dtype=STR)
        f.create_dataset("units", data=strings(s.units), dtype=STR)
        f["grid_m"] = np.asarray(s.grid_m, dtype=np.float64)
        f.attrs["seed"] = int(s.seed)
        write_json_attr(f, "normalization", s.normalization)
        write_json_attr(f, "observations", s.observations)
        write_json_attr(f, "settings", s.settings)


def read_samples(path: str | Path) -> SampleSet:
    """Read a file written by ``hallctl sample``."""
    with open_checked(path, "samples", hint="sample files are written by `hallctl sample`") as f:
        return SampleSet(
            samples=f["samples"][()], rows=read_strings(f["rows"]), kinds=read_strings(f["kinds"]),
            units=read_strings(f["units"]), grid_m=f["grid_m"][()],
            normalization=read_json_attr(f, "normalization", {}),
            observations=read_json_attr(f, "observations", []), settings=read_json_attr(f, "settings", {}),
            seed=int(f.attrs.get("seed", 0)),
        )
