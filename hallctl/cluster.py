"""Job scripts for clusters: the Slurm array that runs a campaign as N independent parts.

Task i of the array runs ``hallctl generate <project> --shard i/N``: the campaign indices k with
k mod N = i, into the part's own shard files and lock, so tasks never contend on a shared
filesystem. Simulation k is fixed by (campaign seed, k), so the union of the parts is the same
campaign, bit for bit, as one run. Rerunning the array (or one task) finishes only what is missing.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SlurmArray", "slurm_array_script"]


@dataclass(frozen=True)
class SlurmArray:
    """What the array script asks Slurm for (the project's [cluster] section)."""

    array_size: int
    cpus_per_task: int
    time: str
    account: str = ""
    partition: str = ""
    memory: str = ""
    sbatch_options: Sequence[str] = ()
    setup: Sequence[str] = ()
    log_dir: str = "logs"


def slurm_array_script(array: SlurmArray, *, project_file: str, job_name: str, hallctl: str = "hallctl") -> str:
    """The sbatch script of a campaign run as ``array.array_size`` parts.

    Args:
        array: the resources of each task.
        project_file: the project file, as the tasks will see it (an absolute path).
        job_name: Slurm job name.
        hallctl: the command that runs hallctl on the nodes.
    """
    n = array.array_size
    lines = ["#!/bin/bash",
             f"#SBATCH --job-name={job_name}",
             f"#SBATCH --array=0-{n - 1}",
             "#SBATCH --ntasks=1",
             f"#SBATCH --cpus-per-task={array.cpus_per_task}",
             f"#SBATCH --time={array.time}",
             f"#SBATCH --output={array.log_dir}/%x-%A_%a.out"]
    for key, value in (("account", array.account), ("partition", array.partition), ("mem", array.memory)):
        if value:
            lines.append(f"#SBATCH --{key}={value}")
    lines += [f"#SBATCH {opt}" for opt in array.sbatch_options]
    lines += ["",
              f"# hallctl campaign in {n} parts: task i simulates the indices k with k mod {n} = i.",
              f"# Submit: mkdir -p {array.log_dir} && sbatch <this file>; progress: "
              f"{hallctl} generate {shlex.quote(project_file)} --status",
              "set -eo pipefail",
              *array.setup,
              f"{hallctl} generate {shlex.quote(project_file)} --shard \"${{SLURM_ARRAY_TASK_ID}}/{n}\" "
              "--threads \"${SLURM_CPUS_PER_TASK}\" --quiet"]
    return "\n".join(lines) + "\n"
