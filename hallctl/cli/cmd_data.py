"""``hallctl normalize`` and ``hallctl split``: from raw shards to training files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hallctl.cli.console import RichReporter, err
from hallctl.cli.options import ProjectArg, QuietOpt, SetOpt
from hallctl.project import load_project

__all__ = ["register"]


def normalize(
    project_file: ProjectArg = None,
    norm_from: Annotated[Path | None, typer.Option("--norm-from", help="Reuse the normalization of this "
                                                   "dataset file.", show_default=False)] = None,
    resolution: Annotated[int | None, typer.Option("--resolution", help="Model grid points (0 = keep the "
                                                   "simulation grid).", min=0, show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file (default "
                                                "<data>/normalized.h5).", show_default=False)] = None,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Filter outliers (counted by reason), log-transform positive fields, z-score every row.

    Examples:
      hallctl normalize
      hallctl normalize --resolution 64 --norm-from old/normalized.h5
    """
    from hallctl.commands import normalize as norm

    project = load_project(project_file, set_ or [], extra={"normalize": {"resolution": resolution}})
    reporter = RichReporter(quiet=quiet)
    summary = norm.run(project, norm_from=norm_from, output=output, report=reporter)
    rep = summary.report
    rows = [[f"simulation {k}", v] for k, v in rep["failed_simulations"].items()]
    rows += [[k, v] for k, v in rep["removed"].items()]
    rows.append(["kept", rep["kept"]])
    reporter.table(f"filter report ({rep['total']} records)", ["reason", "count"], rows)
    err.print(f"[green]done[/green]: {summary.kept} of {summary.total} simulations in {summary.output}; "
              f"normalization table {summary.table_csv}", soft_wrap=True)


def split(
    project_file: ProjectArg = None,
    val_small: Annotated[float | None, typer.Option("--val-small", help="Fraction in the small validation set.",
                                                    show_default=False)] = None,
    val_large: Annotated[float | None, typer.Option("--val-large", help="Fraction in the large validation set.",
                                                    show_default=False)] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Split seed.", show_default=False)] = None,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Split the normalized set into train, val_small and val_large (stable, seeded).

    Examples:
      hallctl split
      hallctl split --val-small 0.01 --val-large 0.1
    """
    from hallctl.commands import split as splitter

    project = load_project(project_file, set_ or [], extra={"split": {
        "val_small": val_small, "val_large": val_large, "seed": seed}})
    summary = splitter.run(project, report=RichReporter(quiet=quiet))
    sizes = ", ".join(f"{k} {v}" for k, v in summary.sizes.items())
    err.print(f"[green]done[/green]: {sizes}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(normalize)
    app.command()(split)
