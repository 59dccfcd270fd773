"""What a campaign stores per simulation, and how outcomes become raw-shard records.

Both backends return a :class:`SimOutcome`; :func:`to_records` packs a list of them into the
raw-shard schema of :mod:`hallctl.data.store`.
"""

from __future__ import annotations

import numpy as np

from hallctl.data.store import RawRecords
from hallctl.jobs import PERFORMANCE_NAMES, RECORD_FIELDS, SERIES_NAMES, SimJob, SimOutcome
from hallctl.sections import PARAMETER_NAMES

__all__ = ["to_records"]

def _fit(x: np.ndarray | None, n: int) -> np.ndarray:
    """``x`` truncated or NaN-padded to length ``n`` (a failed run stops early)."""
    out = np.full(n, np.nan)
    if x is not None:
        k = min(n, len(x))
        out[:k] = np.asarray(x, dtype=float)[:k]
    return out


def to_records(jobs: list[SimJob], outcomes: list[SimOutcome], *, z_m: np.ndarray, t_s: np.ndarray,
               attrs: dict) -> RawRecords:
    """Pack finished simulations into the raw-shard schema (failed ones with NaN data)."""
    n, cells, frames = len(jobs), len(z_m), len(t_s)
    fields = np.full((n, len(RECORD_FIELDS), cells), np.nan, dtype=np.float32)
    series = np.full((n, len(SERIES_NAMES), frames), np.nan, dtype=np.float32)
    perf = np.full((n, len(PERFORMANCE_NAMES)), np.nan)
    for i, out in enumerate(outcomes):
        for j, name in enumerate(RECORD_FIELDS):
            if name in out.profiles:
                fields[i, j] = _fit(out.profiles[name], cells)
        for j, name in enumerate(SERIES_NAMES):
            if name in out.series:
                series[i, j] = _fit(out.series[name], frames)
        for j, name in enumerate(PERFORMANCE_NAMES):
            perf[i, j] = out.performance.get(name, np.nan)
    q = max((len(job.anom_c) for job in jobs), default=0)
    return RawRecords(
        index=np.array([job.index for job in jobs], dtype=np.int64),
        seed=np.array([job.seed for job in jobs], dtype=np.int64),
        status=[o.status for o in outcomes], reason=[o.reason for o in outcomes],
        param_names=list(PARAMETER_NAMES),
        params=np.array([[job.params[p] for p in PARAMETER_NAMES] for job in jobs], dtype=float).reshape(n, -1),
        field_names=list(RECORD_FIELDS), field_units=list(RECORD_FIELDS.values()), fields=fields, z_m=z_m,
        series_names=list(SERIES_NAMES), t_s=t_s, series=series,
        performance_names=list(PERFORMANCE_NAMES), performance=perf,
        anom_z_m=jobs[0].anom_z_m if jobs else np.zeros(0),
        anom_profile=np.array([_fit(job.anom_c, q) for job in jobs]).reshape(n, q),
        wall_s=np.array([o.wall_s for o in outcomes], dtype=float),
        steps=np.array([o.steps for o in outcomes], dtype=np.int64),
        attrs=attrs,
    )
