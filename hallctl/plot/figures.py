"""The figures of ``hallctl plot`` and ``hallctl evaluate`` (each returns a matplotlib Figure)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from hallctl.data.normalize import denormalize
from hallctl.data.store import Dataset, SampleSet, SimulationFile
from hallctl.plot.derived import DERIVED, derive
from hallctl.plot.style import LOG_ROWS, SCALES, axis_label, new_figure

__all__ = [
    "figure_calibration",
    "figure_dataset",
    "figure_params",
    "figure_samples",
    "figure_simulation",
    "figure_training",
]

BAND = "#3b6ea8"
TRUTH = "#222222"
OBS = "#c0392b"


def _z_mm(z_m: np.ndarray) -> np.ndarray:
    return np.asarray(z_m) * 1e3


def _style_axis(ax: Any, name: str, unit: str = "") -> None:
    ax.set_ylabel(axis_label(name, unit))
    if name in LOG_ROWS:
        ax.set_yscale("log")


def figure_samples(s: SampleSet, fields: list[str], *,
                   reference: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
                   observations: list[dict[str, Any]] | None = None, title: str = "") -> Figure:
    """One panel per field along z: median, 50 % and 90 % bands, reference curve, observations."""
    rows = {name: s.samples[:, i].astype(float) for i, name in enumerate(s.rows)}
    fig, axes = new_figure(len(fields))
    z = _z_mm(s.grid_m)
    observations = observations if observations is not None else s.observations
    for ax, name in zip(axes, fields, strict=True):
        values = rows[name] if name in rows else derive(name, rows)
        scale = SCALES.get(name, 1.0)
        q05, q25, q50, q75, q95 = np.quantile(values * scale, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        ax.fill_between(z, q05, q95, color=BAND, alpha=0.18, lw=0, label="90 %")
        ax.fill_between(z, q25, q75, color=BAND, alpha=0.35, lw=0, label="50 %")
        ax.plot(z, q50, color=BAND, label="median")
        if reference and name in reference:
            rz, rv = reference[name]
            ax.plot(_z_mm(rz), np.asarray(rv) * scale, color=TRUTH, ls="--", lw=1.1, label="reference")
        pts = [o for o in (observations or []) if o.get("field") == name and o.get("z") not in (None, "")]
        if pts:
            ax.errorbar([float(o["z"]) * 1e3 for o in pts], [float(o["value"]) * scale for o in pts],
                        yerr=[float(o["std"]) * scale for o in pts], fmt="o", ms=3, color=OBS, capsize=2,
                        lw=0.9, label="observed")
        _style_axis(ax, name, s.units[s.rows.index(name)] if name in s.rows else "")
        ax.set_xlabel("z [mm]")
    axes[0].legend(loc="best")
    if title:
        fig.suptitle(title)
    return fig


def figure_params(s: SampleSet, names: list[str], *, truth: dict[str, float] | None = None,
                  observed: dict[str, float] | None = None, pairs: bool = True) -> Figure:
    """Posterior marginals of scalar rows (histograms), with truth/observed values marked, and the
    pair plot of the first three when ``pairs``."""
    values = {n: s.scalar(n) * SCALES.get(n, 1.0) for n in names}
    k = min(3, len(names)) if pairs else 0
    n_panels = len(names) + (k * (k - 1)) // 2
    fig, axes = new_figure(n_panels, cols=3, width=8.0, panel_height=2.0)
    for ax, n in zip(axes, names, strict=False):
        ax.hist(values[n], bins=min(30, max(5, len(values[n]) // 4)), color=BAND, alpha=0.7, density=True)
        for marks, color, label in ((truth, TRUTH, "truth"), (observed, OBS, "observed")):
            if marks and n in marks:
                ax.axvline(marks[n] * SCALES.get(n, 1.0), color=color, ls="--", label=label)
        ax.set_xlabel(axis_label(n, s.units[s.rows.index(n)]))
        ax.set_yticks([])
    if truth or observed:
        axes[0].legend(loc="best")
    pair_axes = axes[len(names):]
    pairs_list = [(i, j) for i in range(k) for j in range(i + 1, k)]
    for ax, (i, j) in zip(pair_axes, pairs_list, strict=True):
        a, b = names[i], names[j]
        ax.scatter(values[a], values[b], s=4, alpha=0.5, color=BAND)
        if truth and a in truth and b in truth:
            ax.plot(truth[a] * SCALES.get(a, 1.0), truth[b] * SCALES.get(b, 1.0), "x", color=TRUTH, ms=8)
        ax.set_xlabel(axis_label(a))
        ax.set_ylabel(axis_label(b))
    return fig


def read_metrics(path: Path) -> dict[str, np.ndarray]:
    """metrics.csv as columns (non-numeric cells become NaN)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    cols: dict[str, list[float]] = {k: [] for k in (rows[0] if rows else {})}
    for r in rows:
        for k, v in r.items():
            try:
                cols[k].append(float(v))
            except (TypeError, ValueError):
                cols[k].append(np.nan)
    return {k: np.asarray(v) for k, v in cols.items()}


