"""The julia backend: HallThruster.jl v0.21.6 through juliacall, driven by ``julia/generate.jl``.

juliacall is imported only here, only after :func:`check_backend` has found Julia, HallThruster.jl
0.21.6 and PythonCall.jl (otherwise juliacall would try to download Julia), with the environment
of :func:`juliacall_environment`. Each configuration is written as HallThruster.jl JSON
(:mod:`hallctl.sim.hallthruster_writer`) and run by the driver's ``run_one``; its result becomes a
:class:`SimOutcome` of the native schema (:mod:`hallctl.backends.julia_outcome`).

Concurrency (docs/julia-backend.md): with juliacall's ``_jl_call_nogil`` (0.9.24 and later), ``-t``
Python threads each run one simulation at a time with the GIL released, and the main thread polls
them every 0.2 s, yielding to Julia in between (so Julia's garbage collector is never kept waiting),
so outcomes stream in as they finish, progress moves and a stop is honoured between simulations.
Without it, batches of ``-t`` simulations run on Julia's threads through ``run_batch``. Simulations
already running always finish: HallThruster.jl cannot be interrupted between its steps.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from itertools import islice
from pathlib import Path
from typing import Any

from hallctl.backends.julia_outcome import outcome_from_driver, plain
from hallctl.backends.julia_probe import JuliaStatus, check_julia
from hallctl.errors import BackendError, HallctlError
from hallctl.jobs import SimJob, SimOutcome
from hallctl.sim.config import SimConfig
from hallctl.sim.hallthruster_writer import to_hallthruster_input

__all__ = ["check_backend", "check_config", "driver_path", "juliacall_environment", "run_julia"]

POLL_S = 0.2
"""How often the main thread looks at running simulations (and lets Julia run its scheduler)."""

WARM_UP_STEPS = 20
"""Time steps of the warm-up run that compiles the driver's code before anything is timed."""


def driver_path() -> Path:
    """``generate.jl``: $HALLCTL_JULIA_DRIVER when set (an explicit override), else inside the installed
    package, else the checkout's ``julia/``."""
    here = Path(__file__).resolve()
    candidates = [here.parents[1] / "julia" / "generate.jl", here.parents[2] / "julia" / "generate.jl"]
    if os.environ.get("HALLCTL_JULIA_DRIVER"):
        candidates = [Path(os.environ["HALLCTL_JULIA_DRIVER"])]
    for path in candidates:
        if path.is_file():
            return path
    raise BackendError(f"the julia driver generate.jl is in none of {', '.join(map(str, candidates))}; reinstall "
                       "hallctl, or set HALLCTL_JULIA_DRIVER to julia/generate.jl of a hallctl checkout")


def check_config(config: SimConfig) -> dict[str, Any]:
    """The HallThruster.jl input of ``config``.

    Raises:
        BackendError: ``config`` holds an option HallThruster.jl cannot be told (one line naming it).
    """
    try:
        return to_hallthruster_input(config)
    except ValueError as exc:
        raise BackendError(f"the julia backend cannot run this configuration: {exc} (or use --backend native)"
                           ) from None


def check_backend(config: SimConfig | None = None) -> JuliaStatus:
    """Julia, HallThruster.jl 0.21.6, PythonCall.jl, juliacall and the driver are present, and ``config``
    (when given) can be written for HallThruster.jl (fast; downloads nothing, imports no juliacall)."""
    status = check_julia()
    driver_path()
    if config is not None:
        check_config(config)
    return status


def juliacall_environment(status: JuliaStatus, threads: int) -> dict[str, str]:
    """The environment juliacall reads when it is imported.

    juliacall ≥ 0.9.28 takes the executable and the project together (one alone fails); Julia gets
    ``threads`` threads and its own signal handlers (juliacall's advice with several threads); the
    package manager stays offline, so nothing is downloaded or resolved.
    """
    return {"PYTHON_JULIACALL_EXE": status.julia, "PYTHON_JULIACALL_PROJECT": status.project,
            "PYTHON_JULIACALL_THREADS": str(max(1, threads)), "PYTHON_JULIACALL_HANDLE_SIGNALS": "yes",
            "PYTHON_JULIAPKG_OFFLINE": "yes"}


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _is_interrupt(exc: BaseException) -> bool:
    return "InterruptException" in str(exc)


