"""hallctl.sample.observations: CSV parsing, unit conversion, operator, errors, fit report."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from hallctl.errors import ObservationError
from hallctl.sample import build_observations, fit_report, read_observations

GOOD = """# a comment
Field, z ,value,std,rel_std

ne,0.0125,1.2e18,,0.1
ne,0.02,2e18,4e17,
ui_1,0.03,15000,500,
ui_1,0.01,-2000,,0.5
discharge_voltage_v,,300,1,
thrust_N,,0.08,,0.05
"""


def _write(tmp_path: Path, text: str, name: str = "obs.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_reads_and_normalizes(tmp_path: Path, meta: dict) -> None:
    obs = read_observations(_write(tmp_path, "\ufeff" + GOOD), meta)
    assert len(obs) == 6 and [o.line for o in obs.table] == [4, 5, 6, 7, 8, 9]
    y, sy = obs.y.numpy(), obs.sigma_y.numpy()
    # log row, relative error: a lognormal of relative sd ρ, √ln(1 + ρ²)/s_r
    assert y[0] == pytest.approx((math.log(1.2e18) - 40.0) / 2.0)
    assert sy[0] == pytest.approx(math.sqrt(math.log1p(0.1**2)) / 2.0)
    # log row, absolute error: ln(1 + σ/q)/s_r
    assert sy[1] == pytest.approx(math.sqrt(math.log1p((4e17 / 2e18) ** 2)) / 2.0)
    assert obs.table[1].std == pytest.approx(4e17) and obs.table[0].std == pytest.approx(1.2e17)
    # linear rows: σ/s_r, and ρ·|q| for a relative error
    assert y[2] == pytest.approx((15000 - 8000) / 10000) and sy[2] == pytest.approx(0.05)
    assert sy[3] == pytest.approx(1000 / 10000)
    # scalar rows, linear and log
    assert y[4] == pytest.approx(0.0) and sy[4] == pytest.approx(0.01)
    assert y[5] == pytest.approx((math.log(0.08) + 3.0) / 0.5)
    assert sy[5] == pytest.approx(math.sqrt(math.log1p(0.05**2)) / 0.5)
    assert obs.table[4].z_m is None and obs.table[4].scalar and obs.table[0].log


def test_operator_interpolates_and_averages(tmp_path: Path, meta: dict) -> None:
    obs = read_observations(_write(tmp_path, GOOD), meta)
    grid = np.asarray(meta["grid_m"])
    x = torch.zeros(1, 5, 8, dtype=torch.float64)
    x[0, 0] = torch.as_tensor(3.0 + 10.0 * grid)  # linear along z: interpolation is exact
    x[0, 3] = torch.arange(8, dtype=torch.float64)  # scalar observation averages its row
    Ax = obs.operator(x)[0]
    assert float(Ax[0]) == pytest.approx(3.0 + 10.0 * 0.0125)
    assert float(Ax[1]) == pytest.approx(3.0 + 10.0 * 0.02)
    assert float(Ax[4]) == pytest.approx(3.5)


def test_fit_report(tmp_path: Path, meta: dict) -> None:
    obs = read_observations(_write(tmp_path, GOOD), meta)
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 0.5, size=(16, 5, 8))
    x[:, 3] = x[:, 3].mean(-1, keepdims=True)
    rep = fit_report(torch.as_tensor(x), obs)
    pred = obs.operator(torch.as_tensor(x)).numpy()
    z = (pred.mean(0) - obs.y.numpy()) / obs.sigma_y.numpy()
    assert np.allclose(rep.residual_over_std, z) and rep.chi2 == pytest.approx(float((z**2).sum()))
    assert rep.chi2_per_obs == pytest.approx(rep.chi2 / 6)
    assert len(rep.rows) == 6 and len(rep.columns) == len(rep.rows[0])
    assert rep.rows[4][4] == pytest.approx(300.0 + 100.0 * pred[:, 4].mean())  # physical prediction
    assert "chi2" in rep.summary() and "\n" not in rep.summary()
    # the same report from physical samples
    mean, std = np.asarray(meta["mean"])[:, None], np.asarray(meta["std"])[:, None]
    phys = mean + std * x
    for r, is_log in enumerate(meta["log"]):
        if is_log:
            phys[:, r] = np.exp(phys[:, r])
    rep2 = fit_report(phys, obs, physical=True)
    assert np.allclose(rep2.residual_over_std, rep.residual_over_std)


def test_build_observations_from_python(meta: dict) -> None:
    obs = build_observations([{"field": "phi", "z": 0.0, "value": 150.0, "std": 2.0}], meta)
    assert float(obs.y[0]) == 0.0 and float(obs.sigma_y[0]) == pytest.approx(0.01)
    with pytest.raises(ObservationError, match=r"^observation 1: this model has no row 'Tev'"):
        build_observations(
            [{"field": "Tev", "z": 0.01, "value": 10, "std": 1}], meta, known_fields=["Tev", "ne", "phi"]
        )


def test_select_keeps_the_chosen_observations(meta: dict) -> None:
    entries = [{"field": "phi", "z": 0.01, "value": 150.0, "std": 2.0},
               {"field": "thrust_N", "z": "", "value": 0.08, "std": 0.001},
               {"field": "ne", "z": 0.023, "value": 1e18, "rel_std": 0.1}]
    obs = build_observations(entries, meta)
    sub = obs.select([2, 0])
    assert [o.field for o in sub.table] == ["ne", "phi"]
    x = torch.randn(3, len(meta["rows"]), len(meta["grid_m"]), dtype=torch.float64)
    assert torch.equal(sub.operator(x), obs.operator(x)[:, [2, 0]])
    assert torch.equal(sub.y, obs.y[[2, 0]]) and torch.equal(sub.sigma_y, obs.sigma_y[[2, 0]])


HEADER = "field,z,value,std,rel_std\n"
BAD = [
    ("", "is empty"),
    ("# only a comment\n\n", "is empty"),
    (HEADER, "no observations"),
    ("field,z,value\nne,0.01,1e18\n", "missing column(s) std"),
    ("name,z,value,std\nne,0.01,1e18,1e17\n", "missing column(s) field"),
    ("ne,0.01,1e18,1e17\n", "missing column(s)"),  # header required
    ("field,z,value,std,std\nne,0.01,1e18,1e17,1\n", "column(s) std appear more than once"),
    ("field,z,value,std,sdt\nne,0.01,1e18,1e17,\n", "unknown column(s) sdt"),
    (
        HEADER + "Te,0.01,10,1,\n",
        "line 2: unknown field 'Te'; valid fields: ne, ui_1, phi, discharge_voltage_v, thrust_N",
    ),
    (HEADER + ",0.01,10,1,\n", "line 2: the field is empty"),
    (HEADER + "ne,0.09,1e18,1e17,\n", "line 2: z = 0.09 m is outside the model's grid domain [0, 0.07] m"),
    (HEADER + "ne,-0.001,1e18,1e17,\n", "outside the model's grid domain"),
    (HEADER + "discharge_voltage_v,0.01,300,1,\n", "z given for scalar 'discharge_voltage_v'"),
    (HEADER + "ne,,1e18,1e17,\n", "z missing for field 'ne'"),
    (HEADER + "ne,abc,1e18,1e17,\n", "z 'abc' is not a number"),
    (HEADER + "ne,0.01,lots,1e17,\n", "value 'lots' is not a number"),
    (HEADER + "ne,0.01,nan,1e17,\n", "value must be finite"),
    (HEADER + "ne,0.01,,1e17,\n", "value missing"),
    (HEADER + "ui_1,0.01,100,0,\n", "std must be positive, got 0"),
    (HEADER + "ui_1,0.01,100,-5,\n", "std must be positive"),
    (HEADER + "ui_1,0.01,100,big,\n", "std 'big' is not a number"),
    (HEADER + "ui_1,0.01,100,,-0.1\n", "rel_std must be positive"),
    (HEADER + "ui_1,0.01,100,,x\n", "rel_std 'x' is not a number"),
    (HEADER + "ui_1,0.01,0,,0.1\n", "rel_std of a zero value"),
    (HEADER + "ui_1,0.01,100,5,0.1\n", "exactly one of std"),
    (HEADER + "ui_1,0.01,100,,\n", "exactly one of std"),
    (HEADER + "ne,0.01,-1e18,1e17,\n", "'ne' is stored as a logarithm, so its value must be positive"),
    (HEADER + "thrust_N,,0,,0.1\n", "'thrust_N' is stored as a logarithm"),
    (HEADER + "ui_1,0.01,100,5,,7\n", "6 values for 5 columns"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_errors_are_one_helpful_line(tmp_path: Path, meta: dict, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ObservationError) as info:
        read_observations(path, meta)
    msg = str(info.value)
    assert message in msg and "\n" not in msg and str(path) in msg


def test_missing_file(tmp_path: Path, meta: dict) -> None:
    with pytest.raises(ObservationError, match="not found"):
        read_observations(tmp_path / "nope.csv", meta)
