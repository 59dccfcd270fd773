"""Synthetic raw records with plausible profiles, for normalize/split unit tests and benchmarks."""

from __future__ import annotations

import numpy as np

from hallctl.data.store import RawRecords
from hallctl.jobs import PERFORMANCE_NAMES, RECORD_FIELDS, SERIES_NAMES
from hallctl.project import PARAMETER_NAMES


def synthetic_records(n: int, *, cells: int = 32, frames: int = 41, seed: int = 0, first_index: int = 0,
                      max_charge: int = 3) -> RawRecords:
    rng = np.random.default_rng(seed)
    z = (np.arange(cells) + 0.5) * 0.08 / cells
    zh = z / 0.025
    params = np.column_stack([rng.uniform(0.01, 1, n), rng.uniform(0.1, 1, n), rng.uniform(0, 1, n),
                              rng.uniform(0, 1, n), rng.lognormal(np.log(0.1), 0.5, n), rng.uniform(0.8, 1.4, n),
                              rng.uniform(200, 400, n), rng.uniform(0.5, 1.5, n), rng.uniform(0.5, 1.5, n),
                              rng.uniform(200, 600, n), rng.uniform(3e-6, 7e-6, n), rng.uniform(0, 50, n)])
    vd = params[:, PARAMETER_NAMES.index("discharge_voltage_v")]
    amp = rng.uniform(0.8, 1.2, (n, 1))
    step = 1 / (1 + np.exp(-(zh[None, :] - 1) * 4))
    f = {
        "B": 0.016 * np.exp(-0.5 * ((zh - 1) / 0.5) ** 2)[None, :] * amp + 1e-4,
        "nu_an": 1e6 * (1 + 50 * step) * amp,
        "nn": 1e19 * (1 - 0.99 * step) * amp,
        "ne": 1e18 * np.exp(-0.5 * ((zh - 0.6) / 0.4) ** 2)[None, :] * amp + 1e16,
        "ui_1": np.sqrt(2 * 1.6e-19 * vd[:, None] * step / 2.18e-25) + 100,
        "ue": -1e5 * (1 + step) * amp,
        "phi": vd[:, None] * (1 - step) + 5 * amp,
        "Tev": 5 + 20 * np.exp(-0.5 * ((zh - 1) / 0.3) ** 2)[None, :] * amp,
    }
    for Z in (1, 2, 3):
        f[f"ni_{Z}"] = f["ne"] / Z**2 if max_charge >= Z else np.zeros_like(f["ne"])
        if Z > 1:
            f[f"ui_{Z}"] = f["ui_1"] * np.sqrt(Z) if max_charge >= Z else np.zeros_like(f["ne"])
    f["nu_e"] = 0.5 * f["nu_an"] + 1e6
    f["E"] = -np.gradient(f["phi"], z, axis=1)
    f["pe"] = f["ne"] * f["Tev"]
    f["grad_pe"] = np.gradient(f["pe"], z, axis=1)
    for name in RECORD_FIELDS:
        f.setdefault(name, np.ones((n, cells)))
    fields = np.stack([np.broadcast_to(f[k], (n, cells)) for k in RECORD_FIELDS], axis=1).astype(np.float32)
    t = np.linspace(0, 2e-3, frames)
    current = (5 + np.sin(2 * np.pi * 2e4 * t)[None, :]) * amp
    series = np.stack([current, 0.8 * current, 0.08 * current], axis=1).astype(np.float32)
    perf = np.full((n, len(PERFORMANCE_NAMES)), 0.5)
    perf[:, PERFORMANCE_NAMES.index("discharge_current_A")] = current.mean(axis=1)
    perf[:, PERFORMANCE_NAMES.index("thrust_N")] = 0.08 * current.mean(axis=1)
    return RawRecords(
        index=np.arange(first_index, first_index + n), seed=np.arange(n), status=["success"] * n, reason=[""] * n,
        param_names=list(PARAMETER_NAMES), params=params, field_names=list(RECORD_FIELDS),
        field_units=list(RECORD_FIELDS.values()), fields=fields, z_m=z, series_names=list(SERIES_NAMES), t_s=t,
        series=series, performance_names=list(PERFORMANCE_NAMES), performance=perf,
        anom_z_m=np.linspace(0, 0.08, 8), anom_profile=np.full((n, 8), 0.1), wall_s=np.ones(n),
        steps=np.full(n, 100), attrs={"campaign_id": "synthetic", "channel_length_m": 0.025},
    )
