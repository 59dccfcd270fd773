"""``hallctl normalize``: filter the raw campaign and z-score it into one training tensor.

Row r of a record is stored as x_r = (g_r(q_r) − μ_r) / s_r with g_r = ln for positive quantities
(``log_fields``/``log_scalars``) and the identity otherwise; μ_r is the pooled mean over all cells
of the kept simulations *of the training split* and s_r = std_r / target_std, so every training
row has std ``target_std`` (docs/model.md §1). The split is known before ``hallctl split`` runs (a hash
of the [split] seed and the record id, ``hallctl.data.split``), so held-out records never inform
the normalization; the settings it was fitted with are recorded and ``split`` checks them.
:func:`denormalize` is the exact inverse. The shards are streamed twice (statistics, then the
tensor written straight into the output file), so memory stays bounded by one shard.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hallctl.data.normalization import LOG_FLOOR, Normalization
from hallctl.data.split import assign_splits, split_signature
from hallctl.data.store import (
    Dataset,
    RawRecords,
    atomic_write,
    read_dataset,
    read_raw_shard,
    write_dataset,
)
from hallctl.errors import DataError
from hallctl.report import Reporter, resolve
from hallctl.sections import NormalizeSection, SplitSection

__all__ = ["NormalizeSummary", "build_rows", "denormalize", "filter_reasons", "latest_records", "normalize_campaign",
           "normalize_tensor", "raw_shards"]

SCALAR_UNITS = {
    "anode_mass_flow_rate_kg_s": "kg/s", "discharge_voltage_v": "V", "magnetic_field_scale": "",
    "cathode_coupling_voltage_v": "V", "neutral_velocity_m_s": "m/s", "wall_loss_scale": "",
    "anom_minimum": "", "anom_width": "", "anom_slope": "", "anom_step": "", "anom_scale": "", "anom_center": "",
    "discharge_current_A": "A", "thrust_N": "N", "ion_current_A": "A", "anode_efficiency": "",
}


# ----------------------------------------------------------------------------------------------
# The exact transform and its inverse
# ----------------------------------------------------------------------------------------------


def normalize_tensor(phys: np.ndarray, norm: Normalization | dict[str, Any]) -> np.ndarray:
    """Physical values (…, R, W) → normalized tensor, rows as in ``norm`` (``Normalization.to_model``)."""
    return Normalization.of(norm).to_model(phys)


def denormalize(x: np.ndarray, norm: Normalization | dict[str, Any]) -> np.ndarray:
    """Normalized tensor (…, R, W) → physical units (``Normalization.to_physical``)."""
    return Normalization.of(norm).to_physical(x)


# ----------------------------------------------------------------------------------------------
# Filters
# ----------------------------------------------------------------------------------------------


def filter_reasons(rec: RawRecords, cfg: NormalizeSection) -> list[str]:
    """Why each record is removed ('' = kept); the first failing test names it (vectorized over records)."""
    f = {name: rec.fields[:, j].astype(float) for j, name in enumerate(rec.field_names)}
    perf = {name: rec.performance[:, j] for j, name in enumerate(rec.performance_names)}
    vd = rec.params[:, rec.param_names.index("discharge_voltage_v")]
    current, thrust = perf["discharge_current_A"], perf["thrust_N"]
    n = len(rec)
    finite = np.isfinite(current) & np.isfinite(thrust)
    for name in cfg.fields:
        if name in f:
            finite &= np.isfinite(f[name]).all(axis=1)
    with np.errstate(invalid="ignore"):
        phi, nu_an, ui, ue = f["phi"], f["nu_an"], f["ui_1"], f["ue"]
        tests = [
            ("non-finite value", ~finite),
            ("discharge current out of range", (current < cfg.min_current_A) | (current > cfg.max_current_A)),
            ("thrust out of range", (thrust < cfg.min_thrust_N) | (thrust > cfg.max_thrust_N)),
            ("potential out of bounds", (phi.min(axis=1) > cfg.max_min_potential_frac * vd)
             | (phi.min(axis=1) < cfg.min_potential_V) | (phi.max(axis=1) > cfg.max_potential_frac * vd)),
            ("anomalous collision frequency out of range",
             ~((cfg.nu_an_max_range[0] < nu_an.max(axis=1)) & (nu_an.max(axis=1) < cfg.nu_an_max_range[1])
               & (cfg.nu_an_min_range[0] < nu_an.min(axis=1)) & (nu_an.min(axis=1) < cfg.nu_an_min_range[1]))),
            ("ion-velocity shock", (np.argmax(ui, axis=1) < cfg.shock_position_frac * ui.shape[1])
             & (ui.max(axis=1) > cfg.shock_ratio * ui[:, -1])),
            ("electron velocity too large", np.abs(ue).max(axis=1) >= cfg.max_abs_ue_m_s),
        ]
    out = [""] * n
    for reason, failed in reversed(tests):  # the first test in the list wins
        for i in np.flatnonzero(failed):
            out[i] = reason
    return out


# ----------------------------------------------------------------------------------------------
# Rows
# ----------------------------------------------------------------------------------------------


def _psd_rows(series: np.ndarray, t_s: np.ndarray, bins: int, start_fraction: float) -> np.ndarray:
    """Log-binned one-sided PSD of the discharge current over the averaging window, (N, bins)."""
    n0 = int(len(t_s) * start_fraction)
    x = series[:, n0:].astype(float)
    x = x - x.mean(axis=1, keepdims=True)
    dt = float(t_s[1] - t_s[0])
    spec = np.abs(np.fft.rfft(x, axis=1)) ** 2 * dt / max(x.shape[1], 1)
    freqs = np.fft.rfftfreq(x.shape[1], dt)
    edges = np.geomspace(max(freqs[1], 1e-12), freqs[-1] * (1 + 1e-9), bins + 1)
    out = np.empty((len(series), bins))
    for b in range(bins):
        sel = (freqs >= edges[b]) & (freqs < edges[b + 1])
        out[:, b] = spec[:, sel].mean(axis=1) if sel.any() else np.nan
    return np.maximum(out, LOG_FLOOR)


def _interpolation_matrix(z: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """M (W, cells) with M @ q = np.interp(grid, z, q) for every profile q on ``z`` (clamped ends)."""
    M = np.zeros((len(grid), len(z)))
    for k, g in enumerate(grid):
        j = int(np.clip(np.searchsorted(z, g) - 1, 0, len(z) - 2))
        t = min(max((g - z[j]) / (z[j + 1] - z[j]), 0.0), 1.0)
        M[k, j], M[k, j + 1] = 1.0 - t, t
    return M


@dataclass
class RowSpec:
    """Names, kinds, units and log flags of the tensor rows."""

    names: list[str]
    kinds: list[str]
    units: list[str]
    log: list[bool]


def row_spec(cfg: NormalizeSection, field_units: dict[str, str]) -> RowSpec:
    names = list(cfg.fields) + list(cfg.scalars) + [f"psd_{b}" for b in range(cfg.psd_bins)]
    kinds = ["field"] * len(cfg.fields) + ["scalar"] * (len(cfg.scalars) + cfg.psd_bins)
    units = [field_units.get(n, "") for n in cfg.fields] + [SCALAR_UNITS.get(n, "") for n in cfg.scalars]
    units += ["A^2/Hz"] * cfg.psd_bins
    log = [n in cfg.log_fields for n in cfg.fields] + [n in cfg.log_scalars for n in cfg.scalars]
    log += [True] * cfg.psd_bins
    return RowSpec(names, kinds, units, log)


def build_rows(rec: RawRecords, keep: np.ndarray, cfg: NormalizeSection, grid_m: np.ndarray,
               start_fraction: float) -> np.ndarray:
    """Physical rows (n_kept, R, W) of the kept records: fields resampled onto ``grid_m``, then
    scalars (parameters, performance) and PSD bins repeated along the grid."""
    idx = np.flatnonzero(keep)
    W = len(grid_m)
    fields = {name: rec.fields[idx, j].astype(float) for j, name in enumerate(rec.field_names)}
    missing = [n for n in cfg.fields if n not in fields]
    if missing:
        raise DataError(f"raw shards lack field(s) {missing}; remove them from normalize.fields")
    # Make the total collision frequency at least the anomalous one; never touch nu_an itself.
    if "nu_e" in fields and "nu_an" in fields:
        fields["nu_e"] = np.maximum(fields["nu_e"], fields["nu_an"])
    rows = []
    for name in cfg.fields:
        q = fields[name]
        if q.shape[1] != W or not np.allclose(grid_m, rec.z_m):
            q = np.stack([np.interp(grid_m, rec.z_m, qi) for qi in q]) if len(q) else np.zeros((0, W))
        rows.append(q)
    lookup = {n: rec.params[idx, j] for j, n in enumerate(rec.param_names)}
    lookup.update({n: rec.performance[idx, j] for j, n in enumerate(rec.performance_names)})
    for name in cfg.scalars:
        if name not in lookup:
            raise DataError(f"normalize.scalars names '{name}', which the raw shards do not hold; "
                            f"available: {', '.join(lookup)}")
        rows.append(np.repeat(lookup[name][:, None], W, axis=1))
    if cfg.psd_bins:
        j = rec.series_names.index("discharge_current_A")
        psd = _psd_rows(rec.series[idx, j], rec.t_s, cfg.psd_bins, start_fraction)
        rows += [np.repeat(psd[:, b:b + 1], W, axis=1) for b in range(cfg.psd_bins)]
    return np.stack(rows, axis=1) if len(idx) else np.zeros((0, len(rows), W))


# ----------------------------------------------------------------------------------------------
# The command
# ----------------------------------------------------------------------------------------------


@dataclass
class NormalizeSummary:
    output: Path
    table_csv: Path
    kept: int
    total: int
    report: dict[str, Any]


class _Moments:
    """Pooled per-row mean and variance, merged shard by shard (Chan et al.), in float64."""

    def __init__(self, rows: int) -> None:
        self.n = 0
        self.mean = np.zeros(rows)
        self.m2 = np.zeros(rows)

    def add(self, g: np.ndarray) -> None:  # g: (n, R, W)
        if g.size == 0:
            return
        x = np.moveaxis(g, 1, 0).reshape(g.shape[1], -1)
        nb = x.shape[1]
        mb = x.mean(axis=1)
        m2b = ((x - mb[:, None]) ** 2).sum(axis=1)
        delta = mb - self.mean
        tot = self.n + nb
        self.mean = self.mean + delta * nb / tot
        self.m2 = self.m2 + m2b + delta**2 * self.n * nb / tot
        self.n = tot

    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / max(self.n - 1, 1))


def raw_shards(raw: Path) -> list[Path]:
    """The shard files of a campaign folder (DataError when there are none)."""
    shards = sorted(raw.glob("shard-*.h5"))
    if not shards:
        raise DataError(f"no raw shards in {raw}; run `hallctl generate` first")
    return shards


def _mean_std(moments: _Moments, spec: RowSpec, target_std: float, norm_from: Path | None
              ) -> tuple[np.ndarray, np.ndarray]:
    """The z-score of each row: fitted (std scaled to ``target_std``; constant rows get 1), or another
    normalized dataset's."""
    if norm_from is not None:
        other = read_dataset(norm_from, load_tensor=False, hint="--norm-from needs a normalized dataset")
        if other.rows != spec.names or list(other.log) != spec.log:
            raise DataError(f"{norm_from} has rows {other.rows}, this dataset {spec.names}; the rows and log "
                            "flags must match to reuse its normalization")
        return np.asarray(other.mean), np.asarray(other.std)
    mean = moments.mean
    raw_std = moments.std()
    constant = raw_std <= 1e-9 * np.maximum(np.abs(mean), 1e-300)  # e.g. an absent charge state
    return mean, np.where(constant, 1.0, raw_std) / target_std


