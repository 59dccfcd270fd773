"""Magnitude-preserving (MP) primitives of the EDM2 U-Net, in 1D (docs/model.md §3.1).

Each primitive is one equation of Karras et al., "Analyzing and Improving the Training Dynamics of
Diffusion Models" (EDM2, arXiv:2312.02696); equation numbers refer to that paper. Every primitive
maps unit-variance inputs to unit-variance outputs, which is what lets EDM2 drop normalization
layers, biases and weight decay.

Tensors are channels-last, ``(B, W, C)``: batch, axial points, channels. A kernel-3 convolution is
then one matrix product over all B·W positions (:class:`Conv3`), which runs at about twice the
speed of ``conv1d`` on CPUs. Written from the paper and docs/model.md; no code was copied from
NVlabs/edm2.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (the usual alias)
from torch import Tensor, nn

__all__ = [
    "Conv3",
    "CosineAttention",
    "HeadAttention",
    "MPConv",
    "MPFourier",
    "NormalizedConv",
    "downsample",
    "flipped_transpose",
    "force_rows",
    "from_product_matrix",
    "input_major",
    "mp_cat",
    "mp_silu",
    "mp_sum",
    "mp_sum_weights",
    "normalize",
    "pixel_norm",
    "product_grads",
    "product_matrix",
    "row_rms",
    "upsample",
]

EPS = 1e-4  # ε of normalize (docs/model.md §3.1)
SILU_RMS = 0.596  # RMS of SiLU(a) for a ~ N(0, 1)
NARROW = 32  # at most this many output channels: a kernel-3 layer's ∂x is computed as the adjoint convolution


def normalize(x: Tensor, dim: int | tuple[int, ...] | None = None, eps: float = EPS) -> Tensor:
    """normalize(v) = v / (ε + ‖v‖/√n): unit RMS over ``dim`` (default: all but the first axis).

    Args:
        x: tensor of any shape; the first axis indexes independent vectors when ``dim`` is None.
        dim: axes holding the n entries of one vector.
        eps: ε, keeps the division finite for a zero vector.
    """
    if dim is None:
        dim = tuple(range(1, x.ndim))
    norm = torch.linalg.vector_norm(x, dim=dim, keepdim=True, dtype=torch.promote_types(x.dtype, torch.float32))
    n = x.numel() // max(norm.numel(), 1)
    norm = torch.add(eps, norm, alpha=1.0 / math.sqrt(n))
    return x / norm.to(x.dtype)


class PixelNorm(torch.autograd.Function):
    """normalize(x) over the last axis, with its backward written out (for training's eager speed).

    y = x/d, d = ε + ρ, ρ = ‖x‖/√n (the values of :func:`normalize`); ∂L/∂x = g/d − y (g·y)/(n ρ),
    one product-sum and two passes, where autograd's chain through the norm takes about six.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        n = x.shape[-1]
        norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True, dtype=torch.promote_types(x.dtype, torch.float32))
        d = torch.add(EPS, norm, alpha=1.0 / math.sqrt(n)).to(x.dtype)
        y = x / d
        ctx.save_for_backward(y, d, norm.clamp_min_(1e-30).mul_(math.sqrt(n)).to(x.dtype))  # the last: n ρ
        return y

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        y, d, n_rho = ctx.saved_tensors
        coef = (g * y).sum(-1, keepdim=True).div_(n_rho)
        return (g / d).addcmul_(y, coef, value=-1)


def pixel_norm(x: Tensor) -> Tensor:
    """normalize(x, dim=−1) (unit RMS across the channels at every position) with a written-out backward."""
    return PixelNorm.apply(x)


# Eq. (81)
def mp_silu(a: Tensor) -> Tensor:
    """MP-SiLU(a) = SiLU(a) / 0.596."""
    return F.silu(a) / SILU_RMS


# Eq. (88)
def mp_sum(a: Tensor, b: Tensor, t: float = 0.5) -> Tensor:
    """MP-sum(a, b; t) = ((1 − t) a + t b) / √((1 − t)² + t²); t is the share of ``b``."""
    return a.lerp(b, t) / math.sqrt((1 - t) ** 2 + t**2)


