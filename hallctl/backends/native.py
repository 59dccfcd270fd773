"""The native backend: campaign simulations on a thread pool over hallctl.sim.

The solver's compiled kernels release the GIL (numba ``nogil``), so threads run simulations in
parallel. Results are yielded as they complete; a stop event cancels queued jobs and asks
running ones to end at their next progress check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

import numpy as np

from hallctl import report
from hallctl.errors import HallctlError
from hallctl.jobs import RECORD_FIELDS, SERIES_NAMES, SimJob, SimOutcome
from hallctl.sim import Result, SimConfig, simulate

__all__ = ["outcome_from_result", "run_native", "run_one"]


class Cancelled(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside a running simulation when the campaign is being stopped."""


class _StopProgress(report.Progress):
    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def advance(self, n: float = 1, **fields: Any) -> None:
        if self.stop.is_set():
            raise Cancelled

    def update(self, completed: float | None = None, total: float | None = None, **fields: Any) -> None:
        if self.stop.is_set():
            raise Cancelled


class _StopReporter(report.Reporter):
    """A silent reporter whose progress calls end the simulation once ``stop`` is set."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    @contextmanager
    def progress(self, description: str, total: float | None = None, unit: str = "") -> Iterator[report.Progress]:
        yield _StopProgress(self.stop)


def outcome_from_result(result: Result) -> SimOutcome:
    """A solver Result as a backend-independent outcome (interior cells only)."""
    profiles = {}
    for name in RECORD_FIELDS:
        if result.profiles and name in result.profiles:
            profiles[name] = np.asarray(result.profiles[name])[1:-1]
    series = {}
    for name in SERIES_NAMES:
        value = getattr(result, name, None)
        if value is not None:
            series[name] = np.asarray(value)
    z = np.asarray(result.z_m)[1:-1] if result.z_m is not None else None
    return SimOutcome(status=result.status, reason=result.reason, z_m=z, profiles=profiles,
                      t_s=np.asarray(result.t_s) if result.t_s is not None else None, series=series,
                      performance=dict(result.performance or {}), steps=int(result.steps),
                      wall_s=float(result.wall_s))


def run_one(job: SimJob, make_config: Callable[[SimJob], SimConfig], stop: threading.Event) -> SimOutcome:
    """One simulation's outcome; ``stop`` ends it early (raising Cancelled)."""
    start = time.perf_counter()
    # parameters the solver refuses are a final outcome (a "failure", kept as data like a diverging run);
    # any other exception is an "error", retried when the campaign resumes
    try:
        config = make_config(job)
        return outcome_from_result(simulate(config, report=_StopReporter(stop)))
    except Cancelled:
        raise
    except HallctlError as exc:
        return SimOutcome(status="failure", reason=f"invalid configuration: {exc}",
                          wall_s=time.perf_counter() - start)
    except Exception as exc:
        return SimOutcome(status="error", reason=f"{type(exc).__name__}: {exc}",
                          wall_s=time.perf_counter() - start)


def run_native(jobs: Iterable[SimJob], make_config: Callable[[SimJob], SimConfig], *, threads: int,
               stop: threading.Event | None = None) -> Iterator[tuple[SimJob, SimOutcome]]:
    """Run ``jobs`` on ``threads`` workers; yield (job, outcome) in order of completion.

    Closing the generator (or setting ``stop``) cancels queued jobs; running ones end early and
    are not yielded.
    """
    stop = stop or threading.Event()
    queue = iter(jobs)
    pending: dict[Future, SimJob] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="hallctl-sim")
    try:
        def refill() -> None:
            while len(pending) < 2 * max(1, threads) and not stop.is_set():
                job = next(queue, None)
                if job is None:
                    return
                pending[pool.submit(run_one, job, make_config, stop)] = job

        refill()
        while pending:
            done, _ = wait(list(pending), timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                job = pending.pop(fut)
                try:
                    outcome = fut.result()
                except Cancelled:
                    continue
                yield job, outcome
            refill()
    finally:
        stop.set()
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
