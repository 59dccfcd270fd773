"""The model factory: ``build_precond`` checks a :class:`ModelConfig` against the data shape
(docs/model.md §1.4, §3) and builds the preconditioned EDM2 U-Net."""

from __future__ import annotations

import torch

from hallctl.errors import ModelError
from hallctl.model.control import CONTROL_CHANNELS
from hallctl.model.precond import Precond
from hallctl.model.settings import ModelConfig
from hallctl.model.unet import UNet

__all__ = ["ModelConfig", "build_precond"]


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
        control_channels=CONTROL_CHANNELS * rows if cfg.control else 0,
        generator=generator,
    )
    if any(not 0 <= r < rows for r in cfg.constant_rows):
        raise ModelError(f"model constant_rows {list(cfg.constant_rows)} do not fit {rows} rows")
    constant = cfg.constant_rows if cfg.scalar_row_means else ()
    precond = Precond(unet, cfg.sigma_data, rows=rows, length=length, constant_rows=constant, generator=generator)
    precond.config = cfg
    return precond
