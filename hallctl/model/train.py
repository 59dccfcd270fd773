"""The training loop: EDM2 loss, Adam, inverse-√t learning rate, power-function EMA (docs/model.md §4-6).

Per step: draw a batch, σ per example and noise; loss; backward; gradient norm (steps with a
non-finite gradient are skipped and counted); optional clipping; Adam with α(t); EMA updates.
Every ``val_every_nimg`` images: validation at a fixed σ grid with fixed noise for the raw and EMA
weights, one row of ``metrics.csv``. Durations are counted in images (edm2's ``nimg``), so a new
batch size does not rescale any schedule. Every random draw is a function of (seed, nimg), which
makes a resumed run bitwise identical to an uninterrupted one on the CPU.

Outputs in ``run_dir``: training_options.json (first), metrics.csv, checkpoint/state.pt,
ema-snapshots/, model.safetensors (raw weights) and ema-<std>.safetensors.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from hallctl import __version__
from hallctl.errors import ModelError
from hallctl.model.build import build_precond
from hallctl.model.checkpoint import CHECKPOINT
from hallctl.model.distributed import Ranks, setup, teardown
from hallctl.model.ema import SNAPSHOT_DIR
from hallctl.model.loop import Trainer
from hallctl.model.runtime import resolve_amp, resolve_device
from hallctl.model.settings import ModelConfig, TrainSettings
from hallctl.report import Reporter, resolve

__all__ = ["TrainSettings", "TrainSummary", "train"]


@dataclass
class TrainSummary:
    """What a training call did; ``str(summary)`` is the one-line summary."""

    run_dir: Path
    nimg: int
    steps: int
    resumed_from_nimg: int | None
    wall_s: float
    samples_per_s: float
    train_loss: float
    val_loss_raw: float
    val_loss_ema: float
    nonfinite_steps: int
    device: str
    amp: str
    compiled: bool
    outputs: list[Path] = field(default_factory=list)
    processes: int = 1
    rank: int = 0  # this process's rank (only rank 0 writes files)

    def __str__(self) -> str:
        resumed = f" (resumed at {self.resumed_from_nimg})" if self.resumed_from_nimg else ""
        return (
            f"trained to {self.nimg} images{resumed} in {self.wall_s:.0f} s on {self.device} "
            f"({self.samples_per_s:.0f} samples/s, amp {self.amp}); loss {self.train_loss:.4g}, "
            f"val raw {self.val_loss_raw:.4g} / EMA {self.val_loss_ema:.4g}; "
            f"{self.nonfinite_steps} non-finite steps skipped -> {self.run_dir}"
        )


def _check_data(train_data: Tensor, val_data: Tensor | None, labels: Tensor | None, val_labels: Tensor | None,
                cfg: ModelConfig) -> None:
    for name, t in (("training data", train_data), ("validation data", val_data)):
        if t is not None and (not isinstance(t, torch.Tensor) or t.ndim != 3 or t.shape[0] == 0):
            raise ModelError(f"{name} must be a non-empty float tensor of shape (N, rows, length)")
    if val_data is not None and val_data.shape[1:] != train_data.shape[1:]:
        raise ModelError(
            f"validation data has {tuple(val_data.shape[1:])} rows × points, training data "
            f"{tuple(train_data.shape[1:])}; split them from the same dataset"
        )
    for name, lab, data in (("labels", labels, train_data), ("validation labels", val_labels, val_data)):
        if cfg.label_dim == 0 and lab is not None:
            raise ModelError(f"{name} given but model.label_dim = 0; set label_dim or drop the labels")
        if (
            cfg.label_dim > 0
            and data is not None
            and (lab is None or lab.ndim != 2 or lab.shape != (data.shape[0], cfg.label_dim))
        ):
            raise ModelError(
                f"model.label_dim = {cfg.label_dim} needs {name} of shape ({data.shape[0]}, "
                f"{cfg.label_dim}); got {None if lab is None else tuple(lab.shape)}"
            )


def _write_options(
    run_dir: Path, settings: TrainSettings, model_config: ModelConfig, trainer: Trainer, val_data: torch.Tensor | None
) -> None:
    """training_options.json: the resolved settings, written before the first step."""
    N, rows, length = trainer.shape
    resolved = {
        **asdict(settings),
        "seed": trainer.seed,
        "device": str(trainer.device),
        "amp": trainer.amp,
        "num_threads": torch.get_num_threads(),
        "compile": trainer.runner.active,
    }
    options = {
        "settings": resolved,
        "model_config": model_config.to_dict(),
        "data": {
            "num_examples": N,
            "rows": rows,
            "length": length,
            "num_val": None if val_data is None else int(val_data.shape[0]),
        },
        "seed": trainer.seed,
        "resumed_from_nimg": trainer.resumed_from,
        "hallctl_version": __version__,
        "torch_version": torch.__version__,
    }
    (run_dir / "training_options.json").write_text(json.dumps(options, indent=2) + "\n")


def train(
    train_data: torch.Tensor,
    val_data: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    *,
    model_config: ModelConfig,
    settings: TrainSettings,
    run_dir: Path,
    dataset_meta: dict,
    restart: bool = False,
    report: Reporter | None = None,
    val_labels: torch.Tensor | None = None,
) -> TrainSummary:
    """Train (or resume training) the EDM2 prior on normalized data held in memory.

    Args:
        train_data: x, (N, C, W) float32, each row normalized to std σ_d.
        val_data: (N_val, C, W) for the fixed-σ validation loss; None = a fixed subset of train_data.
        labels: (N, P) labels when model_config.label_dim = P > 0, else None.
        model_config: the [model] section.
        settings: the [train] section.
        run_dir: the run directory (created; an existing checkpoint there is resumed).
        dataset_meta: JSON-serializable dataset description (row names, grid, normalization),
            stored in every model file so sampling needs nothing else.
        restart: discard an existing checkpoint, snapshots and metrics and start over.
        report: progress sink; None = silent.
        val_labels: (N_val, P) labels of ``val_data`` when label_dim > 0.

    Returns:
        a TrainSummary.

    Raises:
        ModelError: bad shapes or settings, a length not divisible by 2^(levels − 1), or a
            checkpoint that does not match the data or the model config.
        KeyboardInterrupt: after saving a checkpoint.
    """
    _check_data(train_data, val_data, labels, val_labels, model_config)
    if model_config.control and not {"control_template", "normalization"} <= set(dataset_meta):
        raise ModelError("an amortized model (model control) needs dataset_meta['control_template'] and "
                         "['normalization']: the observation sets it trains on")
    try:
        json.dumps(dataset_meta)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"dataset metadata is not JSON-serializable ({exc}); pass plain lists/numbers") from exc
    build_precond(model_config, train_data.shape[1], train_data.shape[2])  # checks the length first
    device = resolve_device(settings.device)
    amp_dtype = resolve_amp(settings.amp, device)
    ranks = Ranks.from_env()  # several processes under torchrun: data-parallel (hallctl.model.distributed)
    if ranks.active:
        device = setup(ranks, device, settings.batch_size)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if restart and ranks.main:
        shutil.rmtree(run_dir / CHECKPOINT.parent, ignore_errors=True)
        shutil.rmtree(run_dir / SNAPSHOT_DIR, ignore_errors=True)
        (run_dir / "metrics.csv").unlink(missing_ok=True)
    if ranks.active:
        torch.distributed.barrier()  # the others resume only after rank 0 cleared a restarted run
    threads = torch.get_num_threads()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    try:
        trainer = Trainer(
            train_data,
            val_data,
            labels,
            val_labels,
            cfg=model_config,
            settings=settings,
            run_dir=run_dir,
            dataset_meta=dataset_meta,
            device=device,
            amp_dtype=amp_dtype,
            report=resolve(report) if ranks.main else Reporter(),
            ranks=ranks,
        )  # checks a checkpoint in run_dir against the data and the config first
        if ranks.main:
            _write_options(run_dir, settings, model_config, trainer, val_data)
            if trainer.runner.active:
                trainer.report.info("train.compile: torch.compile builds the U-Net's graphs during the first two "
                                    "steps (minutes: 3-6 for the small configuration on a 2-core CPU)")
        return TrainSummary(**trainer.run())
    finally:
        torch.set_num_threads(threads)
        if ranks.active:
            teardown()