def mp_sum_weights(t: float) -> tuple[float, float]:
    """(α, β) with MP-sum(a, b; t) = α a + β b: the fused paths fold β into the layer that makes b."""
    n = math.sqrt((1 - t) ** 2 + t**2)
    return (1 - t) / n, t / n


# Eq. (103)
def mp_cat(a: Tensor, b: Tensor, t: float = 0.5, dim: int = -1) -> Tensor:
    """MP-concat along ``dim``: a·(1 − t)K/√N_a ‖ b·tK/√N_b, K = √((N_a + N_b)/((1 − t)² + t²))."""
    N_a, N_b = a.shape[dim], b.shape[dim]
    K = math.sqrt((N_a + N_b) / ((1 - t) ** 2 + t**2))
    w_a = K / math.sqrt(N_a) * (1 - t)
    w_b = K / math.sqrt(N_b) * t
    return torch.cat([w_a * a, w_b * b], dim=dim)


def downsample(x: Tensor) -> Tensor:
    """Filter [½, ½] with stride 2: the mean of each adjacent pair, (B, W, C) → (B, W/2, C).

    A smooth signal keeps its RMS; white noise loses a factor √2, which the pixel norm that
    follows every encoder down-sampling restores (docs/model.md §3.2).
    """
    return x.unflatten(1, (-1, 2)).mean(dim=2)


def upsample(x: Tensor) -> Tensor:
    """Transposed filter [½, ½] with gain 2 (= stride in 1D): each value twice, (B, W, C) → (B, 2W, C).

    Gain 2, not the 2D factor 4 upstream copied (docs/model.md §3.1), so the RMS is kept exactly.
    """
    return x.repeat_interleave(2, dim=1)


def row_rms(w: Tensor) -> Tensor:
    """‖w_o‖/√n for each output unit o (first axis), shape (out,), in any memory layout."""
    n = w.numel() // w.shape[0]
    if w.is_contiguous():
        return torch.linalg.vector_norm(w.reshape(w.shape[0], n), dim=1) / math.sqrt(n)
    return product_matrix(w).square().sum(0).div_(n).sqrt_()  # (torch's norm over outer axes is slow)


def input_major(w: Tensor) -> Tensor:
    """w (out, in[, k]) stored with its axes reversed in memory: the output unit varies fastest.

    The same values and shape; only the strides change, so that :func:`product_matrix` is a view.
    """
    axes = tuple(reversed(range(w.ndim)))
    return w.permute(axes).contiguous().permute(axes)


def product_matrix(w: Tensor) -> Tensor:
    """The (k·in × out) matrix M with y = u M for u laid out as :func:`unfold3` lays it, M[j·in + c, o] = w[o, c, j].

    A view of an :func:`input_major` weight; a copy of any other.
    """
    return w.permute(tuple(reversed(range(w.ndim)))).reshape(-1, w.shape[0])


def from_product_matrix(m: Tensor, like: Tensor) -> Tensor:
    """The inverse of :func:`product_matrix`: (k·in × out) → the shape of ``like``, input-major."""
    axes = tuple(reversed(range(like.ndim)))
    return m.reshape(like.permute(axes).shape).permute(axes)


def force_rows(w: Tensor) -> Tensor:
    """Eq. (66) in place, w_o ← w_o/(ε + r_o) with r_o = row_rms(w)_o; returns the new row RMS, r/(ε + r).

    An :func:`input_major` weight is scaled through its product matrix (a view); another layout is
    scaled in a copy and written back.
    """
    r = row_rms(w)
    s = (r + EPS).reciprocal_()
    wm = product_matrix(w)
    wm.mul_(s.to(wm.dtype))
    if not wm._is_view():
        w.copy_(from_product_matrix(wm, w))
    return r.mul_(s)


def compute_dtype(x: Tensor) -> torch.dtype:
    """The dtype products run in: autocast's where it is on, else x's."""
    device = x.device.type
    return torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype


def unfold3(x: Tensor, dtype: torch.dtype, silu: bool = False) -> Tensor:
    """u_l = (x_(l−1), x_l, x_(l+1)) with zeros beyond the ends: (B, W, C) → (B, W, 3C).

    In the zero-padded input (B, W + 2, C), u_l is the 3C consecutive values that start at padded
    row l: one strided view, gathered by one copy. ``silu``: gather SiLU(x) instead, computed
    straight into the padded buffer (no separate activation tensor, no padding copy).
    """
    B, W, C = x.shape
    if torch.compiler.is_compiling():  # dynamo refuses out= into a strided view; inductor fuses this anyway
        x = x.to(dtype)
        padded = F.pad(F.silu(x) if silu else x, (0, 0, 1, 1))
    else:
        padded = x.new_empty((B, W + 2, C), dtype=dtype)
        padded[:, 0].zero_()
        padded[:, -1].zero_()
        if silu:
            torch._C._nn.silu(x.to(dtype), out=padded[:, 1:-1])
        else:
            padded[:, 1:-1].copy_(x)
    return padded.as_strided((B, W, 3 * C), ((W + 2) * C, C, 1)).contiguous()


def fold3(gu: Tensor) -> Tensor:
    """The adjoint of :func:`unfold3`: (B, W, 3C) → (B, W, C), each position summing its three shares."""
    C = gu.shape[-1] // 3
    gx = gu[:, :, C : 2 * C].clone()
    gx[:, :-1].add_(gu[:, 1:, :C])
    gx[:, 1:].add_(gu[:, :-1, 2 * C :])
    return gx


def flipped_transpose(m: Tensor) -> Tensor:
    """The (3·out × in) matrix M' of the adjoint convolution, M'[s·out + o, c] = M[(2 − s)·in + c, o]:
    ∂x = unfold3(∂y) M' (the kernel flipped, in and out swapped)."""
    c_out = m.shape[1]
    return m.reshape(3, -1, c_out).flip(0).transpose(1, 2).reshape(3 * c_out, -1)


def product_grads(gy: Tensor, x_in: Tensor, m: Tensor, *, conv3: bool, x_dtype: torch.dtype | None,
                  want_m: bool, silu_of: Tensor | None = None) -> tuple[Tensor | None, Tensor | None]:
    """The backward of y = x_in M: ∂x (folded back to x for a kernel-3 ``x_in``, through SiLU when
    ``silu_of`` holds SiLU's input; None if ``x_dtype`` is None) and ∂M = x_inᵀ ∂y as an (n × out)
    product matrix (None unless ``want_m``).

    A kernel-3 layer with at most ``NARROW`` outputs gets ∂x as the adjoint convolution,
    unfold3(∂y) M' (:func:`flipped_transpose`), instead of fold3(∂y Mᵀ): the same sums, but a
    product whose inner dimension is 3·out rather than out: 1.1–1.5× faster at out = 32 on a 2-core
    CPU, and ~2 % of the tiny configuration's training step in paired runs.
    """
    g2 = gy.reshape(-1, m.shape[1]).to(m.dtype)
    gx = gm = None
    if x_dtype is not None:
        if conv3 and m.shape[1] <= NARROW:  # ∂y Mᵀ would have a short inner dimension: the adjoint convolution
            gx = unfold3(gy, m.dtype) @ flipped_transpose(m)
        else:
            gu = (g2 @ m.t()).reshape(x_in.shape)
            gx = fold3(gu) if conv3 else gu
        if silu_of is not None:
            gx = torch.ops.aten.silu_backward(gx, silu_of.to(gx.dtype))
        gx = gx.to(x_dtype)
    if want_m:
        gm = x_in.reshape(-1, m.shape[0]).t() @ g2
    return gx, gm