def latest_records(shards: list[Path]) -> list[np.ndarray]:
    """Per shard, which records are the latest of their index: a retried simulation (an "error" that
    ``generate`` ran again) has a later record in a later shard, which supersedes the earlier one."""
    where: dict[int, tuple[int, int]] = {}
    sizes = []
    for k, path in enumerate(shards):
        index = read_raw_shard(path, load_series=False).index
        sizes.append(len(index))
        for j, i in enumerate(index):
            where[int(i)] = (k, j)
    masks = [np.zeros(n, dtype=bool) for n in sizes]
    for k, j in where.values():
        masks[k][j] = True
    return masks


def normalize_campaign(shards: list[Path], output: Path, cfg: NormalizeSection, split: SplitSection, *,
                       average_start_fraction: float, provenance: dict[str, Any], norm_from: Path | None = None,
                       report: Reporter | None = None) -> NormalizeSummary:
    """Filter, transform and z-score every successful simulation of the campaign.

    Args:
        shards: the campaign's raw shards.
        output: the normalized dataset to write (its table goes beside it).
        cfg: filters, rows and the target std.
        split: the split whose training records the statistics are fitted on.
        average_start_fraction: where the simulations' time averages start (for the PSD rows).
        provenance: the record stored in the output.
        norm_from: reuse this normalized dataset's mean and std instead of fitting them.

    Raises:
        DataError: nothing left after filtering, or an incompatible ``norm_from`` file.
    """
    report = resolve(report)
    first = read_raw_shard(shards[0], load_series=False)
    spec = row_spec(cfg, dict(zip(first.field_names, first.field_units, strict=True)))
    z = first.z_m
    grid = np.linspace(z[0], z[-1], cfg.resolution) if cfg.resolution else z.copy()
    start_fraction = average_start_fraction
    log = np.asarray(spec.log)[:, None]

    # Pass 1: filters and statistics.
    failed: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    moments = _Moments(len(spec.names))
    keep_masks: list[np.ndarray] = []
    total = fitted = 0
    sp = split
    latest = latest_records(shards)
    with report.progress("normalize: statistics", total=len(shards), unit="shards") as bar:
        for path, current in zip(shards, latest, strict=True):
            rec = read_raw_shard(path, load_series=cfg.psd_bins > 0)
            total += int(current.sum())
            ok = current & np.array([s == "success" for s in rec.status], dtype=bool)
            for s, r, c in zip(rec.status, rec.reason, current, strict=True):
                if c and s != "success":
                    failed[f"{s}: {r.split(' at t=')[0][:60]}"] += 1
            reasons = filter_reasons(rec, cfg)
            keep = ok & np.array([r == "" for r in reasons], dtype=bool)
            removed.update(r for r, k in zip(reasons, ok, strict=True) if k and r)
            keep_masks.append(keep)
            fit = keep & (assign_splits(rec.index, seed=sp.seed, val_small=sp.val_small,
                                        val_large=sp.val_large) == "train")
            phys = build_rows(rec, fit, cfg, grid, start_fraction)
            moments.add(np.where(log, np.log(np.maximum(phys, LOG_FLOOR)), phys))
            fitted += int(fit.sum())
            bar.advance(1)
    kept = int(sum(m.sum() for m in keep_masks))
    filter_report = {"total": total, "failed_simulations": dict(failed), "removed": dict(removed), "kept": kept}
    if kept == 0:
        raise DataError(f"no simulation survived the filters ({total} records: {sum(failed.values())} failed, "
                        f"removed {dict(removed)}); check the campaign or loosen the [normalize] bounds")

    if fitted == 0 and norm_from is None:
        raise DataError(f"none of the {kept} kept simulations falls in the training split (split.val_small = "
                        f"{sp.val_small}, split.val_large = {sp.val_large}); lower them or generate more simulations")

    mean, std = _mean_std(moments, spec, cfg.target_std, norm_from)
    norm = {"log": spec.log, "mean": mean, "std": std}

    # Pass 2: write the tensor straight into the output file.
    attrs = {"channel_length_m": first.attrs.get("channel_length_m"), "campaign_id": first.attrs.get("campaign_id"),
             "resolution": len(grid), "fit_split": split_signature(sp) if norm_from is None else None,
             "fit_records": fitted if norm_from is None else None}
    prov = {**provenance, "norm_from": str(norm_from) if norm_from else None}
    ds = Dataset(tensor=np.zeros((0, len(spec.names), len(grid)), np.float32), rows=spec.names, kinds=spec.kinds,
                 units=spec.units, log=spec.log, mean=mean, std=std, grid_m=grid, record_id=np.zeros(0, np.int64),
                 target_std=cfg.target_std, split="all", source_shards=[p.name for p in shards],
                 filter_report=filter_report, attrs=attrs)
    with atomic_write(output) as tmp:
        _write_streamed(tmp, ds, prov, shards, keep_masks, kept, cfg, grid, start_fraction, norm, report)
    table = output.with_name(output.stem + "_normalization.csv")
    _write_table(table, spec, mean, std)
    return NormalizeSummary(output=output, table_csv=table, kept=kept, total=total, report=filter_report)


