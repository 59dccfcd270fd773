"""Execution choices for training: device, mixed precision, threads, the fast paths.

Nothing here changes what is computed (docs/model.md §3-4), only how: the switch between the fused
and the plain MP layers, an optional ``torch.compile`` of the U-Net that falls back to eager mode
when compilation fails, and bf16 autocast where it pays.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from hallctl.errors import ModelError
from hallctl.model.layers import MPConv

__all__ = [
    "CompiledOrEager",
    "force_weights",
    "keep_freed_memory",
    "native_cpu_bf16",
    "resolve_amp",
    "resolve_device",
    "set_fused",
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


def native_cpu_bf16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX512-BF16 or AMX)."""
    cpu = torch.cpu
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(cpu, name, lambda: False)() for name in probes)


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """ "off" → None (float32); "bf16" → bfloat16; "auto" → bf16 where it is native and pays.

    "auto" picks bf16 on CUDA GPUs that support it and on CPUs with native bf16 (AVX512-BF16 or
    AMX), where benchmarks/bench_train.py measured 1.3× the float32 step on a 2-core AVX512-BF16
    CPU; float32 elsewhere (emulated bf16 is slower) and on MPS. The weights, the
    preconditioning, the loss and the EMAs stay float32 either way.
    """
    if amp == "off":
        return None
    if amp == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ModelError("train.amp = 'bf16' but this GPU has no bfloat16 support; use amp = 'off'")
        return torch.bfloat16
    if amp == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
        return torch.bfloat16 if device.type == "cpu" and native_cpu_bf16() else None
    raise ModelError(f"train.amp = {amp!r} is invalid: use 'auto', 'bf16' or 'off'")


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed blocks for reuse instead of handing them back to the system.

    A CPU training step allocates and frees the same activations every step. Blocks above
    malloc's mmap threshold are returned to the kernel on every free and page-faulted back in
    (zero-filled) on the next allocation; raising the mmap and trim thresholds keeps them in the
    heap: on the 2-core development CPU, 10 small-config steps took 4.4k page faults instead of
    61k, and a step ~4 % less time. Process-wide; a no-op (False) where malloc is not glibc's.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, 1 << 30)) and bool(mallopt(m_trim_threshold, (1 << 31) - 1))


def force_weights(module: nn.Module, enabled: bool = True) -> None:
    """Apply Eq. (66) to every MP layer of ``module`` now, and mark them ``preforced`` (or unmark them).

    A compiled training forward must not mutate parameters: the compiled backward would differ from
    eager mode's. The trainer of a compiled U-Net calls this before every forward instead.
    """
    for m in module.modules():
        if isinstance(m, MPConv):
            m.preforced = enabled
            if enabled and m.training:
                m.force_weight()


def set_fused(module: nn.Module, enabled: bool) -> None:
    """Switch the fused fast paths of every MPConv and Block in ``module`` on or off.

    Off = the plain transcription of EDM2 (per-call normalize twice through autograd, explicit
    MP-SiLU, clamp): the same values, used as the benchmark's baseline and in the twin tests.
    """
    for m in module.modules():
        if hasattr(m, "fused"):
            m.fused = enabled


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
