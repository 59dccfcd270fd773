"""``hallctl generate``: the [thruster], [simulation] and [generate] sections as a campaign, run."""

from __future__ import annotations

import os
from pathlib import Path

from hallctl.backends.dask import DaskSettings
from hallctl.cluster import SlurmArray, slurm_array_script
from hallctl.commands.common import parse_part, provenance
from hallctl.errors import CampaignError, ProjectError
from hallctl.generate.campaign import (
    CampaignStatus,
    CampaignSummary,
    campaign_identity,
    campaign_status,
    dry_run,
    run_campaign,
)
from hallctl.generate.plan import CampaignPlan
from hallctl.jobs import SimJob
from hallctl.parts import Part
from hallctl.project import PARAMETER_NAMES, Project
from hallctl.report import Reporter
from hallctl.sim.thruster import Thruster

__all__ = ["campaign_id", "campaign_plan", "dask_settings", "dry_run_lines", "parse_part", "preview", "raw_dir", "run",
           "slurm_script", "status", "thruster"]


def thruster(project: Project) -> Thruster:
    """The [thruster] section as a solver Thruster (custom thrusters read their B-field CSV)."""
    t = project.thruster
    if t.name == "spt100":
        return Thruster.spt100()
    if t.name == "spt100-hallthruster":
        return Thruster.spt100_hallthruster()
    if not t.bfield_csv:
        raise ProjectError("thruster.name = 'custom' needs thruster.bfield_csv (a CSV of z [m], B [T])")
    return Thruster.from_csv("custom", t.channel_length_m, t.inner_radius_m, t.outer_radius_m,
                             project.path(t.bfield_csv))


def campaign_plan(project: Project) -> CampaignPlan:
    """What determines the project's simulations: [simulation], the thruster, the priors, the seed."""
    return CampaignPlan(simulation=project.simulation, thruster=thruster(project),
                        priors=dict(project.generate.params), seed=project.generate.seed)


def raw_dir(project: Project) -> Path:
    """The campaign's folder, ``<data>/raw``."""
    return project.data_dir / "raw"


def campaign_id(project: Project) -> str:
    """The hash of the configuration that determines the campaign's results."""
    return str(campaign_identity(project.to_dict())["campaign_id"])


def preview(project: Project, n: int = 5) -> list[SimJob]:
    """The first ``n`` draws of the campaign (nothing is simulated or written)."""
    return dry_run(campaign_plan(project), min(n, project.generate.num_sims))


def dry_run_lines(project: Project, n: int = 3) -> list[str]:
    """``hallctl generate --dry-run``: the campaign, then each parameter's prior and its first ``n`` draws."""
    jobs, g = preview(project, n), project.generate
    lines = [f"campaign {campaign_id(project)}: {g.num_sims} simulations, seed {g.seed}, backend {g.backend}; "
             "nothing is simulated (--dry-run)",
             f"{'parameter':<28} {'prior':<44} " + " ".join(f"{'sim ' + str(j.index):>11}" for j in jobs)]
    for name in PARAMETER_NAMES:
        draws = " ".join(f"{j.params[name]:>11.4g}" for j in jobs)
        lines.append(f"{name:<28} {g.params[name].describe():<44} {draws}")
    return lines


def status(project: Project) -> CampaignStatus:
    """Which indices of the campaign are done, failed, errored or missing, over all parts' files."""
    return campaign_status(raw_dir(project), project.generate.num_sims)


def slurm_script(project: Project) -> str:
    """The [cluster] section as a Slurm array script running the campaign in parts."""
    if not project.source:
        raise ProjectError("--emit-slurm needs a project file the tasks can read; write one with `hallctl init`")
    c = project.cluster
    array = SlurmArray(array_size=c.array_size, cpus_per_task=c.cpus_per_task, time=c.time, account=c.account,
                       partition=c.partition, memory=c.memory, sbatch_options=tuple(c.sbatch_options),
                       setup=tuple(c.setup), log_dir=str(project.path(c.log_dir)))
    return slurm_array_script(array, project_file=str(Path(project.source).resolve()),
                              job_name=f"hallctl-{campaign_id(project)[:8]}")


def dask_settings(project: Project) -> DaskSettings | None:
    """[generate] executor/scheduler/dask_cluster and [cluster] as DaskSettings (None: local threads)."""
    g, c = project.generate, project.cluster
    if g.executor != "dask":
        return None
    if g.backend != "native":
        raise ProjectError(f"generate.executor = 'dask' runs the native solver; generate.backend = '{g.backend}' "
                           "runs on local threads only")
    local = g.dask_cluster == "local" and not g.scheduler
    return DaskSettings(workers=(g.threads or os.cpu_count() or 1) if local else c.array_size, scheduler=g.scheduler,
                        cluster=g.dask_cluster, cores=c.cpus_per_task, memory=c.memory or "4GB", account=c.account,
                        queue=c.partition, walltime=c.time)


def run(project: Project, *, force: bool = False, repair: bool = False, part: Part | None = None,
        report: Reporter | None = None) -> CampaignSummary:
    """Run (or continue) the project's campaign until ``generate.num_sims`` are finished.

    Raises:
        CampaignError: more than ``generate.max_error_fraction`` of the simulations run raised errors.
    """
    g = project.generate
    if project.simulation.anom_model != "profile":
        raise ProjectError(f"simulation.anom_model = '{project.simulation.anom_model}': a campaign draws the "
                           "six-parameter profile from the anom_* priors; set anom_model = 'profile' (fixed models "
                           "are for `hallctl simulate`)")
    summary = run_campaign(campaign_plan(project), g, raw_dir(project), campaign_identity(project.to_dict()),
                           provenance=provenance(project, seed=g.seed, command="generate"), force=force,
                           repair=repair, part=part, dask=dask_settings(project), report=report)
    if summary.ran and summary.num_errors > g.max_error_fraction * summary.ran:
        worst = max(summary.errors, key=summary.errors.__getitem__)
        raise CampaignError(f"{summary.num_errors} of the {summary.ran} simulations run raised errors (most: "
                            f"'{worst}'); the rest are saved in {summary.raw_dir}. Fix the cause and run the same "
                            "command again to retry them, or raise generate.max_error_fraction")
    return summary
