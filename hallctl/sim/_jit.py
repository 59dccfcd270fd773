"""The one numba ``jit`` wrapper of ``hallctl.sim`` (style.md, "For hallctl" item 4).

Options, and why:

* ``cache=True`` — compiled kernels are written next to the sources, so only the first run
  on a machine pays the compile time.
* ``nogil=True`` — required: a thread pool runs several simulations in parallel.
* ``error_model="numpy"`` — a division by zero gives inf/NaN instead of raising
  ``ZeroDivisionError``; the solver detects non-finite values itself (physics.md §11.7).
* ``fastmath`` stays off: the regression numbers must match HallThruster.jl to many digits.
"""

from numba import njit

__all__ = ["jit"]

_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}


def jit(func):
    """Compile ``func`` in nopython mode with the project-wide options above."""
    return njit(**_OPTIONS)(func)
