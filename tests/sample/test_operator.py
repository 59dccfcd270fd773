"""hallctl.sample.operator: adjoint, interpolation exactness, scalar rows, diag(A Aᵀ)."""

import pytest
import torch

from hallctl.sample import SparseObservationOperator, interpolation_terms, row_mean_terms

C, W = 3, 9
GRID = [0.0, 0.01, 0.02, 0.035, 0.04, 0.05, 0.06, 0.065, 0.08]  # non-uniform, metres


def _random_operator(seed: int = 0) -> SparseObservationOperator:
    g = torch.Generator().manual_seed(seed)
    terms = [
        interpolation_terms(int(r), float(z) * 0.08, GRID)
        for r, z in zip(torch.randint(0, C, (6,), generator=g), torch.rand(6, generator=g), strict=True)
    ]
    terms += [row_mean_terms(2, W), [(0, 3, 0.5), (0, 3, 0.25), (1, 0, -1.0)]]  # duplicates are summed
    return SparseObservationOperator(terms, channels=C, length=W, dtype=torch.float64)


def test_adjoint_identity() -> None:
    A = _random_operator()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, C, W, generator=g, dtype=torch.float64)
    v = torch.randn(4, A.num_obs, generator=g, dtype=torch.float64)
    assert torch.allclose((A(x) * v).sum(), (x * A.adjoint(v)).sum(), rtol=1e-12)
    M = A.dense()
    assert torch.allclose(A(x), x.reshape(4, -1) @ M.T)
    assert torch.allclose(A.adjoint(v).reshape(4, -1), v @ M)
    assert torch.allclose(A.diag_AAt(), torch.diag(M @ M.T))
    assert float(M[-1, 3]) == 0.75


def test_linear_interpolation_is_exact_without_snapping() -> None:
    a, b = 1.5, -20.0
    x = torch.zeros(1, C, W, dtype=torch.float64)
    x[0, 1] = a + b * torch.tensor(GRID, dtype=torch.float64)
    zs = [0.0, 0.004, 0.0101, 0.03, 0.035, 0.0649, 0.08]
    A = SparseObservationOperator(
        [interpolation_terms(1, z, GRID) for z in zs], channels=C, length=W, dtype=torch.float64
    )
    assert torch.allclose(A(x)[0], a + b * torch.tensor(zs, dtype=torch.float64), rtol=0, atol=1e-13)
    # a point at a grid node reads that node only
    assert interpolation_terms(1, 0.035, GRID)[0] == (1, 3, 1.0)
    with pytest.raises(ValueError, match="outside the grid"):
        interpolation_terms(0, 0.081, GRID)


def test_scalar_row_is_averaged() -> None:
    x = torch.randn(2, C, W, dtype=torch.float64)
    A = SparseObservationOperator([row_mean_terms(2, W)], channels=C, length=W, dtype=torch.float64)
    assert torch.allclose(A(x)[:, 0], x[:, 2].mean(-1))
    assert float(A.diag_AAt()[0]) == pytest.approx(1.0 / W)


def test_differentiable_and_movable() -> None:
    A = _random_operator()
    x = torch.randn(2, C, W, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(A(x).sum(), x)
    assert torch.allclose(g, A.adjoint(torch.ones(2, A.num_obs, dtype=torch.float64)))
    A32 = A.to(dtype=torch.float32)
    assert A32.weight.dtype == torch.float32 and A.weight.dtype == torch.float64 and A.to() is A


def test_rejects_bad_terms() -> None:
    with pytest.raises(ValueError, match="outside"):
        SparseObservationOperator([[(C, 0, 1.0)]], channels=C, length=W)
    with pytest.raises(ValueError, match="at least one"):
        SparseObservationOperator([], channels=C, length=W)
