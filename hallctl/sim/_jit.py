"""The one numba ``jit`` wrapper of ``hallctl.sim`` (style.md, "For hallctl" item 4).

Options, and why:

* ``cache=True`` — compiled kernels are written next to the sources, so only the first run
  on a machine pays the compile time (``HALLCTL_NUMBA_CACHE=0`` disables it, e.g. to inspect
  the generated assembly).
* ``nogil=True`` — required: a thread pool runs several simulations in parallel.
* ``error_model="numpy"`` — a division by zero gives inf/NaN instead of raising
  ``ZeroDivisionError``; the solver detects non-finite values itself (docs/physics.md §11.7).
* ``fastmath`` only with the value-safe flags (contraction, reassociation, reciprocal): the
  regression numbers still match HallThruster.jl to ~1e-14, and NaN checks still work.
  Reassociation also lets LLVM vectorize the sums of the kernels (finiteness tests, integrals).
* ``jit(inline=True)`` (numba ``inline="always"``) for scalar helpers called inside cell loops,
  and ``jit(strict=True)`` (LLVM ``forceinline``, no fast-math flags) for the one helper whose
  accuracy needs the exact IEEE order (``vecmath.log_vec``): an out-of-line call in a loop body
  keeps the loop from vectorizing.

numba's on-disk cache is keyed on the source file of the *outermost* compiled function only,
so editing a kernel in another module would silently reuse a stale time loop. The cache
locator below keys every kernel of this package on the stamps of all its modules instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numba import njit

__all__ = ["jit"]

# fastmath without "nnan"/"ninf": NaN and inf keep their IEEE meaning, so the finiteness checks
# of the kernels still work; the regression numbers are unchanged (tests/sim/test_regression.py)
_FASTMATH = {"contract", "arcp", "reassoc", "nsz", "afn"}
_OPTIONS = {"cache": os.environ.get("HALLCTL_NUMBA_CACHE", "1") != "0", "nogil": True, "error_model": "numpy",
            "fastmath": _FASTMATH}
_SIM_DIR = Path(__file__).resolve().parent


def _package_stamp() -> tuple:
    stamps = []
    for p in sorted(_SIM_DIR.glob("*.py")):
        st = p.stat()
        stamps.append((p.name, st.st_mtime, st.st_size))
    return tuple(stamps)


def _install_locator() -> None:
    try:
        from numba.core.caching import CacheImpl, InTreeCacheLocator
    except ImportError:  # another numba layout: keep its default locators
        return

    class _PackageLocator(InTreeCacheLocator):
        """In-tree cache whose validity stamp covers every module of hallctl.sim."""

        def get_source_stamp(self) -> tuple:
            return _package_stamp()

        @classmethod
        def from_function(cls, py_func: Callable[..., Any], py_file: str) -> _PackageLocator | None:
            try:
                inside = Path(py_file).resolve().parent == _SIM_DIR
            except (OSError, TypeError):
                return None
            if not inside or not os.access(_SIM_DIR, os.W_OK):
                return None
            return super().from_function(py_func, py_file)

    locators = getattr(CacheImpl, "_locator_classes", None)
    if isinstance(locators, list) and not any(k.__name__ == "_PackageLocator" for k in locators):
        locators.insert(0, _PackageLocator)


_install_locator()


def jit(func: Callable[..., Any] | None = None, *, inline: bool = False, strict: bool = False) -> Callable[..., Any]:
    """Compile ``func`` in nopython mode with the project-wide options above.

    ``@jit(inline=True)``: a scalar helper called inside cell loops, inlined by numba itself
    (``inline="always"``) so that the loop around it can vectorize. Give such helpers scalar
    arguments only: an inlined array argument costs a reference-count round trip per call.
    ``@jit(strict=True)``: a helper whose accuracy depends on the exact IEEE evaluation order
    (``vecmath.log_vec``): no fast-math flags, and LLVM-inlined (``forceinline``), so that the
    inlined instructions keep their own strict semantics inside fast-math callers.
    """
    options = dict(_OPTIONS)
    if inline:
        options["inline"] = "always"
    if strict:
        options["forceinline"] = True
        options["fastmath"] = False
    if func is None:
        return njit(**options)
    return njit(**options)(func)
