"""The julia backend: HallThruster.jl through juliacall, driven by ``julia/generate.jl``.

juliacall is imported only here, only after :func:`check_backend` has found Julia and
HallThruster.jl (otherwise juliacall would try to download Julia). Julia's threads follow ``-t``.
Results come back in the native backend's schema (:class:`SimOutcome`).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from hallctl.backends.julia_probe import JuliaStatus, check_julia
from hallctl.errors import BackendError, HallctlError
from hallctl.jobs import SimJob, SimOutcome
from hallctl.sim.config import SimConfig
from hallctl.sim.hallthruster_json import to_hallthruster_input

__all__ = ["check_backend", "driver_path", "run_julia"]


def driver_path() -> Path:
    """``julia/generate.jl`` of this checkout (or $HALLCTL_JULIA_DRIVER)."""
    env = os.environ.get("HALLCTL_JULIA_DRIVER")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "julia" / "generate.jl"
    if not path.is_file():
        raise BackendError(f"the julia driver {path} is missing; set HALLCTL_JULIA_DRIVER to julia/generate.jl "
                           "of a hallctl checkout")
    return path


def check_backend() -> JuliaStatus:
    """Julia, HallThruster.jl, juliacall and the driver are all present (fast; downloads nothing)."""
    status = check_julia()
    driver_path()
    return status


def _start_julia(threads: int) -> Any:
    status = check_backend()
    os.environ.setdefault("PYTHON_JULIACALL_EXE", status.julia)
    os.environ.setdefault("PYTHON_JULIACALL_THREADS", str(max(1, threads)))
    os.environ.setdefault("PYTHON_JULIAPKG_OFFLINE", "yes")
    from juliacall import Main as jl  # noqa: N813 - imported lazily, after the checks above

    jl.seval(f'include({json.dumps(str(driver_path()))})')
    return jl


def _outcome(raw: Any) -> SimOutcome:
    d = {str(k): v for k, v in dict(raw).items()}
    profiles = {str(k): np.asarray(v, dtype=float) for k, v in dict(d.get("profiles", {})).items()}
    series = {str(k): np.asarray(v, dtype=float) for k, v in dict(d.get("series", {})).items()}
    perf = {str(k): float(v) for k, v in dict(d.get("performance", {})).items()}
    return SimOutcome(status=str(d["status"]), reason=str(d.get("reason", "")),
                      z_m=np.asarray(d["z_m"], dtype=float) if "z_m" in d else None, profiles=profiles,
                      t_s=np.asarray(d["t_s"], dtype=float) if "t_s" in d else None, series=series,
                      performance=perf, steps=0, wall_s=float(d.get("wall_s", 0.0)))


def run_julia(jobs: Iterable[SimJob], make_config: Callable[[SimJob], SimConfig], *, threads: int,
              stop: threading.Event | None = None) -> Iterator[tuple[SimJob, SimOutcome]]:
    """Run ``jobs`` in batches of ``threads`` on Julia threads; yield (job, outcome) per batch."""
    stop = stop or threading.Event()
    jl = _start_julia(threads)
    queue = iter(jobs)
    with tempfile.TemporaryDirectory(prefix="hallctl-julia-") as tmp:
        while not stop.is_set():
            batch: list[tuple[SimJob, SimConfig | None, str]] = []
            for job in queue:
                try:
                    batch.append((job, make_config(job), ""))
                except HallctlError as exc:
                    batch.append((job, None, f"invalid configuration: {exc}"))
                if len(batch) >= max(1, threads):
                    break
            if not batch:
                return
            runnable = [(job, cfg) for job, cfg, _ in batch if cfg is not None]
            paths, starts = [], []
            for job, cfg in runnable:
                path = Path(tmp) / f"sim-{job.index}.json"
                path.write_text(json.dumps(to_hallthruster_input(cfg)))
                paths.append(str(path))
                starts.append(float(cfg.average_start_time_s or 0.0))
            max_charge = runnable[0][1].max_charge if runnable else 1
            results = list(jl.HallctlDriver.run_batch(paths, starts, max_charge)) if paths else []
            by_index = {job.index: _outcome(r) for (job, _), r in zip(runnable, results, strict=True)}
            for job, cfg, reason in batch:
                yield job, by_index[job.index] if cfg is not None else SimOutcome(status="failure", reason=reason)
