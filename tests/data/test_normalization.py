"""The Normalization type: one place for the log/z-score transform and its inverse."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hallctl.data.normalization import Normalization


def _norm() -> Normalization:
    return Normalization.from_dict({"rows": ["ne", "ui_1", "discharge_voltage_v"], "kind": ["field", "field", "scalar"],
                                    "units": ["1/m^3", "m/s", "V"], "log": [True, False, False],
                                    "mean": [40.0, 1e4, 300.0], "std": [2.0, 5e3, 200.0], "grid_m": [0.0, 0.05],
                                    "target_std": 0.5, "channel_length_m": 0.025})


def test_round_trips_and_plain_form() -> None:
    norm = _norm()
    phys = np.array([[1e17, 3e17], [2e3, 1.5e4], [280.0, 280.0]])
    x = norm.to_model(phys)
    np.testing.assert_allclose(x[0], (np.log(phys[0]) - 40.0) / 2.0)
    np.testing.assert_allclose(norm.to_physical(x), phys, rtol=1e-12)
    assert Normalization.from_dict(norm.to_dict()).to_dict() == norm.to_dict()
    assert norm.to_dict()["channel_length_m"] == 0.025 and norm.scalar_rows == [2]


def test_single_values_and_noise_agree_with_the_tensor_transform() -> None:
    norm = _norm()
    assert norm.value_to_model(0, 2e17) == pytest.approx(float(norm.to_model(np.array([[2e17], [0.0], [0.0]]))[0, 0]))
    assert norm.value_to_physical(2, norm.value_to_model(2, 333.0)) == pytest.approx(333.0)
    assert norm.noise_to_model(1, std=500.0) == pytest.approx(0.1)  # linear rows: std / s
    assert norm.noise_to_model(0, rel_std=0.1) == pytest.approx(math.sqrt(math.log(1.01)) / 2.0)  # lognormal
