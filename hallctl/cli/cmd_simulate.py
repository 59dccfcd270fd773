"""``hallctl simulate``: one simulation with a progress bar, a performance table and files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hallctl.cli.console import RichReporter, err, print_error
from hallctl.cli.options import ProjectArg, QuietOpt, SetOpt
from hallctl.project import load_project

__all__ = ["register"]


def simulate(
    project_file: ProjectArg = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Campaign parameter name=value "
                                                    "(repeatable), e.g. discharge_voltage_v=300.",
                                                    show_default=False)] = None,
    hallthruster_json: Annotated[Path | None, typer.Option("--hallthruster-json", help="Run a HallThruster.jl "
                                                           "JSON input unchanged.", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Add the GP perturbation of the anomalous profile, "
                                             "drawn with this seed.", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write profiles and time series "
                                                "(HDF5).", show_default=False)] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Also write <output>_profiles.csv and _series.csv.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print performance and status as one JSON object.")] = False,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run one simulation: the project's nominal point with --param overrides, or a HallThruster.jl input.

    Examples:
      hallctl simulate --param discharge_voltage_v=300 --param anode_mass_flow_rate_kg_s=5e-6 -o sim.h5
      hallctl simulate --hallthruster-json input.json --json
      hallctl simulate configs/tiny.toml -o sim.h5 --csv
    """
    from hallctl.commands import simulate as single

    project = load_project(project_file, set_ or [])
    params = single.parse_params(param or [])
    reporter = RichReporter(quiet=quiet or as_json)
    if csv and output is None:
        output = Path("simulation.h5")
    result, _ = single.run(project, params=params, seed=seed, hallthruster_json=hallthruster_json,
                           output=output, report=reporter)
    written = [output] if output else []
    if csv and output is not None:
        written += single.write_csv(result, output.with_suffix(""))
    perf = result.performance
    if as_json:
        record = {k: perf.get(k) for k in single.JSON_KEYS}
        record.update(status=result.status, reason=result.reason, steps=result.steps, wall_s=result.wall_s)
        typer.echo(json.dumps(record, allow_nan=True))
    else:
        reporter.table(f"performance ({result.status}{': ' + result.reason if result.reason else ''})",
                       ["quantity", "value"], [[k, perf.get(k)] for k in single.JSON_KEYS]
                       + [["steps", result.steps], ["wall_s", result.wall_s], ["compile_s", result.compile_s]])
        for path in written:
            err.print(f"wrote {path}", soft_wrap=True)
    if result.status != "success":
        if not as_json:
            print_error(f"the simulation ended with {result.status}: {result.reason}; files hold the frames "
                        "saved before it stopped; try other parameters or a smaller simulation.cfl")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(simulate)
