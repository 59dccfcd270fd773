"""Registers every command on one Typer app; the commands live one group per module."""

from __future__ import annotations

from typing import Annotated

import typer

from hallctl import __version__
from hallctl.cli import state

__all__ = ["app"]

app = typer.Typer(
    name="hallctl",
    help="Hall-thruster simulation campaigns and diffusion-model inference in one tool.\n\n"
         "Typical job: hallctl init; hallctl generate; hallctl normalize; hallctl split; hallctl train; "
         "hallctl sample --condition obs.csv; hallctl plot samples ...  or all at once: hallctl pipeline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hallctl {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """hallctl: simulate Hall thrusters, train a diffusion prior, infer hidden plasma state."""
    state.debug = state.debug or debug


def _register() -> None:
    from hallctl.cli import (
        cmd_data,
        cmd_evaluate,
        cmd_generate,
        cmd_pipeline,
        cmd_plot,
        cmd_project,
        cmd_sample,
        cmd_simulate,
        cmd_train,
    )

    for module in (cmd_project, cmd_simulate, cmd_generate, cmd_data, cmd_train, cmd_sample, cmd_plot,
                   cmd_evaluate, cmd_pipeline):
        module.register(app)


_register()