class Conv3(torch.autograd.Function):
    """Kernel-3 convolution with zero padding, channels-last: y_l = Σ_j W_j x_(l+j−1), as one product.

    The three neighbours of every position are laid side by side (:func:`unfold3`), so y = u M with
    M = :func:`product_matrix` (W), one (B·W × 3C)·(3C × O) product; the backward is two more
    (∂M = uᵀ ∂y, ∂u = ∂y Mᵀ) and ∂x = fold3(∂u). The same values as ``conv1d(x, W, padding=1)``
    on (B, C, W), at about twice its speed on CPUs. ``silu``: convolve SiLU(x) (see :func:`unfold3`).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, w: Tensor, silu: bool = False) -> Tensor:
        dtype = compute_dtype(x)
        u = unfold3(x, dtype, silu)
        m = product_matrix(w.to(dtype))
        ctx.save_for_backward(u, m, w, x if silu else None)
        ctx.dtypes = x.dtype, w.dtype
        return u @ m

    @staticmethod
    def backward(ctx: Any, gy: Tensor) -> tuple[Tensor | None, ...]:
        u, m, w, silu_of = ctx.saved_tensors
        x_dtype = ctx.dtypes[0] if ctx.needs_input_grad[0] else None
        gx, gm = product_grads(gy, u, m, conv3=True, x_dtype=x_dtype, want_m=ctx.needs_input_grad[1],
                               silu_of=silu_of)
        return gx, None if gm is None else from_product_matrix(gm, w).to(ctx.dtypes[1]), None


class NormalizedConv(torch.autograd.Function):
    """An MP convolution (kernel 3 or 1) or linear map with Eqs. (66) and (47) built in, for training.

    y = x ⋆ Ŵ with Ŵ_o = g c s_o w_o, s_o = 1/(ε + r_o), r_o = ‖w_o‖/√n per output unit o: the values
    of ``Conv3``/``linear`` of ``g * c * normalize(w)``, with the Jacobian of the normalization
    written out, ∂L/∂w_o = a_o (G_o − s_o (w_o·G_o) w_o/(n r_o)), a_o = g c s_o, G = ∂L/∂Ŵ, and
    ∂L/∂g = Σ_o c s_o (w_o·G_o). Everything on the weight side runs on the (n × out) product matrix,
    which is a view of an :func:`input_major` weight: a few passes over the weights each way, no
    transposing copy, instead of a chain of small kernels per layer.

    ``gain`` is a learned scalar g or None (g = 1). ``force``: first overwrite w in place with
    w_o/(ε + r_o) (Eq. 66, no gradient), whose row RMS is then r_o/(ε + r_o): one row norm per
    layer and step serves both normalizations. ``silu``: the layer's input is SiLU(x), computed in
    the gather of a kernel-3 input (:func:`unfold3`).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, w: Tensor, gain: Tensor | None, c: float, force: bool = False,
                silu: bool = False) -> Tensor:
        r = force_rows(w) if force else row_rms(w)
        wm = product_matrix(w)
        n = wm.shape[0]
        s = (r + EPS).reciprocal_()
        a = s * c if gain is None else s * (c * gain)
        k = torch.mul(a, s).div_(r.clamp_min_(1e-30).mul_(n))  # a s/(n r), the backward's row factor
        dtype = compute_dtype(x)
        conv3 = w.ndim == 3 and w.shape[-1] == 3
        m = (wm * a).to(dtype)
        if conv3:
            x_in = unfold3(x, dtype, silu)
        else:
            x_in = F.silu(x.to(dtype)) if silu else x.to(dtype)
        ctx.save_for_backward(x_in, w, m, a, k, s if gain is not None else None, x if silu else None)
        ctx.c, ctx.x_dtype, ctx.conv3 = c, x.dtype, conv3
        return x_in @ m

    @staticmethod
    def backward(ctx: Any, gy: Tensor) -> tuple[Tensor | None, ...]:
        x_in, w, m, a, k, s, silu_of = ctx.saved_tensors
        want_w = ctx.needs_input_grad[1] or ctx.needs_input_grad[2]
        x_dtype = ctx.x_dtype if ctx.needs_input_grad[0] else None
        gx, G = product_grads(gy, x_in, m, conv3=ctx.conv3, x_dtype=x_dtype, want_m=want_w, silu_of=silu_of)
        if G is None:
            return gx, None, None, None, None, None
        G = G.to(w.dtype)  # ∂L/∂Ŵ as an (n × out) product matrix
        wm = product_matrix(w)
        dot = (wm * G).sum(0)
        ggain = None if s is None or not ctx.needs_input_grad[2] else torch.dot(dot, s) * ctx.c
        gw = from_product_matrix(G.mul_(a).addcmul_(wm, dot.mul_(k), value=-1), w)
        return gx, gw, ggain, None, None, None


