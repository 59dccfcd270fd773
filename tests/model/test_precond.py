"""Preconditioning, shapes and configuration checks (docs/model.md §2, §3.3, §10.1, §10.5)."""

from __future__ import annotations

import pytest
import torch

from hallctl.errors import ModelError
from hallctl.model import ModelConfig, build_precond
from hallctl.model.loss import derivative_mse, edm_loss, lambda_weight
from hallctl.model.precond import c_in, c_out, c_skip

SIGMAS = torch.tensor([0.002, 0.05, 0.3, 1.0, 5.0, 80.0])


def test_output_is_exactly_c_skip_y_at_init(tiny_cfg):
    net = build_precond(tiny_cfg, rows=3, length=16)
    y = torch.randn(len(SIGMAS), 3, 16)
    D = net(y, SIGMAS)
    assert torch.equal(D, c_skip(SIGMAS.reshape(-1, 1, 1), 0.5) * y)


def test_lambda_times_c_out_squared_is_one():
    torch.testing.assert_close(lambda_weight(SIGMAS, 0.5) * c_out(SIGMAS, 0.5) ** 2, torch.ones(6))


def test_target_of_F_has_unit_variance_for_gaussian_data():
    g = torch.Generator().manual_seed(0)
    sigma_data = 0.5
    x = sigma_data * torch.randn(20000, generator=g)
    for sigma in SIGMAS:
        y = x + sigma * torch.randn(x.shape, generator=g)
        F_target = (x - c_skip(sigma, sigma_data) * y) / c_out(sigma, sigma_data)
        assert F_target.var().item() == pytest.approx(1, abs=0.03)
        assert (c_in(sigma, sigma_data) * y).var().item() == pytest.approx(1, abs=0.03)


@pytest.mark.parametrize("length", [2, 4, 6, 10, 16, 34])
def test_shapes_for_every_length_divisible_by_two_to_the_levels_minus_one(length):
    cfg = ModelConfig(channels=8, channel_mult=(1, 2), num_blocks=1, attn_resolutions=(4,), channels_per_head=8)
    net = build_precond(cfg, rows=2, length=length)
    net.unet.out_gain.data.fill_(1.0)
    D = net(torch.randn(3, 2, length), 0.5)
    assert D.shape == (3, 2, length)
    assert torch.isfinite(D).all()


@pytest.mark.parametrize("length", [1, 3, 12, 20, 30])
def test_other_lengths_raise_one_line_model_error(length):
    cfg = ModelConfig(channels=8, channel_mult=(1, 1, 2, 2), num_blocks=1, attn_resolutions=(), channels_per_head=8)
    with pytest.raises(ModelError, match=r"not divisible by 2\^\(levels-1\) = 8") as info:
        build_precond(cfg, rows=2, length=length)
    assert "\n" not in str(info.value)


def test_attention_width_must_be_a_multiple_of_the_head_width():
    cfg = ModelConfig(channels=24, channel_mult=(1, 2), num_blocks=1, attn_resolutions=(8,), channels_per_head=32)
    with pytest.raises(ModelError, match="channels_per_head"):
        build_precond(cfg, rows=2, length=8)


def test_small_configuration_has_about_11_million_parameters():
    net = build_precond(ModelConfig(), rows=25, length=64)
    assert sum(p.numel() for p in net.parameters()) == pytest.approx(10.9e6, rel=0.01)


def test_config_round_trips_through_dict_and_rejects_unknown_keys(tiny_cfg):
    assert ModelConfig.from_dict(tiny_cfg.to_dict()) == tiny_cfg
    with pytest.raises(ModelError, match="unknown model setting"):
        ModelConfig.from_dict({"chanels": 8})
    with pytest.raises(ModelError, match=r"model\.dropout"):
        ModelConfig(dropout=1.5)


def test_labels_condition_the_output_and_dropout_is_per_example():
    cfg = ModelConfig(
        channels=8,
        channel_mult=(1, 2),
        num_blocks=1,
        attn_resolutions=(),
        channels_per_head=8,
        label_dim=3,
        label_dropout=0.5,
    )
    net = build_precond(cfg, rows=2, length=8).eval()
    for name, p in net.named_parameters():  # gains start at 0: switch the embedding on
        if name.endswith("gain"):
            p.data.fill_(1.0)
    x, labels = torch.randn(4, 2, 8), torch.randn(4, 3)
    assert not torch.allclose(net(x, 0.5, labels), net(x, 0.5, torch.zeros_like(labels)))
    assert torch.equal(net(x, 0.5, None), net(x, 0.5, torch.zeros_like(labels)))  # None = dropped label
    objective, lam = edm_loss(net, x, labels, generator=torch.Generator().manual_seed(0), label_dropout=0.5)
    assert lam.shape == (4,) and torch.isfinite(objective)


def test_logvar_is_one_value_per_sigma(tiny_cfg):
    net = build_precond(tiny_cfg, rows=3, length=16)
    assert net.logvar(SIGMAS).shape == (6,)


def test_derivative_loss_reduces_to_mse_and_ignores_constant_rows():
    e = torch.randn(4, 3, 16)
    torch.testing.assert_close(derivative_mse(e, 0.0), e.square().mean(dim=(1, 2)))
    const = torch.ones(4, 3, 16)
    torch.testing.assert_close(derivative_mse(const, 1.0), torch.full((4,), 1 / 3))


def test_constant_rows_enter_as_means_at_their_effective_noise(tiny_cfg):
    """A scalar row (constant along z) is seen through its mean ȳ, with σ_r = σ/√W: at init
    D_r = c_skip(σ_r)·ȳ, constant along z, and zero-mean changes within the row change nothing."""
    W = 16
    cfg = ModelConfig(**{**tiny_cfg.to_dict(), "constant_rows": [2]})
    net = build_precond(cfg, rows=3, length=W)
    assert net.constant_rows == (2,)
    y = torch.randn(len(SIGMAS), 3, W)
    D = net(y, SIGMAS)
    s = SIGMAS.reshape(-1, 1)
    torch.testing.assert_close(D[:, 2], (c_skip(s / W**0.5, 0.5) * y[:, 2].mean(-1, keepdim=True)).expand(-1, W))
    torch.testing.assert_close(D[:, :2], c_skip(s[:, :, None], 0.5) * y[:, :2])
    wiggle = y.clone()
    wiggle[:, 2] += torch.linspace(-1, 1, W)  # zero mean along the row
    net.unet.out_gain.data.fill_(1.0)  # a network that is no longer zero at its output
    torch.testing.assert_close(net(wiggle, SIGMAS), net(y, SIGMAS))
    # λ(σ_r) per row, so the network's target keeps unit variance on the constant row too
    lam = net.loss_weight(SIGMAS)
    torch.testing.assert_close(lam[:, 2, 0], lambda_weight(SIGMAS / W**0.5, 0.5))
    torch.testing.assert_close(lam[:, 0, 0], lambda_weight(SIGMAS, 0.5))
    off = build_precond(ModelConfig(**{**cfg.to_dict(), "scalar_row_means": False}), rows=3, length=W)
    assert off.constant_rows == ()
