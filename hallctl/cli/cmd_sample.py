"""``hallctl sample``: unconditional or observation-conditioned samples in physical units."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hallctl.cli.console import RichReporter, err
from hallctl.cli.options import ProjectArg, QuietOpt, SetOpt
from hallctl.project import load_project

__all__ = ["register"]


def sample(
    project_file: ProjectArg = None,
    condition: Annotated[Path | None, typer.Option("--condition", "-c", help="Observation CSV "
                                                   "(field,z,value,std[,rel_std]); none = unconditional.",
                                                   show_default=False)] = None,
    model: Annotated[Path | None, typer.Option("--model", "-m", help="Model file (default: runs/<run>/ema-<ema>"
                                               ".safetensors).", show_default=False)] = None,
    ema: Annotated[float | None, typer.Option("--ema", help="EMA length of the weights (0 = raw).",
                                              show_default=False)] = None,
    num_samples: Annotated[int | None, typer.Option("--num-samples", "-n", min=1, show_default=False,
                                                    help="Samples to draw.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, help="Samples per batch.",
                                                   show_default=False)] = None,
    steps: Annotated[int | None, typer.Option("--steps", min=1, help="Sampler steps.", show_default=False)] = None,
    sampler: Annotated[str | None, typer.Option("--sampler", help="euler, heun, midpoint, ralston or dpmpp_2m.",
                                                show_default=False)] = None,
    guidance: Annotated[str | None, typer.Option("--guidance", help="mmps, dps or none.", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Sampling seed.", show_default=False)] = None,
    device: Annotated[str | None, typer.Option("--device", help="auto, cpu, cuda or mps.", show_default=False)] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Output name samples/<tag>.h5.", show_default=False)] = None,
    fix: Annotated[list[str] | None, typer.Option("--fix", help="Fix a known scalar exactly: name=value "
                                                  "(repeatable).", show_default=False)] = None,
    output_dir: Annotated[Path | None, typer.Option("--output-dir", help="Folder of the outputs (default: "
                                                    "<model folder>/samples).", show_default=False)] = None,
    shard: Annotated[str | None, typer.Option("--shard", help="Draw only part i of N of the samples (i/N; job "
                                              "arrays); join the parts with --merge.", show_default=False)] = None,
    merge: Annotated[bool, typer.Option("--merge", help="Join the parts <tag>.part-*.h5 into <tag>.h5 with its "
                                        "summaries; draw nothing.")] = False,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Draw posterior samples of the full plasma state from sparse observations (or prior samples).

    Examples:
      hallctl sample --condition examples/observations.csv
      hallctl sample configs/small.toml --condition obs.csv --steps 64 --guidance dps --ema 0.05
      hallctl sample --num-samples 256 --fix discharge_voltage_v=300
      hallctl sample -c obs.csv -n 4096 --shard 3/8   (then, once all 8 ran: hallctl sample -c obs.csv --merge)
    """
    from hallctl.commands import sample as posterior
    from hallctl.commands.common import parse_part

    project = load_project(project_file, set_ or [], extra={"sample": {
        "ema": ema, "num_samples": num_samples, "batch_size": batch_size, "steps": steps, "sampler": sampler,
        "guidance": guidance, "seed": seed, "device": device, "tag": tag}})
    reporter = RichReporter(quiet=quiet)
    if merge:
        s = posterior.merge(project, condition=condition, model=model, output_dir=output_dir)
        err.print(f"[green]done[/green]: {s.samples_file}; summaries {s.summary_csv}, {s.scalars_csv}", soft_wrap=True)
        return
    part = parse_part(shard) if shard else None
    s = posterior.run(project, model=model, condition=condition, fixed_items=fix, output_dir=output_dir, part=part,
                      report=reporter)
    reporter.table("scalars (physical units)", ["name", "unit", "mean", "std", "q05", "q50", "q95"],
                   [[r[0], r[1], r[2], r[3], r[4], r[6], r[8]] for r in s.scalars])
    if s.fit is not None:
        reporter.table("fit to the observations", s.fit.columns, s.fit.rows)
        err.print(s.fit.summary(), soft_wrap=True)
    summaries = f"summaries {s.summary_csv}, {s.scalars_csv}" if s.summary_csv else "summaries after --merge"
    err.print(f"[green]done[/green]: {s.samples_file} ({s.nfe_per_sample} network evaluations per sample); "
              f"{summaries}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(sample)
