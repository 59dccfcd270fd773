"""Power-function EMA and post-hoc reconstruction (docs/model.md §5, §10.6)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from hallctl.errors import ModelError
from hallctl.model import build_precond, load_model, posthoc_ema
from hallctl.model.ema import (
    FixedEMA,
    PowerEMA,
    gamma_to_sigma_rel,
    power_beta,
    power_inner,
    save_snapshots,
    sigma_rel_to_gamma,
    solve_posthoc,
)


@pytest.mark.parametrize(("sigma_rel", "gamma"), [(0.05, 16.97), (0.10, 6.94), (0.13, 4.60)])
def test_sigma_rel_and_gamma_convert_both_ways(sigma_rel, gamma):
    assert sigma_rel_to_gamma(sigma_rel) == pytest.approx(gamma, abs=0.01)
    assert gamma_to_sigma_rel(sigma_rel_to_gamma(sigma_rel)) == pytest.approx(sigma_rel, rel=1e-10)


def test_first_update_copies_the_weights():
    assert power_beta(6.94, t=64, dt=64) == 0.0


def trajectory(steps: int, dim: int, seed: int = 0) -> torch.Tensor:
    """A random walk plus a slow oscillation: θ_k after step k = 1 … steps (row k − 1)."""
    g = torch.Generator().manual_seed(seed)
    walk = torch.cumsum(0.01 * torch.randn(steps, dim, generator=g), dim=0)
    return walk + torch.sin(torch.arange(1, steps + 1) / 300.0).unsqueeze(1)


def run_power_ema(theta: torch.Tensor, stds, batch: int, snapshot_every: int = 0):
    module = nn.Linear(theta.shape[1], 1, bias=False)
    ema = PowerEMA(module, stds)
    snaps = []
    for k in range(1, theta.shape[0] + 1):
        with torch.no_grad():
            module.weight.copy_(theta[k - 1])
        ema.update(k * batch, batch)
        if snapshot_every and k % snapshot_every == 0:
            snaps.append((k * batch, [avg[0].clone() for avg in ema.averages]))
    return ema, snaps


def test_power_ema_matches_the_integral_form():
    steps, batch = 400, 8
    theta = trajectory(steps, 5).double()
    ema, _ = run_power_ema(theta.float(), (0.05, 0.1), batch)
    t = steps * batch
    edges = torch.arange(steps + 1, dtype=torch.float64) * batch  # θ_k holds on ((k−1)Δ, kΔ]
    for gamma, avg in zip(ema.gammas, ema.averages, strict=True):
        # ∫ p_{t,γ}(τ) θ(τ) dτ for piecewise-constant θ: weights (τ/t)^{γ+1} differences
        w = torch.diff((edges / t) ** (gamma + 1))
        expected = (w.unsqueeze(1) * theta).sum(dim=0)
        torch.testing.assert_close(avg[0].double().squeeze(), expected, rtol=1e-5, atol=1e-5)


def test_inner_product_is_symmetric_and_matches_quadrature():
    t = np.linspace(1e-9, 3.0, 300001)
    p_a = (5 + 1) * t**5 / 2.0**6 * (t <= 2.0)
    p_b = (9 + 1) * t**9 / 3.0**10
    quad = np.sum(p_a * p_b) * (t[1] - t[0])
    assert power_inner(2.0, 5, 3.0, 9) == pytest.approx(quad, rel=1e-3)
    assert power_inner(2.0, 5, 3.0, 9) == pytest.approx(power_inner(3.0, 9, 2.0, 5), rel=1e-12)
    assert np.isfinite(power_inner(2e9, 17, 1.5e9, 7))  # log-space: no overflow at 1e9 images


def test_reconstruction_of_a_snapshot_is_that_snapshot():
    x = solve_posthoc([100, 100, 200, 200], [16.97, 6.94, 16.97, 6.94], [200], [6.94])
    np.testing.assert_allclose(x[:, 0], [0, 0, 0, 1], atol=1e-8)


def test_posthoc_reconstructs_a_directly_tracked_profile():
    steps, batch = 2000, 8
    ema, snaps = run_power_ema(trajectory(steps, 200), (0.05, 0.1, 0.07), batch, snapshot_every=100)
    t_in = [t for t, _ in snaps for _ in range(2)]
    g_in = [g for _ in snaps for g in ema.gammas[:2]]
    X = solve_posthoc(t_in, g_in, [steps * batch], [sigma_rel_to_gamma(0.07)])
    thetas = [avg for _, avgs in snaps for avg in avgs[:2]]
    rebuilt = sum(float(x) * th for x, th in zip(X[:, 0], thetas, strict=True))
    direct, final = ema.averages[2][0], ema.params[0]
    # error relative to how far the average is from the current weights
    assert ((rebuilt - direct).norm() / (direct - final).norm()).item() < 2e-3


def test_fixed_ema_follows_the_classic_recursion():
    module = nn.Linear(3, 1, bias=False)
    ema = FixedEMA(module, decay=0.9)
    start = module.weight.detach().clone()
    with torch.no_grad():
        module.weight.zero_()
    ema.update()
    torch.testing.assert_close(ema.average[0], 0.9 * start)


def test_posthoc_of_constant_weights_returns_those_weights(tmp_path, tiny_cfg):
    net = build_precond(tiny_cfg, rows=3, length=16)
    ema = PowerEMA(net, (0.05, 0.1))
    for k in range(1, 41):
        ema.update(16 * k, 16)
        if k % 8 == 0:
            save_snapshots(tmp_path, net, ema, 16 * k, {"dataset": {"rows": ["a", "b", "c"]}})
    paths = posthoc_ema(tmp_path, [0.07, 0.2])
    assert [p.name for p in paths] == ["ema-0.07.safetensors", "ema-0.2.safetensors"]
    for path in paths:
        loaded, record = load_model(path)
        assert record["ema"]["kind"] == "power" and record["ema"]["posthoc"] is True
        assert record["dataset"] == {"rows": ["a", "b", "c"]} and record["nimg"] == 640
        for (name, p), q in zip(net.named_parameters(), loaded.parameters(), strict=True):
            torch.testing.assert_close(q, p.detach().half().float(), rtol=1e-3, atol=1e-4, msg=name)


def test_posthoc_without_snapshots_raises_model_error(tmp_path):
    with pytest.raises(ModelError, match="no EMA snapshots"):
        posthoc_ema(tmp_path, [0.1])
