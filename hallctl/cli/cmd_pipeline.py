"""``hallctl pipeline``: the whole job in one command, resuming where it stopped."""

from __future__ import annotations

from typing import Annotated

import typer

from hallctl.cli.console import RichReporter, err
from hallctl.cli.options import ProjectArg, QuietOpt, SetOpt
from hallctl.project import load_project

__all__ = ["register"]


def pipeline(
    project_file: ProjectArg = None,
    force: Annotated[bool, typer.Option("--force", help="Move aside a campaign of another configuration.")] = False,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Generate, normalize, split, train, evaluate and draw the standard figures; up-to-date stages are skipped.

    Examples:
      hallctl pipeline configs/tiny.toml
      hallctl pipeline configs/small.toml --set generate.num_sims=20000
    """
    from hallctl.commands import pipeline as pipe

    project = load_project(project_file, set_ or [])
    reporter = RichReporter(quiet=quiet)
    summary = pipe.run(project, force=force, report=reporter)
    reporter.table("pipeline", ["stage", "status", "seconds"], [list(s) for s in summary.stages])
    if summary.evaluation_result is not None:
        from hallctl.cli.cmd_evaluate import show_evaluation

        show_evaluation(reporter, summary.evaluation_result)
    err.print(f"[green]done[/green]: evaluation {summary.evaluation}", soft_wrap=True)
    for path in summary.figures:
        err.print(f"figure {path}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(pipeline)
