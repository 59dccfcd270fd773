"""MP primitives keep unit variance (docs/model.md §10.2-3); resampling keeps RMS ≈ 1 in 1D (§3.1).

Activations are channels-last, (B, W, C), as inside the U-Net.
"""

from __future__ import annotations

import math

import pytest
import torch

from hallctl.model.layers import (
    EPS,
    NARROW,
    Conv3,
    CosineAttention,
    HeadAttention,
    MPConv,
    MPFourier,
    NormalizedConv,
    downsample,
    from_product_matrix,
    input_major,
    mp_cat,
    mp_silu,
    mp_sum,
    normalize,
    pixel_norm,
    product_matrix,
    row_rms,
    upsample,
)
from hallctl.model.runtime import set_fused
from hallctl.model.unet import Block


def rms(x: torch.Tensor) -> float:
    return x.square().mean().sqrt().item()


@pytest.fixture
def g() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def unit(shape, g) -> torch.Tensor:
    return torch.randn(shape, generator=g)


def test_normalize_gives_unit_rms(g):
    x = 3.0 * unit((5, 7, 11), g)
    y = normalize(x)
    torch.testing.assert_close(y.square().mean(dim=(1, 2)), torch.ones(5), rtol=1e-3, atol=0)
    pixel = normalize(x, dim=1)
    torch.testing.assert_close(pixel.square().mean(dim=1), torch.ones(5, 11), rtol=1e-3, atol=0)


def test_mp_silu_sum_cat_keep_unit_rms(g):
    a, b = unit((64, 64, 32), g), unit((64, 64, 48), g)
    assert rms(mp_silu(a)) == pytest.approx(1, abs=0.03)
    for t in (0.0, 0.3, 0.5, 0.9):
        assert rms(mp_sum(a, unit(a.shape, g), t)) == pytest.approx(1, abs=0.02)
        assert rms(mp_cat(a, b, t)) == pytest.approx(1, abs=0.02)


def test_mp_cat_balances_the_two_parts(g):
    a, b = unit((64, 64, 16), g), unit((64, 64, 48), g)
    y = mp_cat(a, b, t=0.5)
    # equal t: each part contributes half of the total energy regardless of its width
    assert y[..., :16].square().sum().item() == pytest.approx(y[..., 16:].square().sum().item(), rel=0.05)


@pytest.mark.parametrize("kernel", [None, 1, 3])
def test_mp_conv_keeps_unit_rms_and_uses_gain(kernel, g):
    layer = MPConv(96, 64, kernel, generator=g)
    x = unit((128, 96) if kernel is None else (128, 256, 96), g)
    assert rms(layer(x)) == pytest.approx(1, abs=0.05)
    assert rms(layer(x, gain=0.5)) == pytest.approx(0.5, abs=0.03)
    assert torch.count_nonzero(layer(x, gain=torch.zeros([]))) == 0


