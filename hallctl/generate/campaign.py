"""A campaign of N random simulations, threaded, sharded, resumable (behind ``hallctl generate``).

Layout under ``<data>/raw/``: ``campaign.json`` (the campaign's identity: the configuration that
determines its results) and ``shard-NNNNN.h5`` files. The open shard is rewritten atomically after
every finished simulation, so Ctrl-C or a kill loses only simulations in flight; re-running the
same command continues to N without redoing finished indices.

An outcome is final when it is a "success" or a "failure" (a diverging simulation, or parameters the
solver refuses: data too). An "error" (an exception: a bug, memory) is recorded and retried when
the campaign resumes; the retry's record, in a later shard, supersedes it. One campaign writes a
folder at a time (the lock ``<data>/.raw.lock``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hallctl.backends.dask import DaskSettings
from hallctl.data.store import atomic_write, write_raw_shard
from hallctl.errors import DataError, HallctlError
from hallctl.generate.plan import CampaignPlan, draw_job, sim_config_for
from hallctl.generate.records import to_records
from hallctl.jobs import RECORD_FIELDS, SimJob, SimOutcome
from hallctl.lock import folder_lock
from hallctl.parts import Part
from hallctl.report import Reporter, resolve
from hallctl.sections import PARAMETER_NAMES, SIMULATION_KEYS_V2, GenerateSection, SimulationSection
from hallctl.sim.config import SimConfig

__all__ = ["CampaignStatus", "CampaignSummary", "Part", "campaign_identity", "campaign_status", "dry_run",
           "run_campaign", "scan_raw"]

# [simulation] keys that only set `hallctl simulate`'s nominal point: they do not change a campaign
_NOMINAL_KEYS = set(PARAMETER_NAMES)


@dataclass
class CampaignSummary:
    """What a generate call did."""

    raw_dir: Path
    num_sims: int
    already_done: int
    ran: int
    successes: int
    failures: dict[str, int] = field(default_factory=dict)  # final: diverged or refused, by reason
    errors: dict[str, int] = field(default_factory=dict)  # exceptions, by reason: retried on resume
    wall_s: float = 0.0
    threads: int = 1
    interrupted: bool = False
    part: Part = field(default_factory=Part)

    @property
    def num_errors(self) -> int:
        return sum(self.errors.values())

    @property
    def sims_per_s(self) -> float:
        return self.ran / self.wall_s if self.wall_s > 0 else 0.0


def campaign_identity(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration that determines a campaign's results (not N, threads or shard size).

    Args:
        config: the resolved project as plain data (``Project.to_dict()``).
    """
    defaults = SimulationSection()
    sim = {k: v for k, v in config["simulation"].items() if k not in _NOMINAL_KEYS
           and not (k in SIMULATION_KEYS_V2 and v == getattr(defaults, k))}  # older campaigns keep their id
    ident = {
        "backend": config["generate"]["backend"],
        "seed": config["generate"]["seed"],
        "thruster": config["thruster"],
        "simulation": sim,
        "params": config["generate"]["params"],
    }
    text = json.dumps(ident, sort_keys=True)
    return {"campaign_id": hashlib.sha256(text.encode()).hexdigest()[:16], **ident}


def _differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    keys = sorted(set(a) | set(b))
    out: list[str] = []
    for k in keys:
        if k == "campaign_id":
            continue
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _differences(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k}")
    return out


