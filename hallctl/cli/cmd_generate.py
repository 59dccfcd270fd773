"""``hallctl generate``: run a random simulation campaign."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hallctl.cli.console import RichReporter, err
from hallctl.cli.options import ProjectArg, QuietOpt, SetOpt
from hallctl.project import Project, load_project

if TYPE_CHECKING:
    from hallctl.generate.campaign import CampaignStatus

__all__ = ["register"]


def generate(
    project_file: ProjectArg = None,
    num_sims: Annotated[int | None, typer.Option("-n", "--num-sims", help="Simulations in the campaign.",
                                                 min=1, show_default=False)] = None,
    threads: Annotated[int | None, typer.Option("-t", "--threads", help="Worker threads (0 = all cores).",
                                                min=0, show_default=False)] = None,
    backend: Annotated[str | None, typer.Option("--backend", help="native or julia.", show_default=False)] = None,
    executor: Annotated[str | None, typer.Option("--executor", help="threads (this machine) or dask "
                                                 "(pip install 'hallctl\\[dask]').", show_default=False)] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="dask: a running scheduler's address, "
                                                  "e.g. tcp://host:8786.", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Campaign seed.", min=0, show_default=False)] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a campaign (the default behaviour: "
                                         "finished indices are never redone).")] = True,
    force: Annotated[bool, typer.Option("--force", help="Move aside a campaign of another configuration.")] = False,
    repair: Annotated[bool, typer.Option("--repair", help="Move unreadable shards to raw/damaged/ and simulate "
                                         "their indices again (default: stop and name them).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run",
                                          help="Print the priors and a few draws; simulate nothing.")] = False,
    shard: Annotated[str | None, typer.Option("--shard", help="Run only part i of N (i/N, e.g. a Slurm array "
                                              "task's ${SLURM_ARRAY_TASK_ID}/16): the indices k with k mod N = i, "
                                              "in the part's own files.", show_default=False)] = None,
    status: Annotated[bool, typer.Option("--status", help="Show which indices are done, failed, errored or "
                                         "missing, over all parts; simulate nothing.")] = False,
    emit_slurm: Annotated[bool, typer.Option("--emit-slurm", help="Print a Slurm array script for the campaign "
                                             "(\\[cluster] section); simulate nothing.")] = False,
    status_file: Annotated[Path | None, typer.Option("--status-file", help="Also write the progress line "
                                                     "to this file (headless runs).", show_default=False)] = None,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run N simulations with parameters drawn from the priors; store every outcome in shards.

    Examples:
      hallctl generate -n 128 -t 8
      hallctl generate configs/tiny.toml --dry-run
      hallctl generate --backend julia -n 1000 --status-file status.txt
      hallctl generate big.toml --emit-slurm > campaign.sbatch   (then: sbatch campaign.sbatch)
      hallctl generate big.toml --shard 3/16 -t 8
      hallctl generate big.toml --status
      hallctl generate -n 1000 --executor dask --scheduler tcp://head-node:8786
    """
    from hallctl.commands import generate as command

    project = load_project(project_file, set_ or [], extra={"generate": {
        "num_sims": num_sims, "threads": threads, "backend": backend, "seed": seed, "executor": executor,
        "scheduler": scheduler}})
    if dry_run:
        _print_dry_run(project)
        return
    if emit_slurm:
        typer.echo(command.slurm_script(project), nl=False)
        return
    if status:
        _print_status(command.status(project))
        return
    part = command.parse_part(shard) if shard else None
    reporter = RichReporter(quiet=quiet, status_file=status_file)
    summary = command.run(project, force=force, repair=repair, part=part, report=reporter)
    failed = ", ".join(f"{k}: {v}" for k, v in summary.failures.items()) or "none"
    errors = f", errors (retried on resume) {summary.num_errors}" if summary.errors else ""
    err.print(f"[green]done[/green]: {summary.num_sims} simulations in {summary.raw_dir} "
              f"({summary.already_done} earlier, {summary.ran} now: {summary.successes} ok, failures {failed}"
              f"{errors}; {summary.sims_per_s:.3g} sims/s on {summary.threads} threads)", soft_wrap=True)


def _ranges(indices: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] → "0-2, 5, 7-8" (at most 12 runs shown)."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    text = ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs[:12])
    return text + (f", … ({len(runs) - 12} more runs)" if len(runs) > 12 else "")


def _print_status(st: CampaignStatus) -> None:
    counts = ", ".join(f"{k} {v}" for k, v in sorted(st.counts.items())) or "nothing yet"
    typer.echo(f"{st.num_sims} simulations in {st.shards} shard files: {counts}, missing {len(st.missing)}")
    if st.missing:
        typer.echo(f"missing: {_ranges(st.missing)}")
    if st.errors:
        typer.echo(f"errored (retried by the next run): {_ranges(st.errors)}")
    typer.echo("complete" if st.complete else "incomplete: run the same command (or the same array) again")


def _print_dry_run(project: Project) -> None:
    from hallctl.commands import generate as command

    for line in command.dry_run_lines(project, 3):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.command()(generate)
