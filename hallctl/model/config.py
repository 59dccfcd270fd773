"""The model configuration (the project file's [model] section) and the model factory.

``ModelConfig`` fields map 1:1 onto the [model] keys; ``build_precond`` checks them against the
data shape (model.md §1.4, §3) and builds the preconditioned EDM2 U-Net.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch

from hallctl.errors import ModelError
from hallctl.model.precond import Precond
from hallctl.model.unet import UNet

__all__ = ["ModelConfig", "build_precond"]


@dataclass(frozen=True)
class ModelConfig:
    """EDM2 U-Net, preconditioning and loss settings (model.md §2-3).

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
            set from the data by ``hallctl.train``, not from the project file.
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


def build_precond(cfg: ModelConfig, rows: int, length: int, *, seed: int = 0) -> Precond:
    """Build the preconditioned U-Net for samples of ``rows`` × ``length``.

    Args:
        cfg: the model configuration.
        rows: C, rows per sample.
        length: W, axial points; must be divisible by 2^(L − 1).
        seed: seed of the weight initialization (and the fixed Fourier features).

    Raises:
        ModelError: a length not divisible by 2^(L − 1), a non-positive shape, or an attention
            level whose width is not a multiple of channels_per_head.
    """
    if rows < 1 or length < 1:
        raise ModelError(f"data shape {rows} rows × {length} points is empty; check the dataset")
    factor = 2 ** (cfg.levels - 1)
    if length % factor:
        lo, hi = length // factor * factor, (length // factor + 1) * factor
        choices = f"{lo} or {hi}" if lo else f"{hi}"
        raise ModelError(
            f"length {length} is not divisible by 2^(levels-1) = {factor} ({cfg.levels} levels in "
            f"model.channel_mult); resample the data to {choices} points, or use fewer levels"
        )
    for level, m in enumerate(cfg.channel_mult):
        attends = (length >> level) in cfg.attn_resolutions or level == cfg.levels - 1
        if attends and (cfg.channels * m) % cfg.channels_per_head:
            raise ModelError(
                f"model.channels_per_head = {cfg.channels_per_head} does not divide the width "
                f"{cfg.channels * m} of level {level}, which uses attention; pick a divisor of it"
            )
    generator = torch.Generator().manual_seed(seed)
    unet = UNet(
        rows,
        length,
        channels=cfg.channels,
        channel_mult=cfg.channel_mult,
        num_blocks=cfg.num_blocks,
        attn_resolutions=cfg.attn_resolutions,
        channels_per_head=cfg.channels_per_head,
        dropout=cfg.dropout,
        label_dim=cfg.label_dim,
        label_scale=1.0 / cfg.sigma_data,  # labels normalized like the rows → unit RMS (§3.4)
        generator=generator,
    )
    if any(not 0 <= r < rows for r in cfg.constant_rows):
        raise ModelError(f"model constant_rows {list(cfg.constant_rows)} do not fit {rows} rows")
    constant = cfg.constant_rows if cfg.scalar_row_means else ()
    precond = Precond(unet, cfg.sigma_data, rows=rows, length=length, constant_rows=constant, generator=generator)
    precond.config = cfg
    return precond