def _start_julia(status: JuliaStatus, threads: int) -> Any:
    """juliacall's ``Main`` with the driver loaded.

    Raises:
        BackendError: importing juliacall or loading the driver failed (one line with the cause).
    """
    os.environ.update(juliacall_environment(status, threads))
    try:
        from juliacall import Main as jl  # noqa: N813 - imported lazily, after the checks above

        if not jl.seval("isdefined(Main, :HallctlDriver)"):
            jl.include(str(driver_path()))
        return jl
    except Exception as exc:
        if _is_interrupt(exc):
            raise KeyboardInterrupt from None
        raise BackendError(f"the julia backend could not start Julia through juliacall ({_first_line(exc)}); "
                           "`hallctl doctor` shows what was found, docs/julia-backend.md how to install it") from None


@dataclasses.dataclass(frozen=True)
class _Input:
    job: SimJob
    config: SimConfig
    path: str


def _prepare(jobs: Iterable[SimJob], make_config: Callable[[SimJob], SimConfig], folder: Path
             ) -> Iterator[tuple[SimJob, _Input | SimOutcome]]:
    """Each job's HallThruster.jl input file, or its final outcome when the solver refuses its parameters."""
    for job in jobs:
        try:
            config = make_config(job)
        except HallctlError as exc:
            yield job, SimOutcome(status="failure", reason=f"invalid configuration: {exc}")
            continue
        path = folder / f"sim-{job.index}.json"
        path.write_text(json.dumps(check_config(config)))
        yield job, _Input(job, config, str(path))


def _call(fn: Any, *args: Any, nogil: bool = False) -> Any:
    """A driver function called through juliacall, its result as plain Python; an InterruptException
    that Julia raised for Ctrl-C becomes KeyboardInterrupt."""
    try:
        return plain(fn._jl_call_nogil(*args) if nogil else fn(*args))
    except Exception as exc:
        if _is_interrupt(exc):
            raise KeyboardInterrupt from None
        raise


def _run_input(driver: Any, item: _Input, nogil: bool) -> SimOutcome:
    try:
        raw = _call(driver.run_one, item.path, float(item.config.average_start_s), int(item.config.max_charge),
                    nogil=nogil)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        return SimOutcome(status="error", reason=_first_line(exc))
    return outcome_from_driver(raw, item.config)


def _warm_up(driver: Any, item: _Input, folder: Path) -> None:
    """Run a few steps of the first configuration, so that Julia's compilation is not in any ``wall_s``.

    Raises:
        BackendError: HallThruster.jl cannot run hallctl's input at all (one line with its message).
    """
    c = item.config
    short = dataclasses.replace(c, duration_s=WARM_UP_STEPS * c.dt_s, num_save=2, average_start_time_s=None)
    path = folder / "warm-up.json"
    path.write_text(json.dumps(check_config(short)))
    raw = _call(driver.run_one, str(path), float(short.average_start_s), int(short.max_charge))
    if raw.get("retcode") == "exception":
        message = next((ln for ln in str(raw.get("error", "")).splitlines() if ln.strip()), "no message")
        raise BackendError(f"HallThruster.jl cannot run hallctl's input ({message.strip()}); check `hallctl "
                           "doctor` for the HallThruster.jl version, or use --backend native")


