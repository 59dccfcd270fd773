"""On-disk formats of hallctl (HDF5 via h5py), documented in docs/data-format.md.

Every file carries, as root attributes, ``hallctl_kind`` (what it holds), ``hallctl_schema``
(the schema version of that kind) and ``provenance`` (JSON: hallctl version, resolved project,
seed, creation time, git commit). Writers go through :func:`atomic_write`: the file is written
under a temporary name in the same folder and renamed on success, so a killed process never
leaves a half-written file under the final name.

Kinds: ``raw-shard`` (finished simulations of a campaign), ``dataset`` (the normalized set and
its splits), ``simulation`` (one ``hallctl simulate`` run), ``samples`` (posterior samples in
physical units).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hallctl import __version__
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

SCHEMA_VERSIONS = {"raw-shard": 1, "dataset": 1, "simulation": 1, "samples": 1}
_STR = h5py.string_dtype()


# ----------------------------------------------------------------------------------------------
# Generic helpers
# ----------------------------------------------------------------------------------------------


@contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


@lru_cache(maxsize=1)
def _git_commit() -> str:
    """The commit of the hallctl checkout this runs from, or '' when not in a checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def make_provenance(project: Any = None, *, seed: int | None = None, command: str = "",
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provenance record stored in every file."""
    record: dict[str, Any] = {
        "hallctl_version": __version__,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "command": command,
        "seed": seed,
        "project": project.to_dict() if project is not None else None,
        "project_file": getattr(project, "source", "") if project is not None else "",
    }
    record.update(extra or {})
    return record


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float) and not np.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


def write_json_attr(obj: h5py.HLObject, name: str, value: Any) -> None:
    obj.attrs[name] = json.dumps(_jsonable(value))


def read_json_attr(obj: h5py.HLObject, name: str, default: Any = None) -> Any:
    raw = obj.attrs.get(name)
    if raw is None:
        return default
    return json.loads(raw if isinstance(raw, str) else raw.decode())


def _stamp(f: h5py.File, kind: str, provenance: dict[str, Any] | None) -> None:
    f.attrs["hallctl_kind"] = kind
    f.attrs["hallctl_schema"] = SCHEMA_VERSIONS[kind]
    write_json_attr(f, "provenance", provenance or make_provenance())


def open_checked(path: str | Path, kind: str, *, hint: str = "") -> h5py.File:
    """Open ``path`` read-only and check it holds ``kind`` with a readable schema.

    Raises:
        DataError: missing file, not HDF5, another kind, or a newer schema.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p} not found" + (f"; {hint}" if hint else ""))
    try:
        f = h5py.File(p, "r")
    except OSError:
        raise DataError(f"{p} is not an HDF5 file written by hallctl") from None
    found = f.attrs.get("hallctl_kind")
    if found != kind:
        f.close()
        what = f"a '{found}' file" if found else "not a hallctl file"
        raise DataError(f"{p} is {what}, expected a '{kind}' file" + (f"; {hint}" if hint else ""))
    schema = int(f.attrs.get("hallctl_schema", 0))
    if schema > SCHEMA_VERSIONS[kind] or schema < 1:
        f.close()
        raise DataError(f"{p} has {kind} schema version {schema}, this hallctl reads version "
                        f"{SCHEMA_VERSIONS[kind]}; upgrade hallctl or regenerate the file")
    return f


def _strings(values: Any) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=object)