# out ≤ NARROW: ∂x by the adjoint convolution; out > NARROW: by fold3(∂y Mᵀ)
@pytest.mark.parametrize("out", [4, NARROW + 3])
@pytest.mark.parametrize("silu", [False, True])
def test_conv3_is_conv1d_in_channels_last_layout(out, silu, g):
    x = torch.randn(3, 7, 5, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(out, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    conv = lambda x, w: Conv3.apply(x, w, silu)  # noqa: E731
    act = torch.nn.functional.silu if silu else (lambda v: v)
    expected = torch.nn.functional.conv1d(act(x).transpose(1, 2), w, padding=1).transpose(1, 2)
    torch.testing.assert_close(conv(x, w), expected)
    G = torch.randn_like(expected)
    torch.testing.assert_close(torch.autograd.grad((conv(x, w) * G).sum(), (x, w)),
                               torch.autograd.grad((expected * G).sum(), (x, w)))
    assert torch.autograd.gradcheck(conv, (x, w))
    assert torch.autograd.gradcheck(conv, (x.detach(), w))  # weight gradient alone (the stem)
    # width 1: both neighbours are padding
    one = x[:, :1].detach().requires_grad_(True)
    assert torch.autograd.gradcheck(conv, (one, w))


def test_mp_fourier_has_unit_rms_for_any_input(g):
    emb = MPFourier(256, generator=g)
    for c in (-1.5, 0.0, 1.1):
        assert rms(emb(torch.full((8,), c))) == pytest.approx(1, abs=0.1)


def test_upsampling_keeps_rms_exactly(g):
    x = unit((32, 64, 16), g)
    y = upsample(x)
    assert y.shape == (32, 128, 16)
    assert rms(y) == pytest.approx(rms(x), rel=1e-6)
    torch.testing.assert_close(downsample(y), x)  # down ∘ up = identity: gain 2, not 4


def test_downsampling_keeps_rms_of_smooth_signals(g):
    smooth = upsample(upsample(unit((32, 32, 16), g)))  # correlated along z, RMS 1
    assert rms(downsample(smooth)) == pytest.approx(1, abs=0.02)
    # white noise loses √2 by averaging; the pixel norm after every encoder down-sampling restores it
    assert rms(downsample(unit((32, 128, 16), g))) == pytest.approx(1 / math.sqrt(2), abs=0.02)


def test_cosine_attention_keeps_unit_rms(g):
    attn = CosineAttention(64, num_heads=2, generator=g)
    # positions that agree (here: constant along z) pass through the softmax average unchanged
    assert rms(attn(unit((16, 1, 64), g).expand(16, 32, 64))) == pytest.approx(1, abs=0.05)
    # uncorrelated positions are averaged down; t_attn = 0.3 bounds the loss at 0.7/√0.58 = 0.92
    assert 0.9 < rms(attn(unit((16, 32, 64), g))) < 1.02


@pytest.mark.parametrize(
    ("flavor", "resample", "c_in", "c_out", "heads"),
    [
        ("enc", None, 32, 32, 0),
        ("enc", "down", 32, 32, 0),
        ("enc", None, 32, 64, 2),
        ("dec", None, 96, 64, 2),
        ("dec", "up", 64, 64, 0),
    ],
)
def test_blocks_keep_unit_rms_at_init(flavor, resample, c_in, c_out, heads, g):
    block = Block(c_in, c_out, 48, flavor=flavor, resample=resample, num_heads=heads, generator=g)
    x = unit((32, 32, c_in), g)
    if resample == "down":
        x = upsample(unit((32, 16, c_in), g))
    y = block(x, unit((32, 48), g))
    if heads == 0:
        assert rms(y) == pytest.approx(1, abs=0.03)
    else:  # the attention average of uncorrelated positions shrinks its branch (see above)
        assert 0.9 < rms(y) < 1.03


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("layout", ["input-major", "contiguous"])
def test_forced_weight_normalization_after_one_training_forward(fused, layout, g):
    layer = MPConv(12, 8, 3, generator=g).train()
    layer.fused = fused
    if layout == "contiguous":  # e.g. weights replaced by hand: forced all the same
        layer.weight.data = layer.weight.data.contiguous()
    layer(unit((4, 16, 12), g))
    norms = layer.weight.reshape(8, -1).norm(dim=1)
    torch.testing.assert_close(norms, torch.full((8,), math.sqrt(36)), rtol=2e-4, atol=0)


@pytest.mark.parametrize("shape", [(5, 4, 3), (NARROW + 3, 4, 3), (5, 4, 1), (5, 4)])
@pytest.mark.parametrize("learned_gain", [False, True])
@pytest.mark.parametrize("layout", ["input-major", "contiguous"])
def test_normalized_conv_is_the_conv_of_the_normalized_weight(shape, learned_gain, layout, g):
    x = torch.randn((3, 4) if len(shape) == 2 else (3, 6, 4), generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(shape, generator=g, dtype=torch.float64)
    w = (input_major(w) if layout == "input-major" else w).requires_grad_(True)
    gain = torch.tensor(0.8, dtype=torch.float64, requires_grad=True) if learned_gain else None

    def plain(x, w, gain):
        v = 0.7 * normalize(w) * (1 if gain is None else gain)
        if v.ndim == 2 or v.shape[-1] == 1:
            return torch.nn.functional.linear(x, v.reshape(v.shape[0], -1))
        return torch.nn.functional.conv1d(x.transpose(1, 2), v, padding=1).transpose(1, 2)

    inputs = (x, w) if gain is None else (x, w, gain)
    fused = lambda *a: NormalizedConv.apply(a[0], a[1], a[2] if len(a) > 2 else None, 0.7, None)  # noqa: E731
    torch.testing.assert_close(fused(*inputs), plain(x, w, gain))
    assert torch.autograd.gradcheck(fused, inputs)
    G = torch.randn_like(plain(x, w, gain))
    expected = torch.autograd.grad((plain(x, w, gain) * G).sum(), inputs)
    got = torch.autograd.grad((fused(*inputs) * G).sum(), inputs)
    for e, o in zip(expected, got, strict=True):
        torch.testing.assert_close(o, e)


@pytest.mark.parametrize("shape", [(6, 5, 3), (6, 5, 1), (6, 5)])
def test_input_major_weights_give_their_product_matrix_as_a_view(shape, g):
    w = unit(shape, g)
    stored = input_major(w)
    torch.testing.assert_close(stored, w, rtol=0, atol=0)
    m = product_matrix(stored)
    assert m.is_contiguous() and m.data_ptr() == stored.data_ptr()
    k = shape[2] if len(shape) == 3 else 1
    for o, c, j in [(0, 0, 0), (5, 4, k - 1), (2, 3, k // 2)]:
        assert m[j * shape[1] + c, o] == (w[o, c, j] if len(shape) == 3 else w[o, c])
    back = from_product_matrix(m.clone(), stored)
    assert back.stride() == stored.stride()
    torch.testing.assert_close(back, w, rtol=0, atol=0)
    grads = []
    for layout in (stored, w.contiguous()):  # the same norms and gradients in either layout
        leaf = layout.detach().requires_grad_(True)
        row_rms(leaf).square().sum().backward()
        grads.append((row_rms(leaf.detach()), leaf.grad))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1])


def test_a_training_layer_gets_gradients_in_its_weight_layout(g):
    layer = MPConv(12, 8, 3, generator=g).train()
    assert layer.weight.stride() == (1, 8, 96)  # input-major: the output unit varies fastest
    layer(unit((4, 16, 12), g)).square().sum().backward()
    assert layer.weight.grad.stride() == layer.weight.stride()


@pytest.mark.parametrize(("flavor", "dropout"), [("enc", 0.0), ("dec", 0.0), ("dec", 0.3)])
def test_fused_and_plain_blocks_agree_in_values_and_gradients(g, flavor, dropout, monkeypatch):
    # a fixed dropout mask (torch draws its mask in memory order, and the two paths lay r out differently):
    # the fused block must drop after the SiLU, as the plain one does
    keep = torch.rand(4, 8, 32, generator=torch.Generator().manual_seed(9)) >= dropout
    monkeypatch.setattr("hallctl.model.unet.F.dropout", lambda r, p: r * keep / (1 - p))
    twins = []
    for fused in (True, False):
        block = Block(16, 32, 24, flavor=flavor, num_heads=2, dropout=dropout,
                      generator=torch.Generator().manual_seed(5))
        with torch.no_grad():
            block.emb_gain.fill_(0.5)
        set_fused(block, fused)
        x = torch.randn(4, 8, 16, generator=torch.Generator().manual_seed(6))
        y = block(x, torch.randn(4, 24, generator=torch.Generator().manual_seed(7)))
        y.square().sum().backward()
        twins.append((y.detach(), [p.grad for p in block.parameters()], [p.detach() for p in block.parameters()]))
    (y1, g1, w1), (y2, g2, w2) = twins
    torch.testing.assert_close(y1, y2, rtol=1e-5, atol=1e-5)
    for a, b in zip(g1 + w1, g2 + w2, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_head_attention_is_softmax_attention_per_head_with_its_exact_gradient(g):
    y = torch.randn(2, 5, 3, 3, 4, dtype=torch.float64, generator=g).requires_grad_()  # (B, W, h, 3, d)

    def plain(y):
        q, k, v = y.permute(0, 2, 3, 1, 4).unbind(2)  # (B, h, W, d)
        a = torch.softmax(q @ k.transpose(-1, -2) / 2.0, dim=-1)  # 1/√d, d = 4
        return (a @ v).transpose(1, 2).reshape(2, 5, 12)

    torch.testing.assert_close(HeadAttention.apply(y), plain(y))
    assert torch.autograd.gradcheck(HeadAttention.apply, (y,))
    G = torch.randn(2, 5, 12, dtype=torch.float64, generator=g)
    (got,) = torch.autograd.grad((HeadAttention.apply(y) * G).sum(), y)
    (expected,) = torch.autograd.grad((plain(y) * G).sum(), y)
    torch.testing.assert_close(got, expected)
    assert got.is_contiguous()  # in y's own layout, for the pixel norm's backward


def test_eval_cache_follows_weight_changes(g):
    layer = MPConv(8, 8, 3, generator=g).eval().requires_grad_(False)
    x = unit((2, 8, 8), g)
    y0 = layer(x)
    torch.testing.assert_close(layer(x), y0)
    with torch.no_grad():
        layer.weight.mul_(-1)
    torch.testing.assert_close(layer(x), -y0)


def test_pixel_norm_is_normalize_over_channels_with_its_exact_gradient(g):
    x = torch.randn(3, 5, 7, dtype=torch.float64, generator=g).requires_grad_()
    torch.testing.assert_close(pixel_norm(x), normalize(x, dim=-1))
    assert torch.autograd.gradcheck(pixel_norm, (x,))
    zero = torch.zeros(2, 4, requires_grad=True)  # a zero vector: output 0, gradient finite (s g)
    pixel_norm(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()
    torch.testing.assert_close(zero.grad, torch.full((2, 4), 1 / EPS))
