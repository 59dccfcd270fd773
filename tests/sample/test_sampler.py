"""hallctl.sample.sampler: seeds, batching, churn, NaN handling, no-grad, settings, reporting."""

import json
import math
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import torch

from hallctl.errors import HallctlError, ObservationError
from hallctl.report import Progress, Reporter
from hallctl.sample import (
    Euler,
    SampleNoise,
    SamplingError,
    SparseObservationOperator,
    edm_sigmas,
    integrate,
    row_mean_terms,
    sample_seed,
)
from tests.sample.compose import run_sample

C, W = 3, 8


def nonlinear(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """An elementwise nonlinear 'denoiser' (no batch coupling, so results can be bit-compared)."""
    s = sigma[:, None, None]
    return 0.5 * torch.tanh(x / (1.0 + s)) * 0.25 / (0.25 + s**2) ** 0.5


@pytest.mark.parametrize("sampler", ["heun", "dpmpp_2m"])
def test_same_seed_same_samples_regardless_of_batch_size(sampler: str) -> None:
    kw = dict(channels=C, length=W, steps=8, sampler=sampler, churn=5.0, s_tmin=0.01, s_tmax=100.0, seed=7)
    full = run_sample(nonlinear, num_samples=5, batch_size=5, **kw).x
    small = run_sample(nonlinear, num_samples=5, batch_size=2, **kw).x
    tail = run_sample(nonlinear, num_samples=2, first_index=3, batch_size=1, **kw).x
    assert torch.equal(full, small)
    assert torch.equal(full[3:], tail)
    assert not torch.equal(full, run_sample(nonlinear, num_samples=5, **{**kw, "seed": 8}).x)
    assert not torch.equal(full[0], full[1])


def test_sample_seed_is_a_function_of_seed_and_index() -> None:
    assert sample_seed(0, 3) == sample_seed(0, 3)
    assert len({sample_seed(s, i) for s in range(4) for i in range(50)}) == 200
    a = SampleNoise(1, [4, 5], (C, W)).draw()
    b = SampleNoise(1, [5], (C, W)).draw()
    assert torch.equal(a[1], b[0])


def test_nan_raises_naming_step_and_sigma() -> None:
    def D(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return torch.where(sigma[:, None, None] < 1.0, torch.nan, 0.0) + 0.0 * x

    with pytest.raises(SamplingError, match=r"at step \d+ of 10 \(sigma = 0\.\d+\)") as info:
        run_sample(D, num_samples=2, channels=C, length=W, steps=10)
    assert isinstance(info.value, HallctlError) and info.value.exit_code == 1
    assert "\n" not in str(info.value)


def test_unguided_sampling_runs_without_grad() -> None:
    seen = []

    def D(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        seen.append(torch.is_grad_enabled() or x.requires_grad)
        return 0.5 * x

    run_sample(D, num_samples=2, channels=C, length=W, steps=4)
    assert seen and not any(seen)


def test_churn_noise_is_applied_once() -> None:
    """With D(x) = x the ODE is still, so the final variance is σ_0² + S_noise² Σ (σ̂² − σ²)."""
    sigmas = edm_sigmas(4, sigma_min=0.2, sigma_max=1.0).tolist()
    noise = SampleNoise(0, range(4000), (2, 4), dtype=torch.float64)
    x = integrate(
        lambda x, s: x,
        sigmas[0] * noise.draw(),
        sigmas,
        Euler(),
        noise=noise.draw,
        churn=1e3,
        s_tmin=0.0,
        s_tmax=10.0,
        s_noise=2.0,
    )
    # γ is capped at √2 − 1, so σ̂² − σ² = σ²
    expected = sigmas[0] ** 2 + 4.0 * sum(s**2 for s in sigmas[:-1])
    assert float(x.var()) == pytest.approx(expected, rel=0.04)


def test_churn_keeps_the_gaussian_target() -> None:
    def D(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return 0.25 / (sigma[:, None, None] ** 2 + 0.25) * x

    x = run_sample(D, num_samples=1000, channels=2, length=4, steps=64, churn=30.0, dtype=torch.float64,
                   batch_size=1000).x
    assert float(x.std()) == pytest.approx(0.5, rel=0.04)


class RecordingReporter(Reporter):
    def __init__(self) -> None:
        self.advanced, self.infos, self.fields = 0.0, [], []

    @contextmanager
    def progress(self, description: str, total: float | None = None, unit: str = ""):
        reporter = self

        class P(Progress):
            def advance(self, n: float = 1, **fields: object) -> None:
                reporter.advanced += n

            def update(self, completed: float | None = None, total: float | None = None, **fields: object) -> None:
                reporter.fields.append(fields)

        yield P()

    def info(self, message: str) -> None:
        self.infos.append(message)


def test_settings_and_report() -> None:
    rep = RecordingReporter()
    res = run_sample(nonlinear, num_samples=3, channels=C, length=W, steps=6, batch_size=2, report=rep, seed=3)
    assert res.x.shape == (3, C, W) and res.x.dtype == torch.float32
    s = res.settings
    json.dumps(s, allow_nan=False)
    assert (s["sampler"], s["steps"], s["seed"], s["guidance"], s["nfe_per_sample"]) == ("heun", 6, 3, "none", 11)
    assert rep.advanced == 3 and rep.fields[-1]["step"] == "6/6" and "11 network evaluations" in rep.infos[0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"guidance": "sda"}, "unknown guidance 'sda'"),
        ({"fixed": {C: 0.0}}, "row index 3"),
        ({"sampler": "leapfrog"}, "unknown sampler"),
        ({"seed": -1}, "non-negative"),
        ({"num_samples": 0}, "positive"),
    ],
)
def test_rejects_bad_settings(kwargs: dict, match: str) -> None:
    args = {"num_samples": 1, "channels": C, "length": W, "steps": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        run_sample(nonlinear, **args)


def test_sigma_max_start() -> None:
    x = run_sample(nonlinear, num_samples=2, channels=C, length=W, steps=3, sigma_max=20.0).x
    assert torch.isfinite(x).all() and not math.isnan(float(x.sum()))


def test_observations_for_another_grid_are_rejected() -> None:
    @dataclass
    class Obs:
        operator: SparseObservationOperator
        y: torch.Tensor
        sigma_y: torch.Tensor

    obs = Obs(SparseObservationOperator([row_mean_terms(0, 4)], channels=C, length=4), torch.zeros(1), torch.ones(1))
    with pytest.raises(ObservationError, match="built for 3 rows x 4 grid points but the model has 3 x 8"):
        run_sample(nonlinear, num_samples=1, channels=C, length=W, steps=2, observations=obs)