class MPConv(nn.Module):
    """Eqs. (47)/(66): MP convolution (or linear map) with forced weight normalization, no bias.

    The stored weight W (out × in × k, or out × in) starts N(0, 1). In training, each forward first
    overwrites it with normalize(W_o) per output unit o (Eq. 66, no gradient), then uses
    W_eff = g · normalize(W) / √(in·k) (Eq. 47), so a unit-variance input gives variance g².
    Each layer runs once per forward, so this is once per training step. The fused path
    (``fused = True``) computes each row norm once for both normalizations and runs
    :class:`NormalizedConv`; ``fused = False`` is the plain transcription through autograd and
    ``conv1d`` (the benchmark's baseline). In eval mode with frozen weights, normalize(W) is
    computed once and cached until W changes.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int | None,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        shape = (out_channels, in_channels) if kernel is None else (out_channels, in_channels, kernel)
        # input-major in memory, so the weight side of a product needs no transposing copy (product_matrix)
        self.weight = nn.Parameter(input_major(torch.randn(shape, generator=generator)))
        self.fan_in = in_channels * (kernel or 1)
        self.fused = True
        # True: Eq. (66) is applied before the forward, by hallctl.model.runtime.force_weights (a compiled
        # forward must not mutate its parameters: the compiled backward would see other weights)
        self.preforced = False
        self._cache: tuple[tuple, Tensor] | None = None

    def unit_weight(self, c: float = 1.0) -> Tensor:
        """c · normalize(W)/√fan_in in float32 (Eq. 47), forcing W first in training (Eq. 66).

        The plain transcription, and the cached weight of a frozen layer in eval mode.
        """
        c = c / math.sqrt(self.fan_in)
        if self.frozen:
            key = (self.weight._version, self.weight.data_ptr(), self.weight.device)
            if self._cache is None or self._cache[0] != key:
                with torch.no_grad():
                    self._cache = (key, normalize(self.weight.float()))
            return self._cache[1] * c
        self._cache = None
        if self.training and not self.preforced:
            with torch.no_grad():
                self.weight.copy_(normalize(self.weight.float()))
        return normalize(self.weight.float()) * c

    @property
    def frozen(self) -> bool:
        """Eval mode with no weight gradient wanted: the normalized weight can be cached."""
        return not self.training and not (torch.is_grad_enabled() and self.weight.requires_grad)

    @torch.no_grad()
    def force_weight(self) -> Tensor:
        """Eq. (66) in place, W_o ← W_o/(ε + r_o); returns the new row RMS, r/(ε + r)."""
        return force_rows(self.weight)

    def forward(self, x: Tensor, gain: Tensor | float | None = None, silu: bool = False) -> Tensor:
        """x (B, W, in) → (B, W, out) with "same" padding; or (B, in) → (B, out) for a linear map.

        A float ``gain`` is folded into the weight scale; a tensor gain is learned. ``silu``: the
        layer's input is SiLU(x) (plain SiLU: MP-SiLU's 1/0.596 belongs in ``gain``), gathered with
        the neighbours of a kernel-3 convolution in one pass on the fused paths.
        """
        kernel = self.weight.shape[-1] if self.weight.ndim == 3 else 1
        fixed = gain if isinstance(gain, float | int) else 1.0
        learned = gain if isinstance(gain, Tensor) else None
        if self.fused and not self.frozen and kernel in (1, 3):
            force = self.training and not self.preforced
            return NormalizedConv.apply(x, self.weight.float(), learned, fixed / math.sqrt(self.fan_in), force, silu)
        w = self.unit_weight(fixed)
        if learned is not None:
            w = w * learned
        w = w.to(x.dtype)
        if self.fused and kernel == 3:
            return Conv3.apply(x, w, silu)
        x = F.silu(x) if silu else x
        if kernel == 1:
            return F.linear(x, w.reshape(w.shape[0], -1))
        return F.conv1d(x.transpose(1, 2), w, padding=kernel // 2).transpose(1, 2)


# Eq. (75)
class MPFourier(nn.Module):
    """MP Fourier features of a scalar: e_j = √2 cos(2π(f_j c + φ_j)), f ~ N(0, 1), φ ~ U(0, 1) fixed."""

    def __init__(self, num_channels: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.register_buffer("freqs", 2 * math.pi * torch.randn(num_channels, generator=generator))
        self.register_buffer("phases", 2 * math.pi * torch.rand(num_channels, generator=generator))

    def forward(self, c: Tensor) -> Tensor:
        """c (B,) → (B, num_channels), unit RMS for any c."""
        y = torch.outer(c.float(), self.freqs) + self.phases
        return (y.cos() * math.sqrt(2)).to(c.dtype)


class HeadAttention(torch.autograd.Function):
    """softmax(q kᵀ/√d) v per head, from y (B, W, h, 3, d) holding q, k, v along its fourth axis → (B, W, h·d).

    The backward is written out so that ∂y comes back in y's own layout, in one stacking copy:
    autograd's chain through permute and unbind stacked the three gradients and handed the pixel
    norm before it a permuted gradient, whose elementwise passes and reshape copy run on short
    strided runs (d values). 4–8 % faster per attention layer, forward and backward, in paired runs.
    """

    @staticmethod
    def forward(ctx: Any, y: Tensor) -> Tensor:
        B, W, h, _, d = y.shape
        qkv = y.permute(0, 2, 3, 1, 4).reshape(B * h, 3, W, d)  # one gathering copy
        q, k, v = qkv.unbind(1)
        a = torch.softmax(torch.bmm(q, k.transpose(1, 2)).mul_(d**-0.5), dim=-1)
        ctx.save_for_backward(qkv, a)
        ctx.heads = h
        return torch.bmm(a, v).view(B, h, W, d).transpose(1, 2).reshape(B, W, h * d)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        qkv, a = ctx.saved_tensors
        q, k, v = qkv.unbind(1)
        Bh, W, d = q.shape
        h = ctx.heads
        B = Bh // h
        go = g.reshape(B, W, h, d).transpose(1, 2).reshape(Bh, W, d)
        gs = torch._softmax_backward_data(torch.bmm(go, v.transpose(1, 2)), a, -1, a.dtype).mul_(d**-0.5)
        gqkv = torch.stack([torch.bmm(gs, k), torch.bmm(gs.transpose(1, 2), q), torch.bmm(a.transpose(1, 2), go)], 1)
        return gqkv.view(B, h, 3, W, d).permute(0, 3, 1, 2, 4).contiguous()


class CosineAttention(nn.Module):
    """Cosine self-attention along z with an MP residual (docs/model.md §3.1; EDM2 Sec. 3, config G).

    1×1 MP conv to 3C channels → heads of ``channels_per_head``; q, k, v normalized over each head's
    channels; softmax(qᵀk/√d) v; 1×1 MP conv back to C; MP-sum with the input at t_attn.
    """

    def __init__(self, channels: int, num_heads: int, t_attn: float = 0.3,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.t_attn = t_attn
        self.sum_weights = mp_sum_weights(t_attn)
        self.fused = True  # False: the plain transcription (see MPConv)
        self.qkv = MPConv(channels, 3 * channels, 1, generator=generator)
        self.proj = MPConv(channels, channels, 1, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, W, C) → (B, W, C)."""
        B, W, C = x.shape
        y = self.qkv(x).reshape(B, W, self.num_heads, 3, C // self.num_heads)
        if self.fused:
            y = HeadAttention.apply(pixel_norm(y))
            alpha, beta = self.sum_weights  # MP-sum as one add, β riding on the projection's gain
            return torch.add(self.proj(y, gain=beta), x, alpha=alpha)
        y = normalize(y, dim=-1)
        q, k, v = y.permute(0, 2, 3, 1, 4).unbind(2)  # each (B, heads, W, d)
        # written out: at these lengths (W ≤ 64) three small products beat the fused kernel on CPUs
        # (benchmarks/bench_train.py), and the W×W weights are small on any device
        a = torch.softmax((q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5, dim=-1)
        y = (a @ v).transpose(1, 2).reshape(B, W, C)
        return mp_sum(x, self.proj(y), t=self.t_attn)
