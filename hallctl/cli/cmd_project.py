"""Project-file commands: ``init``, ``config show``, ``config check``, ``doctor``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hallctl.cli.console import err, out
from hallctl.cli.options import ProjectArg, SetOpt
from hallctl.commands.doctor import run_checks
from hallctl.commands.project import render_project, write_project_file
from hallctl.project import load_project

__all__ = ["register"]

config_app = typer.Typer(help="Show or check the resolved project configuration.", no_args_is_help=True)


def init(
    path: Annotated[Path, typer.Argument(help="Where to write the project file.")] = Path("hallctl.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    set_: SetOpt = None,
) -> None:
    """Write a complete, commented project file with the built-in defaults.

    Examples:
      hallctl init
      hallctl init myproject.toml --set generate.num_sims=1000
    """
    project = load_project(None, set_ or []) if set_ else None
    written = write_project_file(path, project=project, force=force)
    err.print(f"wrote {written}; edit it, then check it with `hallctl config check {written}`")


@config_app.command("show")
def show(project_file: ProjectArg = None, set_: SetOpt = None,
         comments: Annotated[bool, typer.Option(help="Include the description of each key.")] = False) -> None:
    """Print the resolved configuration (defaults < file < --set) as TOML.

    Example:
      hallctl config show configs/tiny.toml --set train.batch_size=32
    """
    project = load_project(project_file, set_ or [])
    typer.echo(render_project(project, comments=comments), nl=False)


@config_app.command("check")
def check(project_file: ProjectArg = None, set_: SetOpt = None) -> None:
    """Validate a project file: syntax, unknown keys, types and ranges.

    Example:
      hallctl config check configs/small.toml
    """
    project = load_project(project_file, set_ or [])
    err.print(f"[green]ok[/green]: {project.source or 'built-in defaults'} is a valid hallctl project")


def doctor(project_file: ProjectArg = None, set_: SetOpt = None) -> None:
    """Report versions, devices, the Julia backend and the project file's validity.

    Example:
      hallctl doctor
    """
    from rich.table import Table

    table = Table(title="hallctl doctor", title_justify="left")
    table.add_column("check")
    table.add_column("result")
    table.add_column("", justify="center")
    worst = 0
    for name, value, ok in run_checks(project_file, set_ or []):
        mark = {True: "[green]ok[/green]", False: "[red]problem[/red]", None: "[yellow]-[/yellow]"}[ok]
        table.add_row(name, value, mark)
        worst = max(worst, 1 if ok is False else 0)
    out.print(table)
    if worst:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.add_typer(config_app, name="config")
    app.command()(doctor)