def figure_training(metrics: dict[str, np.ndarray]) -> Figure:
    """Training loss, validation losses per σ (raw and EMA), learning rate, throughput."""
    x_key = "nimg" if "nimg" in metrics else next(iter(metrics))
    x = metrics[x_key]
    fig, (ax_loss, ax_val, ax_lr, ax_speed) = new_figure(4)
    train_cols = [k for k in metrics if k.startswith("train_loss") or k == "loss"]
    for k in train_cols[:1]:
        ok = np.isfinite(metrics[k])
        ax_loss.plot(x[ok], metrics[k][ok], color=BAND)
        ax_loss.set_ylabel("training loss")
    sigma_cols = sorted((k for k in metrics if k.startswith("val_raw_sigma")),
                        key=lambda k: float(k.removeprefix("val_raw_sigma")))
    colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.9, max(len(sigma_cols), 1)))
    for color, k in zip(colors, sigma_cols, strict=False):
        for key, ls, label in ((k, "-", "σ = " + k.removeprefix("val_raw_sigma")),
                               (k.replace("val_raw", "val_ema"), "--", None)):
            if key in metrics and np.isfinite(metrics[key]).any():
                ok = np.isfinite(metrics[key])
                ax_val.plot(x[ok], metrics[key][ok], color=color, ls=ls, lw=1.0, label=label)
    ax_val.set_ylabel("validation loss (solid raw, dashed EMA)")
    if sigma_cols:
        ax_val.legend(fontsize=6, ncol=2)
    for ax in (ax_loss, ax_val):
        ax.set_yscale("log")
    for ax, key, label in ((ax_lr, "lr", "learning rate"), (ax_speed, "samples_per_s", "samples/s")):
        if key in metrics:
            ok = np.isfinite(metrics[key])
            ax.plot(x[ok], metrics[key][ok], color=BAND)
        ax.set_ylabel(label)
    for ax in (ax_loss, ax_val, ax_lr, ax_speed):
        ax.set_xlabel("training images" if x_key == "nimg" else x_key)
    return fig


def figure_dataset(ds: Dataset, *, max_curves: int = 60, seed: int = 0) -> Figure:
    """Spaghetti of every field, histograms of the scalar rows, and the filter report."""
    phys = denormalize(ds.tensor, ds.normalization())
    fields = [r for r, k in zip(ds.rows, ds.kinds, strict=True) if k == "field"]
    scalars = [r for r, k in zip(ds.rows, ds.kinds, strict=True) if k == "scalar"]
    report = ds.filter_report or {}
    fig, axes = new_figure(len(fields) + len(scalars) + 1, cols=4, width=11.0, panel_height=1.9)
    pick = np.random.default_rng(seed).permutation(len(ds))[:max_curves]
    z = _z_mm(ds.grid_m)
    for ax, name in zip(axes, fields, strict=False):
        i = ds.rows.index(name)
        scale = SCALES.get(name, 1.0)
        for n in pick:
            ax.plot(z, phys[n, i] * scale, color=BAND, alpha=0.25, lw=0.6)
        _style_axis(ax, name, ds.units[i])
        ax.set_xlabel("z [mm]")
    for ax, name in zip(axes[len(fields):], scalars, strict=False):
        i = ds.rows.index(name)
        ax.hist(phys[:, i].mean(axis=1) * SCALES.get(name, 1.0), bins=20, color=BAND, alpha=0.7)
        ax.set_xlabel(axis_label(name, ds.units[i]))
    ax = axes[-1]
    counts = {**{f"failed: {k}": v for k, v in report.get("failed_simulations", {}).items()},
              **report.get("removed", {}), "kept": report.get("kept", len(ds))}
    labels = [k[:32] for k in counts]
    ax.barh(range(len(counts)), list(counts.values()), color=BAND)
    ax.set_yticks(range(len(counts)), labels, fontsize=6)
    ax.set_xlabel(f"simulations (of {report.get('total', len(ds))})")
    ax.set_title("filter report")
    return fig


def figure_simulation(sim: SimulationFile, fields: list[str]) -> Figure:
    """Time-averaged profiles of one simulation, then its current and thrust time series."""
    fig, axes = new_figure(len(fields) + 2)
    z = _z_mm(sim.z_m)
    rows = {k: np.asarray(v) for k, v in sim.profiles.items()}
    for ax, name in zip(axes, fields, strict=False):
        values = rows[name] if name in rows else derive(name, rows)
        ax.plot(z, values * SCALES.get(name, 1.0), color=BAND)
        _style_axis(ax, name, sim.units.get(name, ""))
        ax.set_xlabel("z [mm]")
    t_ms = np.asarray(sim.t_s) * 1e3
    for ax, key, scale, label in ((axes[-2], "discharge_current_A", 1.0, r"$I_d$ [A]"),
                                  (axes[-1], "thrust_N", 1e3, "thrust [mN]")):
        if key in sim.series:
            ax.plot(t_ms, np.asarray(sim.series[key]) * scale, color=BAND, lw=0.8)
        ax.set_xlabel("t [ms]")
        ax.set_ylabel(label)
    fig.suptitle(f"simulation ({sim.status}{': ' + sim.reason if sim.reason else ''})")
    return fig


def figure_calibration(levels: np.ndarray, groups: dict[str, dict[str, np.ndarray]]) -> Figure:
    """Expected vs observed coverage of central intervals: one panel per group of rows (e.g.
    profiles, scalars), a thin line per row and a thick one for the group's mean."""
    fig, axes = new_figure(len(groups), width=4.0 * len(groups), panel_height=4.0)
    colors = matplotlib.colormaps["tab20"].colors
    for ax, (title, coverage) in zip(axes, groups.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="0.5", ls=":", lw=1.0)
        for k, (name, cov) in enumerate(coverage.items()):
            ax.plot(levels, cov, marker="o", ms=2.0, lw=0.8, color=colors[k % len(colors)],
                    ls="-" if k < len(colors) else "--", label=name)
        if coverage:
            ax.plot(levels, np.mean(list(coverage.values()), axis=0), color="k", lw=2.0, label="mean")
        ax.set_title(title)
        ax.set_xlabel("expected coverage")
        ax.set_ylabel("observed coverage")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=6, ncol=2, loc="upper left")
    return fig


def available_derived() -> list[str]:
    return list(DERIVED)