def _write_streamed(tmp: Path, ds: Dataset, prov: dict[str, Any], shards: list[Path], keep_masks: list[np.ndarray],
                    kept: int, cfg: NormalizeSection, grid: np.ndarray, start_fraction: float,
                    norm: dict[str, Any], report: Reporter) -> None:
    write_dataset(tmp, ds, prov)  # the schema with an empty tensor, then filled in place
    with h5py.File(tmp, "a") as f:
        del f["tensor"], f["record_id"]
        tensor = f.create_dataset("tensor", shape=(kept, len(ds.rows), len(grid)), dtype=np.float32,
                                  chunks=(min(kept, 256), len(ds.rows), len(grid)), compression="gzip",
                                  compression_opts=4, shuffle=True)
        tensor.attrs["rows"] = np.array(ds.rows, dtype=object)
        ids = f.create_dataset("record_id", shape=(kept,), dtype=np.int64)
        pos = 0
        with report.progress("normalize: writing", total=len(shards), unit="shards") as bar:
            for path, keep in zip(shards, keep_masks, strict=True):
                if keep.any():
                    rec = read_raw_shard(path, load_series=cfg.psd_bins > 0)
                    x = normalize_tensor(build_rows(rec, keep, cfg, grid, start_fraction), norm)
                    tensor[pos:pos + len(x)] = x.astype(np.float32)
                    ids[pos:pos + len(x)] = rec.index[keep]
                    pos += len(x)
                bar.advance(1)


def _write_table(path: Path, spec: RowSpec, mean: np.ndarray, std: np.ndarray) -> None:
    """The normalization table for people: row, kind, unit, log flag, mean and divisor."""
    with atomic_write(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "kind", "unit", "log", "mean", "std"])
        for i, name in enumerate(spec.names):
            w.writerow([name, spec.kinds[i], spec.units[i], int(spec.log[i]), f"{mean[i]:.10g}", f"{std[i]:.10g}"])
