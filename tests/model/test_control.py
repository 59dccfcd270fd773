"""The amortized conditional model: its control signal, its template, and a brief training on a Gaussian toy
whose exact posterior is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hallctl.model import ModelConfig, load_model, train
from hallctl.model.control import CONTROL_CHANNELS, ControlTemplate, draw_controls
from hallctl.report import Reporter
from hallctl.sample import build_observations
from hallctl.sample.draw import SamplerSettings, draw
from hallctl.sample.observations import control_signal
from tests.model.conftest import synthetic_profiles, tiny_settings

W = 16
NORM = {"rows": ["p", "q", "s"], "kind": ["field", "field", "scalar"], "units": ["", "", ""],
        "log": [False, False, False], "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0],
        "grid_m": np.linspace(0.0, 1.0, W).tolist(), "target_std": 0.5}
TEMPLATE = ControlTemplate(fields=("p",), points=(3, 8), rel_noise=(0.05, 0.2), scalars=("s",),
                           scalar_probability=0.5, scalar_rel_noise=(0.01, 0.2), dropout=0.1)


def test_control_signal_of_known_observations_is_exact() -> None:
    h = 1.0 / (W - 1)
    entries = [{"field": "p", "z": 2.25 * h, "value": 0.4, "std": 0.1},  # nodes 2 and 3 with weights 0.75, 0.25
               {"field": "p", "z": 3.0 * h, "value": 0.8, "std": 0.2},  # node 3 alone
               {"field": "s", "z": "", "value": -0.3, "std": 0.05}]
    c = control_signal(build_observations(entries, NORM))[0].double()
    assert c.shape == (CONTROL_CHANNELS * 3, W)
    value, weight, noise = c[0], c[1], c[2]  # row p
    np.testing.assert_allclose(weight[[2, 3]], [0.75, 1.25], rtol=1e-6)
    np.testing.assert_allclose(value[[2, 3]], [0.4, (0.25 * 0.4 + 0.8) / 1.25], rtol=1e-6)
    np.testing.assert_allclose(noise[[2, 3]], [np.log(0.1) / 4, (0.25 * np.log(0.1) + np.log(0.2)) / 1.25 / 4],
                               rtol=1e-6)
    assert float(weight.sum()) == pytest.approx(2.0) and float(c[3:6].abs().sum()) == 0.0  # q unobserved
    np.testing.assert_allclose(c[6], -0.3)  # the scalar row holds its value at every node, weight 1
    np.testing.assert_allclose(c[7], 1.0)
    np.testing.assert_allclose(c[8], np.log(0.05) / 4, rtol=1e-6)


def test_template_draws_and_admits() -> None:
    x = synthetic_profiles(64, rows=3, length=W).double()
    g = torch.Generator().manual_seed(0)
    c = draw_controls(x, TEMPLATE, NORM, generator=g)
    assert c.shape == (64, 9, W) and bool(torch.isfinite(c).all())
    observed = c[:, 1].sum(dim=1) > 0
    assert 0.7 < float(observed.double().mean()) < 1.0  # dropout 0.1: the rest see ui-like points
    none = draw_controls(x, ControlTemplate(fields=("p",), dropout=1.0), NORM, generator=g)
    assert float(none.abs().sum()) == 0.0
    inside = build_observations([{"field": "p", "z": 0.5, "value": 0.1, "rel_std": 0.1}], NORM).table
    outside = build_observations([{"field": "q", "z": 0.5, "value": 0.1, "rel_std": 0.1}], NORM).table
    too_precise = build_observations([{"field": "s", "z": "", "value": 1.0, "rel_std": 1e-4}], NORM).table
    assert TEMPLATE.admits(inside) == ""
    assert "not among" in TEMPLATE.admits(outside)
    assert "relative noise" in TEMPLATE.admits(inside + too_precise)
    assert "p is not observed" in TEMPLATE.admits(build_observations([{"field": "s", "z": "", "value": 1.0,
                                                                        "rel_std": 0.05}], NORM).table)


class _Notes(Reporter):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)


@pytest.fixture(scope="module")
def toy_model(tmp_path_factory):
    """A tiny amortized model trained briefly on the 2-parameter Gaussian profiles."""
    torch.set_num_threads(1)
    cfg = ModelConfig(channels=16, channel_mult=(1, 2), num_blocks=1, attn_resolutions=(8,), channels_per_head=16,
                      constant_rows=(2,), control=True)
    run_dir = tmp_path_factory.mktemp("amortized")
    data = synthetic_profiles(4096, rows=3, length=W, seed=1)
    settings = tiny_settings(duration_nimg=64 * 600, batch_size=64, lr_ref=0.02, lr_ref_nimg=64 * 600,
                             val_every_nimg=64 * 300, checkpoint_every_nimg=64 * 600, ema_snapshot_every_nimg=64 * 300)
    train(data, None, model_config=cfg, settings=settings, run_dir=run_dir,
          dataset_meta={"normalization": NORM, "control_template": TEMPLATE.to_dict()})
    return run_dir


def test_amortized_model_saves_its_template_and_beats_the_prior(toy_model) -> None:
    net, meta = load_model(toy_model / "model.safetensors")
    assert net.config.control and net.control_template == TEMPLATE
    last = (toy_model / "metrics.csv").read_text().splitlines()
    row = dict(zip(last[0].split(","), map(float, last[-1].split(",")), strict=True))
    assert row["val_raw_cond"] < row["val_raw"]  # the observations lower the validation loss
    assert meta["dataset"]["control_template"] == TEMPLATE.to_dict()
    # the exact posterior of the Gaussian profiles given 5 points of p with noise 0.05, for three truths
    pool = synthetic_profiles(20000, rows=3, length=W, seed=1).double().reshape(20000, -1).numpy()
    mu, cov = pool.mean(axis=0), np.cov(pool, rowvar=False)
    nodes = [1, 4, 7, 10, 13]
    A = np.zeros((len(nodes), 3 * W))
    A[range(len(nodes)), nodes] = 1.0
    gain = cov @ A.T @ np.linalg.inv(A @ cov @ A.T + 0.05**2 * np.eye(len(nodes)))
    settings = SamplerSettings(steps=16, batch_size=64)
    prior = draw(net, NORM, settings, num_samples=64, device="cpu").x.mean(axis=0)
    errors = []
    for seed in (7, 8, 9):
        truth = synthetic_profiles(1, rows=3, length=W, seed=seed)[0].double().numpy()
        y = truth[0, nodes] + 0.05 * np.random.default_rng(0).standard_normal(len(nodes))
        exact = (mu + gain @ (y - A @ mu)).reshape(3, W)
        obs = build_observations([{"field": "p", "z": NORM["grid_m"][j], "value": float(v), "std": 0.05}
                                  for j, v in zip(nodes, y, strict=True)], NORM)
        post = draw(net, NORM, settings, num_samples=64, device="cpu", observations=obs)
        assert post.settings["guidance"] == "amortized" and post.settings["vjp_per_sample"] == 0
        errors.append([np.sqrt(((post.x.mean(axis=0) - exact) ** 2).mean()), np.sqrt(((prior - exact) ** 2).mean())])
    err_post, err_prior = np.mean(errors, axis=0)
    assert err_post < 0.85 * err_prior, errors  # briefly trained: closer than the prior, far from exact


def test_observations_outside_the_template_fall_back_to_guidance(toy_model) -> None:
    net, _ = load_model(toy_model / "model.safetensors")
    obs = build_observations([{"field": "q", "z": 0.5, "value": 0.1, "std": 0.05}], NORM)
    notes = _Notes()
    d = draw(net, NORM, SamplerSettings(steps=4, batch_size=4), num_samples=4, device="cpu", observations=obs,
             report=notes)
    assert d.settings["guidance"] == "mmps"
    notices = [line for line in notes.lines if "amortized" in line]
    assert len(notices) == 1 and "q is not among the template's fields" in notices[0] and "\n" not in notices[0]
    never = draw(net, NORM, SamplerSettings(steps=4, batch_size=4, amortized="never"), num_samples=4,
                 device="cpu", observations=build_observations([{"field": "p", "z": 0.5, "value": 0.1, "std": 0.05}],
                                                               NORM))
    assert never.settings["guidance"] == "mmps"
