"""Execution choices for training: device, mixed precision, threads, the fast paths.

Nothing here changes what is computed (model.md §3-4), only how: forced weight normalization
once per step for all layers at once, an optional ``torch.compile`` of the U-Net that falls back
to eager mode when compilation fails, and bf16 autocast where it pays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from hallctl.errors import ModelError
from hallctl.model.layers import EPS, MPConv

__all__ = [
    "CompiledOrEager",
    "force_normalize_",
    "mp_convs",
    "resolve_amp",
    "resolve_device",
    "set_force_in_forward",
]


def resolve_device(device: str) -> torch.device:
    """ "auto" → cuda, then mps, then cpu; otherwise the named device (checked to exist)."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ModelError(f"train.device = {device!r} is not a device; use auto, cpu, cuda or mps") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ModelError("train.device = 'cuda' but no CUDA GPU is visible; use device = 'auto' or 'cpu'")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ModelError("train.device = 'mps' but MPS is not available; use device = 'auto' or 'cpu'")
    return dev


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """ "off" → None (float32); "bf16" → bfloat16; "auto" → bf16 on CUDA GPUs that support it.

    On the CPU "auto" keeps float32: bf16 autocast was faster on an AVX512-BF16 CPU
    (benchmarks/bench_train.py) but is not on CPUs without native bf16, and it coarsens the
    bitwise reproducibility tests rely on; ask for "bf16" explicitly.
    """
    if amp == "off":
        return None
    if amp == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ModelError("train.amp = 'bf16' but this GPU has no bfloat16 support; use amp = 'off'")
        return torch.bfloat16
    if amp == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return None
    raise ModelError(f"train.amp = {amp!r} is invalid: use 'auto', 'bf16' or 'off'")


def mp_convs(module: nn.Module) -> list[MPConv]:
    """Every MP layer inside ``module``."""
    return [m for m in module.modules() if isinstance(m, MPConv)]


def set_force_in_forward(module: nn.Module, enabled: bool) -> None:
    """Switch per-call forced weight normalization (EDM2's habit) on or off for all MP layers."""
    for m in mp_convs(module):
        m.force_in_forward = enabled


@torch.no_grad()
def force_normalize_(layers: list[MPConv]) -> None:
    """Eq. (66) for all layers at once: W_o ← W_o / (ε + ‖W_o‖/√fan_in), one batched pass per step.

    Same values as the per-call version; multi-tensor kernels replace ~100 small launches.
    """
    if not layers:
        return
    flat = [m.weight.reshape(m.weight.shape[0], -1) for m in layers]
    norms = [torch.linalg.vector_norm(w, dim=1, keepdim=True) for w in flat]
    scales = [m.fan_in**-0.5 for m in layers]
    torch._foreach_mul_(norms, scales)
    torch._foreach_add_(norms, EPS)
    torch._foreach_div_(flat, norms)


class CompiledOrEager:
    """Calls ``torch.compile(fn)`` and, if compiling fails, warns once and runs ``fn`` eagerly.

    Compilation happens lazily on the first call (and the backward graph on the first backward),
    so the training step reports failures through :meth:`fail` as well.
    """

    def __init__(self, fn: Callable[..., Any], enabled: bool, warn: Callable[[str], None]) -> None:
        self.eager = fn
        self.warn = warn
        self.compiled = None
        if enabled:
            try:
                self.compiled = torch.compile(fn)
            except Exception as exc:  # e.g. unsupported Python or platform
                self.fail(exc)

    @property
    def active(self) -> bool:
        return self.compiled is not None

    def fail(self, exc: BaseException) -> None:
        """Fall back to eager mode for the rest of the run."""
        lines = str(exc).strip().splitlines()
        self.warn(f"torch.compile failed ({type(exc).__name__}: {lines[0] if lines else ''}); running eagerly")
        self.compiled = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.compiled is not None:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as exc:
                self.fail(exc)
        return self.eager(*args, **kwargs)