def _claim_directory(directory: Path, ident: dict[str, Any], force: bool) -> None:
    """Record the campaign in ``directory``, refusing one made by another configuration."""
    marker = directory / "campaign.json"
    if marker.is_file():
        old = json.loads(marker.read_text())
        if old.get("campaign_id") == ident["campaign_id"]:
            return
        diff = ", ".join(_differences(old, ident)[:4]) or "configuration"
        if not force:
            raise DataError(f"{directory} holds a campaign with a different configuration (differs in: {diff}); "
                            "use another paths.data, or pass --force to move the old campaign aside")
        aside = directory.with_name(f"{directory.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
        directory.rename(aside)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_write(marker) as tmp:
        tmp.write_text(json.dumps(ident, indent=2, sort_keys=True))


def _latest_statuses(directory: Path, *, repair: bool, report: Reporter | None) -> tuple[dict[int, str], list[Path]]:
    """Index → status of its latest record, over every shard file (of every part), and the readable shards."""
    done: dict[int, str] = {}
    readable = []
    for path in sorted(directory.glob("shard-*.h5")):
        try:
            with h5py.File(path, "r") as f:
                statuses = [s.decode() if isinstance(s, bytes) else str(s) for s in f["status"][()]]
                indices = [int(i) for i in f["index"][()]]
        except (OSError, KeyError, ValueError) as exc:
            if not repair:
                raise DataError(f"raw shard {path} cannot be read ({type(exc).__name__}); pass --repair to move "
                                "it aside and simulate its indices again") from None
            aside = directory / "damaged" / path.name
            aside.parent.mkdir(exist_ok=True)
            path.rename(aside)
            resolve(report).warn(f"moved the unreadable shard {path.name} to {aside}; its simulations run again")
            continue
        readable.append(path)
        for i, status in zip(indices, statuses, strict=True):
            done[i] = status
    return done, readable


def scan_raw(directory: Path, *, repair: bool = False, report: Reporter | None = None
             ) -> tuple[dict[int, str], list[Path]]:
    """Finished indices (index → status of its latest record) and the shard files of a raw directory.

    Records with status "error" do not count as finished (they are retried).

    Raises:
        DataError: a shard cannot be read (unless ``repair``: it is then moved to ``damaged/``).
    """
    done, shards = _latest_statuses(directory, repair=repair, report=report)
    return {i: s for i, s in done.items() if s != "error"}, shards


@dataclass
class CampaignStatus:
    """Where a campaign stands across all its parts."""

    num_sims: int
    counts: dict[str, int]  # status → number of indices (success, failure, error)
    missing: list[int]  # indices without a record
    errors: list[int]  # indices whose latest record is an error (retried by the next run)
    shards: int

    @property
    def complete(self) -> bool:
        return not self.missing and not self.errors


def campaign_status(directory: Path, num_sims: int) -> CampaignStatus:
    """Which of the indices 0 … num_sims − 1 are done, failed, errored or missing (every part's files)."""
    latest, shards = _latest_statuses(directory, repair=False, report=None) if directory.is_dir() else ({}, [])
    inside = {i: s for i, s in latest.items() if 0 <= i < num_sims}
    return CampaignStatus(num_sims=num_sims, counts=dict(Counter(inside.values())),
                          missing=[i for i in range(num_sims) if i not in inside],
                          errors=sorted(i for i, s in inside.items() if s == "error"), shards=len(shards))


def _clean_temporaries(directory: Path, part: Part) -> None:
    """Remove this part's leftover temporary files (never another part's, which may be in flight)."""
    pattern = ".shard-[0-9]*.tmp-*" if part.whole else f".{part.prefix}*.tmp-*"
    for tmp in directory.glob(pattern):
        tmp.unlink(missing_ok=True)


def _reason_class(reason: str) -> str:
    """Short failure class for counting (drop times and numbers after the first clause)."""
    text = reason.split(" at t=")[0].split(";")[0].split(":")[0].strip()
    return text[:48] or "unknown"


class _ShardWriter:
    """Accumulates finished simulations; rewrites the open shard after each one."""

    def __init__(self, directory: Path, plan: CampaignPlan, backend: str, ident: dict[str, Any], size: int,
                 start_number: int, provenance: dict[str, Any], prefix: str = "shard-") -> None:
        self.directory, self.ident, self.size, self.prefix = directory, ident, size, prefix
        self.number = start_number
        self.jobs: list[SimJob] = []
        self.outcomes: list[SimOutcome] = []
        s = plan.simulation
        L = plan.thruster.channel_length_m
        self.attrs = {"campaign_id": ident["campaign_id"], "backend": backend, "channel_length_m": L,
                      "units": dict(RECORD_FIELDS)}
        self.provenance = {**provenance, "campaign_id": ident["campaign_id"]}
        edges = np.linspace(0.0, s.domain_channel_lengths * L, s.num_cells + 1)
        self.z_m = 0.5 * (edges[1:] + edges[:-1])
        self.t_s = np.linspace(0.0, s.duration_s, s.num_save)

    def add(self, job: SimJob, outcome: SimOutcome) -> None:
        self.jobs.append(job)
        self.outcomes.append(outcome)
        self._write()
        if len(self.jobs) >= self.size:
            self.number += 1
            self.jobs, self.outcomes = [], []

    def _write(self) -> None:
        records = to_records(self.jobs, self.outcomes, z_m=self.z_m, t_s=self.t_s, attrs=self.attrs)
        write_raw_shard(self.directory / f"{self.prefix}{self.number:05d}.h5", records, self.provenance)


def _next_shard_number(shards: list[Path], prefix: str) -> int:
    tails = [p.stem[len(prefix):] for p in shards if p.stem.startswith(prefix)]
    return max((int(t) for t in tails if t.isdigit()), default=-1) + 1


def dry_run(plan: CampaignPlan, n: int = 5) -> list[SimJob]:
    """The first ``n`` draws of the campaign (nothing is simulated or written)."""
    return [draw_job(plan, i) for i in range(n)]


def _first_config(plan: CampaignPlan) -> SimConfig | None:
    """Simulation 0's configuration: its settings show whether the julia backend can express the campaign
    (None when its parameters are refused; that run is then recorded as a failure, as with native)."""
    try:
        return sim_config_for(plan, draw_job(plan, 0))
    except HallctlError:
        return None


def run_campaign(plan: CampaignPlan, settings: GenerateSection, directory: Path, ident: dict[str, Any], *,
                 provenance: dict[str, Any], force: bool = False, repair: bool = False, part: Part | None = None,
                 dask: DaskSettings | None = None, report: Reporter | None = None) -> CampaignSummary:
    """Run (or continue) the campaign in ``directory`` until ``settings.num_sims`` are finished (those of
    ``part`` only, when given).

    Args:
        plan: what determines each simulation.
        settings: backend, number of simulations, threads and shard size.
        directory: the raw folder (``<data>/raw``).
        ident: :func:`campaign_identity` of the configuration; another campaign's folder is refused.
        provenance: the record stored in every shard.
        force: move a different campaign's folder aside instead of refusing.
        repair: move unreadable shards aside (their indices run again) instead of stopping.
        part: run only this part's indices, into its own files (a job-array task).
        dask: run the native simulations on this dask cluster instead of local threads.

    Raises:
        DataError: the data directory holds a different campaign (unless ``force``), another process
            is writing it, or a shard cannot be read (unless ``repair``).
        BackendError: the julia backend was asked for on a machine without Julia (or without HallThruster.jl
            0.21.6, PythonCall.jl or juliacall), or for a setting HallThruster.jl cannot be told (named).
        KeyboardInterrupt: after saving every finished simulation.
    """
    report = resolve(report)
    g = settings
    threads = g.threads or os.cpu_count() or 1
    if g.backend == "julia":
        from hallctl.backends.julia import check_backend

        check_backend(_first_config(plan))  # fails fast, before touching the data directory
    part = part or Part()
    if force and not part.whole:
        raise DataError("--force cannot move a campaign aside from one part of a job array; run it once without "
                        "--shard first, or use another paths.data")
    lock = directory.parent / part.lock_name.replace(".raw", f".{directory.name}", 1)
    with folder_lock(lock, "hallctl generate" + ("" if part.whole else f" --shard {part.index}/{part.count}")):
        return _run_locked(plan, g, directory, ident, provenance=provenance, force=force, repair=repair,
                           threads=threads, part=part, dask=dask, report=report)


def _run_locked(plan: CampaignPlan, g: GenerateSection, directory: Path, ident: dict[str, Any], *,
                provenance: dict[str, Any], force: bool, repair: bool, threads: int, part: Part,
                dask: DaskSettings | None, report: Reporter) -> CampaignSummary:
    _claim_directory(directory, ident, force)
    _clean_temporaries(directory, part)
    done, shards = scan_raw(directory, repair=repair, report=report)
    mine = [i for i in range(g.num_sims) if part.owns(i)]
    todo = [i for i in mine if i not in done]
    summary = CampaignSummary(raw_dir=directory, num_sims=g.num_sims, already_done=len(mine) - len(todo),
                              ran=0, successes=0, threads=threads, part=part)
    if not todo:
        report.info(f"campaign complete: {g.num_sims} simulations in {directory}" if part.whole else
                    f"part {part.index}/{part.count} complete: its {len(mine)} of the {g.num_sims} simulations")
        return summary
    if done:
        report.info(f"resuming: {len(done)} simulations already in {directory}, {len(todo)} to go")
    writer = _ShardWriter(directory, plan, g.backend, ident, g.shard_size, _next_shard_number(shards, part.prefix),
                          provenance, part.prefix)
    # Longest first: the step count grows with the fastest ions (~ sqrt(V_d)), so the campaign's last
    # simulations are short ones and no thread waits long for another at the end.
    jobs = sorted((draw_job(plan, i) for i in todo),
                  key=lambda job: -job.params["discharge_voltage_v"])
    failures: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    stop = threading.Event()
    start = time.perf_counter()
    make_config = functools.partial(sim_config_for, plan)  # picklable: dask sends it to the workers
    if g.backend == "julia":
        from hallctl.backends.julia import run_julia

        stream = run_julia(jobs, make_config, threads=threads, stop=stop)
    elif dask is not None:
        from hallctl.backends.dask import run_dask

        stream = run_dask(jobs, make_config, settings=dask, stop=stop)
    else:
        from hallctl.backends.native import run_native

        stream = run_native(jobs, make_config, threads=threads, stop=stop)
    try:
        where = f"dask, {dask.scheduler or dask.cluster}" if dask is not None else f"{threads} threads"
        with report.progress(f"generate ({g.backend}, {where})", total=len(todo), unit="sims") as bar:
            for job, outcome in stream:
                writer.add(job, outcome)
                summary.ran += 1
                if outcome.status == "success":
                    summary.successes += 1
                else:
                    (errors if outcome.status == "error" else failures)[_reason_class(outcome.reason)] += 1
                elapsed = time.perf_counter() - start
                fields = {"ok": summary.successes, "failed": sum(failures.values()), "errors": sum(errors.values()),
                          "sims/s": summary.ran / elapsed}
                fields.update({k[:24]: v for k, v in failures.most_common(3)})
                bar.advance(1, **fields)
    except KeyboardInterrupt:
        summary.interrupted = True
        stop.set()
        stream.close()
        raise
    finally:
        summary.wall_s = time.perf_counter() - start
        summary.failures, summary.errors = dict(failures), dict(errors)
    return summary


def load_campaign_marker(directory: Path) -> dict[str, Any]:
    marker = directory / "campaign.json"
    if not marker.is_file():
        raise DataError(f"{directory} holds no campaign; run `hallctl generate` first")
    return json.loads(marker.read_text())
