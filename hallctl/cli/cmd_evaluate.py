"""``hallctl evaluate``: coverage, CRPS and errors of posteriors on held-out simulations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hallctl.cli.console import RichReporter, err
from hallctl.cli.options import ProjectArg, QuietOpt, SetOpt
from hallctl.project import load_project

if TYPE_CHECKING:
    from hallctl.commands.evaluate import EvaluationResult

__all__ = ["register"]


def evaluate(
    project_file: ProjectArg = None,
    model: Annotated[Path | None, typer.Option("--model", "-m", help="Model file (default: runs/<run>/ema-<ema>"
                                               ".safetensors).", show_default=False)] = None,
    sweep: Annotated[list[str] | None, typer.Option("--sweep", help="Compare settings: key=v1,v2 (steps, sampler, "
                                                    "guidance, churn, sigma_max, num_samples; "
                                                    "repeatable).",
                                                    show_default=False)] = None,
    num_truths: Annotated[int | None, typer.Option("--num-truths", "-k", min=1, help="Held-out simulations.",
                                                   show_default=False)] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Split of the truths (val_small, val_large).",
                                                show_default=False)] = None,
    output_dir: Annotated[Path | None, typer.Option("--output-dir", help="Folder of evaluation.json and the "
                                                    "figure (default: <model folder>/evaluation).",
                                                    show_default=False)] = None,
    shard: Annotated[str | None, typer.Option("--shard", help="Score only part i of N of the truths (i/N; job "
                                              "arrays); join the parts with --merge.", show_default=False)] = None,
    merge: Annotated[bool, typer.Option("--merge", help="Join evaluation.part-*.json into evaluation.json; "
                                        "sample nothing.")] = False,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Draw posteriors for held-out truths from synthetic observations; report calibration and accuracy.

    Examples:
      hallctl evaluate --model runs/default/ema-0.1.safetensors
      hallctl evaluate configs/tiny.toml --sweep steps=32,64,128 --sweep guidance=mmps,dps
      hallctl evaluate big.toml --shard 2/8   (then, once all 8 ran: hallctl evaluate big.toml --merge)
    """
    from hallctl.commands import evaluate as ev
    from hallctl.commands.common import parse_part

    project = load_project(project_file, set_ or [], extra={"evaluate": {"num_truths": num_truths,
                                                                        "dataset": dataset}})
    reporter = RichReporter(quiet=quiet)
    if merge:
        result = ev.merge(project, model=model, output_dir=output_dir)
    else:
        result = ev.run(project, model=model, sweep=ev.parse_sweep(sweep or []), output_dir=output_dir,
                        part=parse_part(shard) if shard else None, report=reporter)
    show_evaluation(reporter, result)
    doc = json.loads(result.output_json.read_text())
    energy = result.energy_distance
    err.print(f"[green]done[/green]: {result.output_json}, {result.figure}"
              + (f"; unconditional energy distance to {doc['dataset']}: {energy:.4g}" if energy is not None else ""),
              soft_wrap=True)


def show_evaluation(reporter: RichReporter, result: EvaluationResult) -> None:
    """The two tables of an evaluation: one line per posterior, then one per row."""
    from hallctl.evaluation import TABLE_COLUMNS

    reporter.table("evaluation (pooled over rows, ± s.e. over truths; coverage calibrated at 0.5 / 0.9; CRPS "
                   "in normalized units; known scalars in units of their observation sigma)", TABLE_COLUMNS,
                   result.table)
    reporter.table("per row: error of the posterior median in physical units (relative L2 for profiles), "
                   "90 % coverage", result.fields_columns, result.fields_table)


def register(app: typer.Typer) -> None:
    app.command()(evaluate)
