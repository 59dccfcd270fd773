"""Adam over the parameters' memory-order views.

The MP weights are stored input-major (hallctl.model.layers.input_major): contiguous in memory, but
not in their logical (out, in, k) shape. torch's fused Adam runs about half as fast on such tensors
(19 → 38 ms per step for the small configuration, benchmarks/bench_train.py's machine). Adam is
elementwise, so :class:`DenseAdam` hands torch's Adam each parameter through its memory-order view:
the same storage with the axes permuted by decreasing stride, which is contiguous. The values are
those of ``torch.optim.Adam`` on the parameters themselves, and the state dict keeps the
parameters' logical shapes, so checkpoints read and write as before.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["DenseAdam", "memory_order"]


def memory_order(t: Tensor) -> tuple[int, ...]:
    """The axes of ``t`` by decreasing stride: ``t.permute(memory_order(t))`` is contiguous for a dense tensor."""
    return tuple(sorted(range(t.ndim), key=lambda d: -t.stride(d)))


def _inverse(order: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(range(len(order)), key=lambda d: order[d]))


class DenseAdam:
    """``torch.optim.Adam`` (same arguments) stepping contiguous views of ``params``.

    ``step`` takes the gradients from ``params``; ``param_groups``, ``zero_grad``, ``state_dict``
    and ``load_state_dict`` behave as the wrapped optimizer's, in the parameters' own shapes.
    """

    def __init__(self, params: list[nn.Parameter], **kwargs: Any) -> None:
        self.params = list(params)
        self.orders = [memory_order(p) for p in self.params]
        # leaves sharing each parameter's storage: Adam's in-place update is the parameter's
        self.views = [nn.Parameter(p.detach().permute(o), requires_grad=p.requires_grad)
                      for p, o in zip(self.params, self.orders, strict=True)]
        self.adam = torch.optim.Adam(self.views, **kwargs)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.adam.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def step(self) -> None:
        for v, p, o in zip(self.views, self.params, self.orders, strict=True):
            v.grad = None if p.grad is None else p.grad.permute(o)
        try:
            self.adam.step()
        finally:
            for v in self.views:
                v.grad = None

    def _convert(self, state: dict[str, Any], to_views: bool) -> dict[str, Any]:
        """The state dict with each per-element state tensor permuted to the views' (or the parameters') axes."""
        per_param = {}
        for i, entry in state["state"].items():
            p, o = self.params[int(i)], self.orders[int(i)]
            logical, view = tuple(p.shape), tuple(p.permute(o).shape)
            out = {}
            for key, value in entry.items():
                if isinstance(value, Tensor) and value.ndim == p.ndim and value.ndim > 0:
                    if to_views and tuple(value.shape) == logical:
                        value = value.permute(o).contiguous()
                    elif not to_views and tuple(value.shape) == view:
                        value = value.permute(_inverse(o))
                out[key] = value
            per_param[i] = out
        return {**state, "state": per_param}

    def state_dict(self) -> dict[str, Any]:
        return self._convert(self.adam.state_dict(), to_views=False)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.adam.load_state_dict(self._convert(state, to_views=True))
