"""``hallctl plot``: samples, params, training, dataset, simulation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hallctl.cli.console import err
from hallctl.cli.options import SetOpt
from hallctl.project import PlotSection, load_project

__all__ = ["register"]

plot_app = typer.Typer(help="Figures: PNG, PDF or SVG by the output file's extension.", no_args_is_help=True)

OutOpt = Annotated[Path | None, typer.Option("-o", "--output", help="Figure file (.png, .pdf or .svg).",
                                             show_default=False)]
ProjOpt = Annotated[Path | None, typer.Option("--project", help="Project file for defaults (format, dpi, "
                                              "fields).", show_default=False)]


def _defaults(project_file: Path | None, set_: list[str] | None) -> PlotSection:
    from hallctl.commands.plot import figure_defaults

    return figure_defaults(load_project(project_file, set_ or []))


def _out(output: Path | None, source: Path, suffix: str, fmt: str) -> Path:
    return output or source.with_name(f"{source.stem}-{suffix}.{fmt}")


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


@plot_app.command("samples")
def samples(
    file: Annotated[Path, typer.Argument(help="Sample file written by `hallctl sample`.")],
    fields: Annotated[str | None, typer.Option("--fields", help="Comma-separated rows; derived: inverse_hall, "
                                               "anom_inverse_hall, nu_iz.", show_default=False)] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="Truth: sim.h5 or data/<split>.h5:<id>.",
                                                  show_default=False)] = None,
    observations: Annotated[Path | None, typer.Option("--observations", help="Observation CSV (default: the "
                                                      "observations stored with the samples).",
                                                      show_default=False)] = None,
    output: OutOpt = None, project: ProjOpt = None, set_: SetOpt = None,
) -> None:
    """Profiles along z: median with 50 % and 90 % bands, observations, reference.

    Example:
      hallctl plot samples runs/default/samples/obs.h5 --fields ui_1,Tev,nu_an,inverse_hall -o post.pdf
    """
    from hallctl.commands.plot import plot_samples

    d = _defaults(project, set_)
    path = plot_samples(file, _out(output, file, "profiles", d.format), fields=_split(fields) or d.fields,
                        reference=reference, observations=observations, dpi=d.dpi)
    err.print(f"wrote {path}", soft_wrap=True)


@plot_app.command("params")
def params(
    file: Annotated[Path, typer.Argument(help="Sample file written by `hallctl sample`.")],
    names: Annotated[str | None, typer.Option("--names", help="Comma-separated scalar rows (default: all).",
                                              show_default=False)] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="Truth: sim.h5 or data/<split>.h5:<id>.",
                                                  show_default=False)] = None,
    output: OutOpt = None, project: ProjOpt = None, set_: SetOpt = None,
) -> None:
    """Posterior marginals (and pairs) of the operating parameters and performance scalars.

    Example:
      hallctl plot params runs/default/samples/obs.h5 --names discharge_current_A,thrust_N
    """
    from hallctl.commands.plot import plot_params

    d = _defaults(project, set_)
    path = plot_params(file, _out(output, file, "params", d.format), names=_split(names), reference=reference,
                       dpi=d.dpi)
    err.print(f"wrote {path}", soft_wrap=True)


@plot_app.command("training")
def training(
    run_dir: Annotated[Path, typer.Argument(help="Run directory (runs/<name>) or its metrics.csv.")],
    output: OutOpt = None, project: ProjOpt = None, set_: SetOpt = None,
) -> None:
    """Loss and validation curves, learning rate, samples/s.

    Example:
      hallctl plot training runs/default -o training.png
    """
    from hallctl.commands.plot import plot_training

    d = _defaults(project, set_)
    target = output or (run_dir if run_dir.is_dir() else run_dir.parent) / f"training.{d.format}"
    err.print(f"wrote {plot_training(run_dir, target, dpi=d.dpi)}", soft_wrap=True)


@plot_app.command("dataset")
def dataset(
    file: Annotated[Path, typer.Argument(help="Normalized dataset or split file.")],
    output: OutOpt = None, project: ProjOpt = None, set_: SetOpt = None,
) -> None:
    """Profiles of every field, parameter histograms and the filter report of a dataset.

    Example:
      hallctl plot dataset data/normalized.h5
    """
    from hallctl.commands.plot import plot_dataset

    d = _defaults(project, set_)
    err.print(f"wrote {plot_dataset(file, _out(output, file, 'overview', d.format), dpi=d.dpi)}", soft_wrap=True)


@plot_app.command("simulation")
def simulation(
    file: Annotated[Path, typer.Argument(help="Simulation file written by `hallctl simulate -o`.")],
    fields: Annotated[str | None, typer.Option("--fields", help="Comma-separated profiles.",
                                               show_default=False)] = None,
    output: OutOpt = None, project: ProjOpt = None, set_: SetOpt = None,
) -> None:
    """Profiles and current/thrust time series of one simulation.

    Example:
      hallctl plot simulation sim.h5 --fields ui_1,Tev,phi,ne
    """
    from hallctl.commands.plot import plot_simulation

    d = _defaults(project, set_)
    path = plot_simulation(file, _out(output, file, "simulation", d.format), fields=_split(fields) or d.fields,
                           dpi=d.dpi)
    err.print(f"wrote {path}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(plot_app, name="plot")
