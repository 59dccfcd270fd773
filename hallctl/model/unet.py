"""The EDM2 magnitude-preserving U-Net ("config G") in 1D (docs/model.md §3.2-3.4).

F_θ(x; c_noise, ℓ): x (B, C, W) already scaled by c_in, c_noise (B,), optional labels ℓ (B, P).
Inside, activations are channels-last, (B, W, C) (see hallctl.model.layers).
Reference: Karras et al., EDM2, arXiv:2312.02696, Fig. 21 and App. B. Written from the paper and
docs/model.md; no code was copied from NVlabs/edm2.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (the usual alias)
from torch import Tensor, nn

from hallctl.model.layers import (
    SILU_RMS,
    CosineAttention,
    MPConv,
    MPFourier,
    downsample,
    mp_cat,
    mp_silu,
    mp_sum,
    mp_sum_weights,
    normalize,
    pixel_norm,
    upsample,
)

__all__ = ["Block", "UNet"]

T_RES = 0.3  # residual balance t_res
T_ATTN = 0.3  # attention balance t_attn
T_CAT = 0.5  # skip/main concat balance
T_LABEL = 0.5  # noise/label embedding balance
CLIP_ACT = 256.0  # activation clip
ALPHA_RES, BETA_RES = mp_sum_weights(T_RES)  # MP-sum(main, r; t_res) = α main + β r


class Block(nn.Module):
    """Residual block, encoder or decoder flavour (docs/model.md §3.2).

    Args:
        in_channels: C_in.
        out_channels: C_out.
        emb_channels: C_emb of the noise/label embedding e.
        flavor: "enc" (pixel norm, main path projected before the residual) or "dec".
        resample: None, "down" or "up" (applied first).
        num_heads: attention heads after the residual sum; 0 = no attention.
        dropout: dropout probability inside the residual branch (training only).
        generator: torch.Generator for the weight initialization.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        emb_channels: int,
        *,
        flavor: str,
        resample: str | None = None,
        num_heads: int = 0,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.flavor = flavor
        self.resample = resample
        self.dropout = dropout
        self.out_channels = out_channels
        self.fused = True  # False: the plain transcription (see MPConv)
        res_in = out_channels if flavor == "enc" else in_channels
        self.conv_res0 = MPConv(res_in, out_channels, 3, generator=generator)
        self.emb_linear = MPConv(emb_channels, out_channels, None, generator=generator)
        self.emb_gain = nn.Parameter(torch.zeros([]))
        self.conv_res1 = MPConv(out_channels, out_channels, 3, generator=generator)
        self.conv_skip = None
        if in_channels != out_channels:
            self.conv_skip = MPConv(in_channels, out_channels, 1, generator=generator)
        self.attn = None
        if num_heads > 0:
            self.attn = CosineAttention(out_channels, num_heads, T_ATTN, generator=generator)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        """x (B, W, C_in) and e (B, C_emb) → (B, W', C_out) with W' = W/2, 2W or W."""
        if self.resample == "down":
            x = downsample(x)
        elif self.resample == "up":
            x = upsample(x)
        project = self.conv_skip if self.conv_skip is not None else (lambda v: v)  # width change, 1×1
        if self.flavor == "enc":  # encoder: project first, then unit RMS across channels at every z
            x = pixel_norm(project(x)) if self.fused else normalize(project(x), dim=-1)
        if self.fused:  # SiLU in the convolutions' gathers; MP-SiLU's 1/0.596 (Eq. 81) in their gains
            r = self.conv_res0(x, gain=1 / SILU_RMS, silu=True)
        else:
            r = self.conv_res0(mp_silu(x))
        scale = 1 + self.emb_linear(emb, gain=self.emb_gain)  # (B, C_out): per-channel modulation
        r = r * scale[:, None, :].to(r.dtype)
        silu_in_conv = self.fused and not (self.training and self.dropout > 0)  # dropout comes after SiLU
        if not silu_in_conv:
            r = F.silu(r) if self.fused else mp_silu(r)
        if self.training and self.dropout > 0:
            r = F.dropout(r, p=self.dropout)
        main = project(x) if self.flavor == "dec" else x  # decoder: the skip path is projected last
        if self.fused:  # MP-sum as one add, its weight β of the residual folded into conv_res1's gain
            x = torch.add(self.conv_res1(r, gain=BETA_RES / SILU_RMS, silu=silu_in_conv), main, alpha=ALPHA_RES)
        else:
            x = mp_sum(main, self.conv_res1(r), t=T_RES)
        if self.attn is not None:
            x = self.attn(x)
        if self.fused:
            return F.hardtanh(x, -CLIP_ACT, CLIP_ACT)  # the clamp, with a one-kernel backward
        return x.clamp(-CLIP_ACT, CLIP_ACT)


