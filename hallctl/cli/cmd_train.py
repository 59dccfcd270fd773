"""``hallctl train``: train the diffusion prior; post-hoc EMA reconstructions."""

from __future__ import annotations

from typing import Annotated

import typer

from hallctl.cli.console import RichReporter, err
from hallctl.cli.options import ProjectArg, QuietOpt, SetOpt
from hallctl.errors import ProjectError
from hallctl.project import load_project

__all__ = ["register"]


def _stds(text: str | None) -> list[float] | None:
    if not text:
        return None
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ProjectError(f"--posthoc-ema {text!r}: give EMA lengths as numbers, e.g. 0.05,0.1") from None
    if not values or any(not 0 < v < 0.28 for v in values):  # σ_rel of γ = 0 is 0.2887: the longest EMA
        raise ProjectError(f"--posthoc-ema {text!r}: EMA lengths must lie in (0, 0.28), e.g. 0.05,0.1")
    return values


def train(
    project_file: ProjectArg = None,
    restart: Annotated[bool, typer.Option("--restart", help="Discard the checkpoint and start over.")] = False,
    posthoc_ema: Annotated[str | None, typer.Option("--posthoc-ema", help="Also reconstruct these EMA lengths "
                                                    "from the snapshots, e.g. 0.05,0.1.", show_default=False)] = None,
    duration_nimg: Annotated[int | None, typer.Option("--duration-nimg", min=1, help="Training length in images.",
                                                      show_default=False)] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, help="Examples per step.",
                                                   show_default=False)] = None,
    device: Annotated[str | None, typer.Option("--device", help="auto, cpu, cuda or mps.", show_default=False)] = None,
    run_name: Annotated[str | None, typer.Option("--name", help="Run name (runs/<name>/).", show_default=False)] = None,
    set_: SetOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train the EDM2 prior on the training split; resumes from runs/<name>/checkpoint automatically.

    Examples:
      hallctl train configs/small.toml
      hallctl train configs/tiny.toml --restart --set train.lr_ref=0.005
      hallctl train --posthoc-ema 0.05,0.1,0.15
      torchrun --standalone --nproc-per-node 4 -m hallctl train configs/medium.toml   (data-parallel)
    """
    from hallctl.commands import train as trainer

    project = load_project(project_file, set_ or [], extra={
        "train": {"duration_nimg": duration_nimg, "batch_size": batch_size, "device": device},
        "paths": {"run_name": run_name}})
    summary, extra = trainer.run(project, restart=restart, posthoc_stds=_stds(posthoc_ema),
                                 report=RichReporter(quiet=quiet))
    if summary.rank:  # data-parallel: rank 0 reports for all
        return
    err.print(f"[green]done[/green]: {summary.nimg} images in {summary.steps} steps on {summary.device} "
              f"({summary.samples_per_s:.4g} samples/s, {summary.wall_s:.1f} s); train loss {summary.train_loss:.4g}, "
              f"validation loss raw {summary.val_loss_raw:.4g} / EMA {summary.val_loss_ema:.4g}; "
              f"files in {summary.run_dir}", soft_wrap=True)
    for path in extra:
        err.print(f"wrote {path}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(train)