def _read_strings(ds: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in ds[()]]


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
        _stamp(f, "raw-shard", provenance)
        f["index"] = rec.index.astype(np.int64)
        f["seed"] = rec.seed.astype(np.int64)
        f.create_dataset("status", data=_strings(rec.status), dtype=_STR)
        f.create_dataset("reason", data=_strings(rec.reason), dtype=_STR)
        d = f.create_dataset("params", data=rec.params.astype(np.float64))
        d.attrs["names"] = _strings(rec.param_names)
        d = f.create_dataset("fields", data=rec.fields.astype(np.float32), compression="gzip",
                             compression_opts=4, shuffle=True)
        d.attrs["names"] = _strings(rec.field_names)
        d.attrs["units"] = _strings(rec.field_units)
        f["z_m"] = rec.z_m.astype(np.float64)
        f["t_s"] = rec.t_s.astype(np.float64)
        d = f.create_dataset("series", data=rec.series.astype(np.float32), compression="gzip",
                             compression_opts=4, shuffle=True)
        d.attrs["names"] = _strings(rec.series_names)
        d = f.create_dataset("performance", data=rec.performance.astype(np.float64))
        d.attrs["names"] = _strings(rec.performance_names)
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
            status=_read_strings(f["status"]), reason=_read_strings(f["reason"]),
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
        _stamp(f, "dataset", provenance)
        f.attrs["split"] = ds.split
        f.attrs["target_std"] = float(ds.target_std)
        d = f.create_dataset("tensor", data=ds.tensor.astype(np.float32), compression="gzip",
                             compression_opts=4, shuffle=True)
        d.attrs["rows"] = _strings(ds.rows)
        f.create_dataset("rows", data=_strings(ds.rows), dtype=_STR)
        f.create_dataset("kinds", data=_strings(ds.kinds), dtype=_STR)
        f.create_dataset("units", data=_strings(ds.units), dtype=_STR)
        f["log"] = np.asarray(ds.log, dtype=bool)
        f["mean"] = np.asarray(ds.mean, dtype=np.float64)
        f["std"] = np.asarray(ds.std, dtype=np.float64)
        f["grid_m"] = np.asarray(ds.grid_m, dtype=np.float64)
        f["record_id"] = np.asarray(ds.record_id, dtype=np.int64)
        f.create_dataset("source_shards", data=_strings(ds.source_shards), dtype=_STR)
        write_json_attr(f, "filter_report", ds.filter_report)
        write_json_attr(f, "attrs", ds.attrs)


def read_dataset(path: str | Path, *, hint: str = "run `hallctl normalize` and `hallctl split` first",
                 load_tensor: bool = True) -> Dataset:
    """Read a normalized dataset or split file."""
    with open_checked(path, "dataset", hint=hint) as f:
        n = f["tensor"].shape[0]
        return Dataset(
            tensor=f["tensor"][()] if load_tensor else np.zeros((n, 0, 0), np.float32),
            rows=_read_strings(f["rows"]), kinds=_read_strings(f["kinds"]),
            units=_read_strings(f["units"]), log=[bool(x) for x in f["log"][()]],
            mean=f["mean"][()], std=f["std"][()], grid_m=f["grid_m"][()],
            record_id=f["record_id"][()], target_std=float(f.attrs["target_std"]),
            split=str(f.attrs["split"]), source_shards=_read_strings(f["source_shards"]),
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
        _stamp(f, "simulation", provenance)
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
        _stamp(f, "samples", provenance)
        d = f.create_dataset("samples", data=s.samples.astype(np.float32), compression="gzip",
                             compression_opts=4, shuffle=True)
        d.attrs["rows"] = _strings(s.rows)
        f.create_dataset("rows", data=_strings(s.rows), dtype=_STR)
        f.create_dataset("kinds", data=_strings(s.kinds), dtype=_STR)
        f.create_dataset("units", data=_strings(s.units), dtype=_STR)
        f["grid_m"] = np.asarray(s.grid_m, dtype=np.float64)
        f.attrs["seed"] = int(s.seed)
        write_json_attr(f, "normalization", s.normalization)
        write_json_attr(f, "observations", s.observations)
        write_json_attr(f, "settings", s.settings)


def read_samples(path: str | Path) -> SampleSet:
    """Read a file written by ``hallctl sample``."""
    with open_checked(path, "samples", hint="sample files are written by `hallctl sample`") as f:
        return SampleSet(
            samples=f["samples"][()], rows=_read_strings(f["rows"]), kinds=_read_strings(f["kinds"]),
            units=_read_strings(f["units"]), grid_m=f["grid_m"][()],
            normalization=read_json_attr(f, "normalization", {}),
            observations=read_json_attr(f, "observations", []), settings=read_json_attr(f, "settings", {}),
            seed=int(f.attrs.get("seed", 0)),
        )
