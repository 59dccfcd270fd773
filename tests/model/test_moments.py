"""The training data's covariance that model files carry for guidance (hallctl.model.moments)."""

from __future__ import annotations

import pytest
import torch

from hallctl.model import build_precond
from hallctl.model.io import load_model, read_data_covariance, save_model
from hallctl.model.moments import data_covariance


def test_eigenpairs_reproduce_the_sample_covariance() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 3, 8, generator=g) @ torch.randn(8, 8, generator=g) + 2.0
    cov = data_covariance(x, chunk=64)  # chunked accumulation = one pass
    flat = x.reshape(300, -1).double()
    S = torch.cov(flat.T, correction=0)
    d = S.shape[0]
    mu = torch.trace(S) / d
    expected = (1 - cov.shrinkage) * S + cov.shrinkage * mu * torch.eye(d, dtype=torch.float64)
    U, lam = cov.basis.double(), cov.eigenvalues.double()
    approx = (U * lam) @ U.T + cov.floor * (torch.eye(d, dtype=torch.float64) - U @ U.T)
    torch.testing.assert_close(approx, expected, rtol=1e-4, atol=1e-4)
    assert cov.num_records == 300 and bool((cov.eigenvalues[:-1] >= cov.eigenvalues[1:]).all())
    assert 0 < cov.shrinkage < 0.2  # 300 records in 24 dimensions: little shrinkage
    # few records: strong shrinkage toward μI, rank N − 1 kept, the rest in the floor
    few = data_covariance(x[:5])
    assert few.eigenvalues.numel() == 4 and few.shrinkage > 0.3 and few.floor > 0
    assert data_covariance(x, max_rank=3).basis.shape == (24, 3)


def test_model_files_carry_it_and_older_files_have_none(tmp_path, tiny_cfg) -> None:
    net = build_precond(tiny_cfg, rows=3, length=16)
    plain = save_model(tmp_path / "plain.safetensors", net)
    assert load_model(plain)[0].data_covariance is None and read_data_covariance(plain) is None
    net.data_covariance = data_covariance(torch.randn(40, 3, 16, generator=torch.Generator().manual_seed(1)))
    path = save_model(tmp_path / "m.safetensors", net)
    loaded, record = load_model(path)
    assert record["data_covariance"]["num_records"] == 40
    assert loaded.data_covariance.floor == pytest.approx(net.data_covariance.floor)
    torch.testing.assert_close(loaded.data_covariance.basis, net.data_covariance.basis)
    torch.testing.assert_close(read_data_covariance(path).eigenvalues, net.data_covariance.eigenvalues)
    for name, value in net.state_dict().items():  # the weights are untouched by it
        assert torch.equal(loaded.state_dict()[name], value)
