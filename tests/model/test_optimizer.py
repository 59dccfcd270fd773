"""DenseAdam: torch's Adam on the memory-order views of input-major parameters."""

from __future__ import annotations

import copy

import torch
from torch import nn

from hallctl.model.layers import input_major
from hallctl.model.optimizer import DenseAdam, memory_order


def twin_params(seed: int) -> list[nn.Parameter]:
    g = torch.Generator().manual_seed(seed)
    return [nn.Parameter(input_major(torch.randn(6, 5, 3, generator=g))),
            nn.Parameter(input_major(torch.randn(7, 4, generator=g))),
            nn.Parameter(torch.randn(9, generator=g)),
            nn.Parameter(torch.zeros([]))]


def set_grads(params: list[nn.Parameter], step: int) -> None:
    g = torch.Generator().manual_seed(100 + step)
    for p in params:
        p.grad = input_major(torch.randn(p.shape, generator=g)) if p.ndim > 1 else torch.randn(p.shape, generator=g)


def test_memory_order_views_are_contiguous():
    w = input_major(torch.randn(6, 5, 3))
    assert not w.is_contiguous() and w.permute(memory_order(w)).is_contiguous()
    assert memory_order(torch.randn(4, 2)) == (0, 1)


def test_dense_adam_steps_as_torch_adam_and_checkpoints_in_logical_shapes():
    ours, theirs = twin_params(0), twin_params(0)
    dense = DenseAdam(ours, lr=0.05, betas=(0.9, 0.99), eps=1e-8)
    plain = torch.optim.Adam(theirs, lr=0.05, betas=(0.9, 0.99), eps=1e-8)
    for step in range(3):
        set_grads(ours, step)
        set_grads(theirs, step)
        dense.step()
        plain.step()
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
        assert a.grad is not None  # step leaves the parameters' gradients alone
    state = dense.state_dict()
    for i, p in enumerate(ours):
        assert state["state"][i]["exp_avg"].shape == p.shape
        torch.testing.assert_close(state["state"][i]["exp_avg_sq"], plain.state_dict()["state"][i]["exp_avg_sq"])

    # a checkpoint of either optimizer (a copy, as read from disk) resumes into a fresh DenseAdam and
    # continues as torch's Adam does
    reference = [nn.Parameter(p.detach().clone()) for p in ours]
    reference_adam = torch.optim.Adam(reference, lr=0.05, betas=(0.9, 0.99), eps=1e-8)
    reference_adam.load_state_dict(copy.deepcopy(plain.state_dict()))
    set_grads(reference, 3)
    reference_adam.step()
    for source in (state, plain.state_dict()):
        again = [nn.Parameter(p.detach().clone()) for p in ours]
        resumed = DenseAdam(again, lr=0.05, betas=(0.9, 0.99), eps=1e-8)
        resumed.load_state_dict(copy.deepcopy(source))
        set_grads(again, 3)
        resumed.step()
        for a, b in zip(again, reference, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)

    dense.zero_grad()
    assert all(p.grad is None for p in ours)
