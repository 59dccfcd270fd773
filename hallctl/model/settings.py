"""What a model and its training are configured by: :class:`ModelConfig` and :class:`TrainSettings`.

Plain frozen dataclasses whose defaults are the project file's [model] and [train] defaults
(``tests/test_settings.py`` holds the two together); ``hallctl.commands.train`` maps the sections
onto them field by field, by name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from hallctl.errors import ModelError

__all__ = ["ModelConfig", "TrainSettings"]


@dataclass(frozen=True)
class ModelConfig:
    """EDM2 U-Net, preconditioning and loss settings (docs/model.md §2-3).

    Attributes:
        channels: base width C_0 of the U-Net.
        channel_mult: per-level width multipliers; L = len(channel_mult) levels.
        num_blocks: residual blocks per encoder level.
        attn_resolutions: lengths at which blocks use self-attention.
        channels_per_head: attention head width.
        dropout: residual-branch dropout probability.
        label_dim: P, length of the label vector (0 = unconditional, scalars as rows).
        label_dropout: per-example probability of dropping the label (classifier-free guidance).
        sigma_data: σ_d, the standard deviation the data were normalized to.
        P_mean, P_std: ln σ ~ N(P_mean, P_std²) for the training noise levels.
        uncertainty_weighting: learn u_φ(σ) and weight the loss by e^{−u} (EDM2).
        derivative_loss_weight: h of the derivative loss (0 = off).
        scalar_row_means: precondition the constant (scalar) rows at their effective noise level
            (see ``hallctl.model.precond``).
        constant_rows: indices of the rows that are constant along z (the dataset's scalar rows);
            set from the data by ``hallctl.commands.train``, not from the project file.
        control: an amortized conditional model: the network also takes the control signal of an
            observation set (3 channels per row, ``hallctl.model.control``); set by [conditioning].
    """

    channels: int = 64
    channel_mult: tuple[int, ...] = (1, 2, 3, 4)
    num_blocks: int = 2
    attn_resolutions: tuple[int, ...] = (16, 8)
    channels_per_head: int = 32
    dropout: float = 0.0
    label_dim: int = 0
    label_dropout: float = 0.0
    sigma_data: float = 0.5
    P_mean: float = -1.2
    P_std: float = 1.2
    uncertainty_weighting: bool = True
    derivative_loss_weight: float = 0.0
    scalar_row_means: bool = True
    constant_rows: tuple[int, ...] = ()
    control: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "constant_rows", tuple(int(r) for r in self.constant_rows))
        for name in ("channel_mult", "attn_resolutions"):
            value = getattr(self, name)
            if isinstance(value, int | str) or not all(isinstance(v, int) and v > 0 for v in value):
                raise ModelError(f"model.{name} = {value!r}: expected a list of positive integers")
            object.__setattr__(self, name, tuple(value))
        checks = [
            ("channels", self.channels > 0, "a positive integer"),
            ("channel_mult", len(self.channel_mult) >= 1, "at least one level"),
            ("num_blocks", self.num_blocks >= 1, "an integer >= 1"),
            ("channels_per_head", self.channels_per_head > 0, "a positive integer"),
            ("dropout", 0 <= self.dropout < 1, "in [0, 1)"),
            ("label_dim", self.label_dim >= 0, "an integer >= 0"),
            ("label_dropout", 0 <= self.label_dropout < 1, "in [0, 1)"),
            ("sigma_data", self.sigma_data > 0, "positive"),
            ("P_std", self.P_std > 0, "positive"),
            ("derivative_loss_weight", self.derivative_loss_weight >= 0, ">= 0"),
        ]
        for name, ok, allowed in checks:
            if not ok:
                raise ModelError(f"model.{name} = {getattr(self, name)!r} is invalid: must be {allowed}")

    @property
    def levels(self) -> int:
        """L, the number of resolution levels."""
        return len(self.channel_mult)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build from a JSON/TOML mapping; unknown keys raise ModelError naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"unknown model setting(s) {unknown}; allowed: {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class TrainSettings:
    """Optimization and bookkeeping settings (the project file's [train] section; docs/model.md §4-6).

    Attributes:
        duration_nimg: training length in images.
        batch_size: examples per optimizer step.
        lr_ref: α_ref of the inverse-√t schedule.
        lr_ref_nimg: t_ref in images (α ∝ 1/√t beyond it; 0 = constant).
        lr_rampup_nimg: linear warm-up length in images (0 = none).
        betas, eps: Adam's (β₁, β₂) and ε; no weight decay (forced weight normalization).
        grad_clip: clip the global gradient norm to this value; 0 = no clipping (EDM2).
        ema_stds: σ_rel of the tracked power-function EMA profiles; () = off.
        ema_snapshot_every_nimg: images between EMA snapshots for post-hoc reconstruction.
        fixed_ema_decay: per-step decay β of an additional classic EMA; 0 = off.
        checkpoint_every_nimg: images between checkpoints.
        val_every_nimg: images between validations (rows of metrics.csv).
        val_sigmas: the fixed σ grid of the validation loss.
        seed: the seed every random draw derives from.
        device: "auto" (cuda, mps, cpu) or a torch device name.
        amp: "auto" (bf16 on CUDA and on CPUs with native bf16), "bf16" or "off" (float32).
        compile: torch.compile the U-Net (falls back to eager mode if compiling fails).
        threads: CPU threads for torch (0 = leave as is).

    The defaults are the project file's [train] defaults (a test holds the two together).
    """

    duration_nimg: int = 2_000_000
    batch_size: int = 256
    lr_ref: float = 0.01
    lr_ref_nimg: int = 500_000
    lr_rampup_nimg: int = 50_000
    betas: tuple[float, float] = (0.9, 0.99)
    eps: float = 1e-8
    grad_clip: float = 10.0
    ema_stds: tuple[float, ...] = (0.05, 0.1)
    ema_snapshot_every_nimg: int = 100_000
    fixed_ema_decay: float = 0.0
    checkpoint_every_nimg: int = 100_000
    val_every_nimg: int = 50_000
    val_sigmas: tuple[float, ...] = (0.01, 0.05, 0.2, 0.5, 1.0, 2.0, 5.0)
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"
    compile: bool = False
    threads: int = 0

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
        if not 0 <= self.fixed_ema_decay < 1:
            raise ModelError(f"train.fixed_ema_decay = {self.fixed_ema_decay} must lie in [0, 1) (0 = off)")
        if not self.grad_clip >= 0:
            raise ModelError(f"train.grad_clip = {self.grad_clip} must be >= 0 (0 = off)")
        if any(s <= 0 for s in self.val_sigmas) or not self.val_sigmas:
            raise ModelError(f"train.val_sigmas = {self.val_sigmas} must be positive noise levels")
        if self.threads < 0:
            raise ModelError(f"train.threads = {self.threads} must be >= 0 (0 = leave as is)")