class UNet(nn.Module):
    """EDM2 U-Net over (B, C, W) profiles (docs/model.md §3.3).

    Args:
        rows: C, the rows of one sample.
        length: W, divisible by 2^(levels − 1) (checked by ``build_precond``).
        channels: base width; level ℓ has width channels·channel_mult[ℓ].
        channel_mult: width multipliers, one per level (levels L = len(channel_mult)).
        num_blocks: N residual blocks per encoder level (N + 1 per decoder level).
        attn_resolutions: lengths W/2^ℓ at which non-resampling blocks attend.
        channels_per_head: attention head width.
        dropout: residual-branch dropout.
        label_dim: P, length of the label vector ℓ; 0 = unconditional.
        control_channels: channels of the control signal (3 per row for an amortized model; 0 = none).
        label_scale: κ applied to ℓ before its embedding (1/σ_d for labels normalized like rows).
        generator: torch.Generator for the initialization (weights and Fourier buffers).
    """

    def __init__(
        self,
        rows: int,
        length: int,
        *,
        channels: int,
        channel_mult: tuple[int, ...],
        num_blocks: int,
        attn_resolutions: tuple[int, ...],
        channels_per_head: int,
        dropout: float = 0.0,
        label_dim: int = 0,
        label_scale: float = 1.0,
        control_channels: int = 0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        widths = [channels * m for m in channel_mult]
        c_noise, c_emb = widths[0], channels * max(channel_mult)
        self.label_scale = label_scale
        self.control_channels = control_channels
        self.emb_fourier = MPFourier(c_noise, generator=generator)
        self.emb_noise = MPConv(c_noise, c_emb, None, generator=generator)
        self.emb_label = MPConv(label_dim, c_emb, None, generator=generator) if label_dim else None

        def block(c_in: int, c_out: int, flavor: str, res: int, attn: bool = False, **kw: Any) -> Block:
            heads = c_out // channels_per_head if (attn or res in attn_resolutions) else 0
            return Block(c_in, c_out, c_emb, flavor=flavor, num_heads=heads, dropout=dropout, generator=generator, **kw)

        self.enc = nn.ModuleDict()
        c_out = rows + 1 + control_channels  # + the row of ones and the control signal (amortized models)
        for level, width in enumerate(widths):
            res = length >> level
            if level == 0:
                self.enc[f"l{level}_conv"] = MPConv(c_out, width, 3, generator=generator)
                c_out = width
            else:
                self.enc[f"l{level}_down"] = Block(
                    c_out, c_out, c_emb, flavor="enc", resample="down", dropout=dropout, generator=generator
                )
            for i in range(num_blocks):
                self.enc[f"l{level}_block{i}"] = block(c_out, width, "enc", res)
                c_out = width

        skips = [m.out_channels if isinstance(m, Block) else m.weight.shape[0] for m in self.enc.values()]
        self.dec = nn.ModuleDict()
        for level, width in reversed(list(enumerate(widths))):
            res = length >> level
            if level == len(widths) - 1:
                self.dec[f"l{level}_in0"] = block(c_out, c_out, "dec", res, attn=True)
                self.dec[f"l{level}_in1"] = Block(
                    c_out, c_out, c_emb, flavor="dec", dropout=dropout, generator=generator
                )
            else:
                self.dec[f"l{level}_up"] = Block(
                    c_out, c_out, c_emb, flavor="dec", resample="up", dropout=dropout, generator=generator
                )
            for i in range(num_blocks + 1):
                self.dec[f"l{level}_block{i}"] = block(c_out + skips.pop(), width, "dec", res)
                c_out = width
        self.out_conv = MPConv(c_out, rows, 3, generator=generator)
        self.out_gain = nn.Parameter(torch.zeros([]))

    def forward(self, x: Tensor, c_noise: Tensor, labels: Tensor | None = None, control: Tensor | None = None
                ) -> Tensor:
        """x (B, C, W) = c_in·y, c_noise (B,), labels (B, P) or None, control (B, 3C, W) or None (no
        observation) → F (B, C, W)."""
        emb = self.emb_noise(self.emb_fourier(c_noise))
        if self.emb_label is not None:
            if labels is None:
                labels = torch.zeros(x.shape[0], self.emb_label.weight.shape[1], device=x.device)
            emb = mp_sum(emb, self.emb_label(labels.to(emb.dtype) * self.label_scale), t=T_LABEL)
        emb = mp_silu(emb)
        ones = x.new_ones(x.shape[0], 1, x.shape[2])  # the constant channel: biases and the domain's edges
        if self.control_channels:
            if control is None:
                control = x.new_zeros(x.shape[0], self.control_channels, x.shape[2])
            x = torch.cat([x, ones, control.to(x.dtype).expand(x.shape[0], -1, -1)], dim=1)
        else:
            x = torch.cat([x, ones], dim=1)
        x = x.transpose(1, 2)  # channels-last from here on
        skips: list[Tensor] = []
        for name, module in self.enc.items():
            x = module(x) if name.endswith("_conv") else module(x, emb)
            skips.append(x)
        for name, module in self.dec.items():
            if "_block" in name:
                x = mp_cat(x, skips.pop(), t=T_CAT)
            x = module(x, emb)
        return self.out_conv(x, gain=self.out_gain).transpose(1, 2)
