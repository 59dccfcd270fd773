"""The training loop: EDM2 loss, Adam, inverse-√t learning rate, power-function EMA (model.md §4-6).

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

from hallctl import __version__
from hallctl.errors import ModelError
from hallctl.model.checkpoint import CHECKPOINT
from hallctl.model.config import ModelConfig, build_precond
from hallctl.model.ema import SNAPSHOT_DIR
from hallctl.model.runtime import resolve_amp, resolve_device
from hallctl.model.trainer import Trainer
from hallctl.report import Reporter, resolve

__all__ = ["TrainSettings", "TrainSummary", "train"]


@dataclass(frozen=True)
class TrainSettings:
    """Optimization and bookkeeping settings (the project file's [train] section; model.md §4-6).

    Attributes:
        duration_nimg: training length in images.
        batch_size: examples per optimizer step.
        lr_ref: α_ref of the inverse-√t schedule.
        lr_ref_nimg: t_ref in images (α ∝ 1/√t beyond it; 0 = constant).
        lr_rampup_nimg: linear warm-up length in images (0 = none).
        betas, eps: Adam's (β₁, β₂) and ε; no weight decay (forced weight normalization).
        grad_clip: clip the global gradient norm to this value; None = no clipping (EDM2).
        ema_stds: σ_rel of the tracked power-function EMA profiles; () = off.
        ema_snapshot_every_nimg: images between EMA snapshots for post-hoc reconstruction.
        fixed_ema_decay: per-step decay β of an additional classic EMA; None = off.
        checkpoint_every_nimg: images between checkpoints.
        val_every_nimg: images between validations (rows of metrics.csv).
        val_sigmas: the fixed σ grid of the validation loss.
        seed: the seed every random draw derives from.
        device: "auto" (cuda, mps, cpu) or a torch device name.
        amp: "auto" (bf16 on CUDA and on CPUs with native bf16), "bf16" or "off" (float32).
        compile: torch.compile the U-Net (falls back to eager mode if compiling fails).
        num_threads: CPU threads for torch (None = leave as is).
    """

    duration_nimg: int = 10_000_000
    batch_size: int = 512
    lr_ref: float = 0.01
    lr_ref_nimg: int = 2_000_000
    lr_rampup_nimg: int = 200_000
    betas: tuple[float, float] = (0.9, 0.99)
    eps: float = 1e-8
    grad_clip: float | None = None
    ema_stds: tuple[float, ...] = (0.05, 0.1)
    ema_snapshot_every_nimg: int = 250_000
    fixed_ema_decay: float | None = None
    checkpoint_every_nimg: int = 500_000
    val_every_nimg: int = 100_000
    val_sigmas: tuple[float, ...] = (0.01, 0.05, 0.2, 0.5, 1.0, 2.0, 5.0)
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"
    compile: bool = False
    num_threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("betas", "ema_stds", "val_sigmas"):
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
        positive = (
            "duration_nimg",
            "batch_size",
            "ema_snapshot_every_nimg",
            "checkpoint_every_nimg",
            "val_every_nimg",
            "lr_ref",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ModelError(f"train.{name} = {getattr(self, name)!r} must be positive")
        if self.lr_ref_nimg < 0 or self.lr_rampup_nimg < 0:
            raise ModelError("train.lr_ref_nimg and train.lr_rampup_nimg must be >= 0 (0 = off)")
        if not all(0 < b < 1 for b in self.betas) or len(self.betas) != 2:
            raise ModelError(f"train.betas = {self.betas} must be two numbers in (0, 1)")
        if any(not 0 < s < 0.28 for s in self.ema_stds):
            raise ModelError(f"train.ema_stds = {self.ema_stds}: each σ_rel must lie in (0, 0.28)")
        if self.fixed_ema_decay is not None and not 0 <= self.fixed_ema_decay < 1:
            raise ModelError(f"train.fixed_ema_decay = {self.fixed_ema_decay} must lie in [0, 1)")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ModelError(f"train.grad_clip = {self.grad_clip} must be positive (or unset)")
        if any(s <= 0 for s in self.val_sigmas) or not self.val_sigmas:
            raise ModelError(f"train.val_sigmas = {self.val_sigmas} must be positive noise levels")
        if self.num_threads is not None and self.num_threads < 1:
            raise ModelError(f"train.num_threads = {self.num_threads} must be >= 1 (or unset)")


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

    def __str__(self) -> str:
        resumed = f" (resumed at {self.resumed_from_nimg})" if self.resumed_from_nimg else ""
        return (
            f"trained to {self.nimg} images{resumed} in {self.wall_s:.0f} s on {self.device} "
            f"({self.samples_per_s:.0f} samples/s, amp {self.amp}); loss {self.train_loss:.4g}, "
            f"val raw {self.val_loss_raw:.4g} / EMA {self.val_loss_ema:.4g}; "
            f"{self.nonfinite_steps} non-finite steps skipped -> {self.run_dir}"
        )


def _check_data(train_data, val_data, labels, val_labels, cfg: ModelConfig) -> None:
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
    try:
        json.dumps(dataset_meta)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"dataset metadata is not JSON-serializable ({exc}); pass plain lists/numbers") from exc
    build_precond(model_config, train_data.shape[1], train_data.shape[2])  # checks the length first
    device = resolve_device(settings.device)
    amp_dtype = resolve_amp(settings.amp, device)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if restart:
        shutil.rmtree(run_dir / CHECKPOINT.parent, ignore_errors=True)
        shutil.rmtree(run_dir / SNAPSHOT_DIR, ignore_errors=True)
        (run_dir / "metrics.csv").unlink(missing_ok=True)
    threads = torch.get_num_threads()
    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)
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
            report=resolve(report),
        )  # checks a checkpoint in run_dir against the data and the config first
        _write_options(run_dir, settings, model_config, trainer, val_data)
        return TrainSummary(**trainer.run())
    finally:
        torch.set_num_threads(threads)
