"""The dask executor: campaign simulations on a ``dask.distributed`` cluster (optional extra ``hallctl[dask]``).

The native solver runs on the workers; results stream back, in order of completion, to the one
shard writer of ``hallctl generate`` (atomic, resumable), exactly as from the thread pool. A
killed client loses only the simulations in flight. A simulation whose worker dies is retried
(``retries``) on another worker, then recorded as an "error" (retried again by the next run).

Clusters: a ``LocalCluster`` of worker processes on the loopback interface by default, an
existing scheduler by address (``tcp://host:8786``), or dask-jobqueue's ``SLURMCluster`` /
``PBSCluster`` built from the project's [cluster] section.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from hallctl.errors import BackendError
from hallctl.jobs import SimJob, SimOutcome
from hallctl.sim import SimConfig

__all__ = ["DaskSettings", "run_dask", "simulate_job"]


@dataclass(frozen=True)
class DaskSettings:
    """Where the simulations run.

    Attributes:
        workers: worker processes of a LocalCluster, or jobs of a jobqueue cluster.
        scheduler: address of an existing scheduler ("" = start a cluster).
        cluster: "local", "slurm" or "pbs" (dask-jobqueue) when no scheduler is given.
        cores, memory, account, queue, walltime: one jobqueue job's resources.
        retries: resubmissions of a simulation whose worker died.
    """

    workers: int = 2
    scheduler: str = ""
    cluster: str = "local"
    cores: int = 1
    memory: str = "4GB"
    account: str = ""
    queue: str = ""
    walltime: str = "04:00:00"
    retries: int = 2


def simulate_job(job: SimJob, make_config: Callable[[SimJob], SimConfig]) -> SimOutcome:
    """One simulation on a worker (the same outcome rules as the thread pool)."""
    from hallctl.backends.native import run_one

    return run_one(job, make_config, threading.Event())


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise BackendError("the dask executor needs dask.distributed; install it with pip install 'hallctl[dask]'"
                           ) from None
    return distributed


def _start_cluster(settings: DaskSettings) -> Any:
    distributed = _import_distributed()
    if settings.cluster == "local":
        return distributed.LocalCluster(n_workers=settings.workers, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address=None)
    try:
        import dask_jobqueue
    except ImportError:
        raise BackendError(f"cluster '{settings.cluster}' needs dask-jobqueue; pip install dask-jobqueue") from None
    kind = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}.get(settings.cluster)
    if kind is None:
        raise BackendError(f"unknown dask cluster '{settings.cluster}'; use local, slurm or pbs")
    extra = {"account": settings.account} if settings.account else {}
    cluster = kind(cores=settings.cores, processes=settings.cores, memory=settings.memory,
                   queue=settings.queue or None, walltime=settings.walltime, **extra)
    cluster.scale(jobs=settings.workers)
    return cluster


def run_dask(jobs: Iterable[SimJob], make_config: Callable[[SimJob], SimConfig], *, settings: DaskSettings,
             stop: threading.Event | None = None) -> Iterator[tuple[SimJob, SimOutcome]]:
    """Run ``jobs`` on a dask cluster; yield (job, outcome) in order of completion.

    ``make_config`` is sent to the workers, so it must be picklable (e.g. a ``functools.partial``).
    Closing the generator (or setting ``stop``) cancels the simulations not yet returned.

    Raises:
        BackendError: dask.distributed (or dask-jobqueue) is not installed, or no scheduler answers.
    """
    distributed = _import_distributed()
    stop = stop or threading.Event()
    cluster = None if settings.scheduler else _start_cluster(settings)
    try:
        client = distributed.Client(settings.scheduler or cluster, timeout="30s")
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise BackendError(f"no dask scheduler answers at {settings.scheduler or 'the local cluster'} ({exc}); "
                           "start it, or leave the scheduler empty for a local cluster") from None
    futures: dict[Any, SimJob] = {}
    try:
        for job in jobs:
            fut = client.submit(simulate_job, job, make_config, key=f"hallctl-sim-{job.index}-{job.seed}",
                                retries=settings.retries, pure=False)
            futures[fut] = job
        for fut in distributed.as_completed(list(futures)):
            if stop.is_set():
                break
            job = futures.pop(fut)
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker died more often than the retries allow
                outcome = SimOutcome(status="error", reason=f"dask worker failed: {type(exc).__name__}: {exc}")
            yield job, outcome
    finally:
        if futures:
            client.cancel(list(futures))
        client.close()
        if cluster is not None:
            cluster.close()
