"""Functions the dask tests send to worker processes (importable there, unlike closures)."""

from __future__ import annotations

import os

from hallctl.generate.plan import CampaignPlan, sim_config_for
from hallctl.jobs import SimJob
from hallctl.sim import SimConfig


def config_or_die(plan: CampaignPlan, die_on: int, job: SimJob) -> SimConfig:
    """The job's configuration; the worker process exits abruptly on job ``die_on`` (a crash)."""
    if job.index == die_on:
        os._exit(1)
    return sim_config_for(plan, job)