def _run_threaded(driver: Any, jl: Any, items: Iterator[tuple[SimJob, _Input | SimOutcome]], threads: int,
                  stop: threading.Event) -> Iterator[tuple[SimJob, SimOutcome]]:
    """One simulation per call on ``threads`` Python threads, the GIL released during each call."""
    jl_yield = getattr(jl, "yield")
    pending: dict[Future, SimJob] = {}
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hallctl-julia")
    try:
        while True:
            ready: list[tuple[SimJob, SimOutcome]] = []
            while len(pending) < threads and not stop.is_set():
                job, item = next(items, (None, None))
                if job is None:
                    break
                if isinstance(item, SimOutcome):
                    ready.append((job, item))
                else:
                    pending[pool.submit(_run_input, driver, item, True)] = job
            yield from ready
            if not pending:
                return
            done, _ = wait(list(pending), timeout=POLL_S, return_when=FIRST_COMPLETED)
            _call(jl_yield)
            for fut in done:
                yield pending.pop(fut), fut.result()
    finally:
        stop.set()
        for fut in pending:
            fut.cancel()
        running = [fut for fut in pending if not fut.cancelled()]
        while running:  # keep entering Julia while the running simulations finish
            _, left = wait(running, timeout=POLL_S)
            running = list(left)
            _call(jl_yield)
        pool.shutdown(wait=True)


def _run_batches(driver: Any, items: Iterator[tuple[SimJob, _Input | SimOutcome]], threads: int,
                 stop: threading.Event) -> Iterator[tuple[SimJob, SimOutcome]]:
    """Batches of ``threads`` simulations on Julia's threads (juliacall without ``_jl_call_nogil``)."""
    while not stop.is_set():
        batch = list(islice(items, threads))
        if not batch:
            return
        inputs = [item for _, item in batch if isinstance(item, _Input)]
        try:
            results = _call(driver.run_batch, [i.path for i in inputs],
                            [float(i.config.average_start_s) for i in inputs],
                            [int(i.config.max_charge) for i in inputs]) if inputs else []
            outcomes = {i.job.index: outcome_from_driver(r, i.config) for i, r in zip(inputs, results, strict=True)}
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # the batch call itself failed: every simulation in it is an error
            outcomes = {i.job.index: SimOutcome(status="error", reason=_first_line(exc)) for i in inputs}
        for job, item in batch:
            yield job, item if isinstance(item, SimOutcome) else outcomes[job.index]


def run_julia(jobs: Iterable[SimJob], make_config: Callable[[SimJob], SimConfig], *, threads: int,
              stop: threading.Event | None = None) -> Iterator[tuple[SimJob, SimOutcome]]:
    """Start Julia, load the driver and warm it up on the first job, then return the stream of (job, outcome)
    in order of completion. Starting is eager, so that what prevents it is one line before any progress.

    Raises:
        BackendError: Julia, HallThruster.jl 0.21.6, PythonCall.jl or juliacall is missing or cannot
            start, or HallThruster.jl cannot run hallctl's input (one line each).
    """
    stop = stop or threading.Event()
    threads = max(1, threads)
    jl = _start_julia(check_backend(), threads)
    driver = jl.HallctlDriver
    folder = tempfile.TemporaryDirectory(prefix="hallctl-julia-")  # removed by the stream, or when collected
    items = _prepare(jobs, make_config, Path(folder.name))
    first = next(items, None)
    if first is not None and isinstance(first[1], _Input):
        _warm_up(driver, first[1], Path(folder.name))
    return _stream(driver, jl, first, items, threads, stop, folder)


def _stream(driver: Any, jl: Any, first: tuple[SimJob, _Input | SimOutcome] | None,
            rest: Iterator[tuple[SimJob, _Input | SimOutcome]], threads: int, stop: threading.Event,
            folder: tempfile.TemporaryDirectory) -> Iterator[tuple[SimJob, SimOutcome]]:
    try:
        if first is None:
            return
        items = _chain(first, rest)
        if hasattr(driver.run_one, "_jl_call_nogil"):
            yield from _run_threaded(driver, jl, items, threads, stop)
        else:
            yield from _run_batches(driver, items, threads, stop)
    finally:
        folder.cleanup()


def _chain(first: tuple[SimJob, _Input | SimOutcome], rest: Iterator[tuple[SimJob, _Input | SimOutcome]]
           ) -> Iterator[tuple[SimJob, _Input | SimOutcome]]:
    yield first
    yield from rest
