"""A vectorizable natural logarithm for the kernels' cell loops (docs/physics.md §17).

``math.log`` compiles to a libm call, which keeps LLVM from vectorizing any loop that contains
it; the electron update takes two logarithms per cell and step (ln Λ of §5.1 and ln(1 - γ)
of the sheath potential, §7.2). :func:`log_vec` is fdlibm's ``e_log.c`` (Sun Microsystems,
1993: "Permission to use, copy, modify, and distribute this software is freely granted,
provided that this notice is preserved") written with selects instead of branches, so that a
loop of them vectorizes. Its error is below 1 ulp (libm's is below ~0.5 ulp), and it returns
the IEEE special values of ``log``: NaN for x < 0 or NaN, -inf for ±0, +inf for +inf.

It is compiled without fast-math flags (``jit(strict=True)``): the error bound relies on the
evaluation order of the reduction ``k ln2_hi - ((f²/2 - (s (f²/2 + R) + k ln2_lo)) - f)``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from hallctl.sim._jit import jit

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numba.core.base import BaseContext
    from numba.core.typing.context import BaseContext as TypingContext
    from numba.core.typing.templates import Signature

__all__ = ["log_vec"]

_LN2_HI = 6.93147180369123816490e-01  # 0x3fe62e42 fee00000
_LN2_LO = 1.90821492927058770002e-10  # 0x3dea39ef 35793c76
_TWO54 = 1.80143985094819840000e16
_LG1 = 6.666666666666735130e-01  # coefficients of R(z) ≈ s⁻²(ln(1+f) - f + f²/2), |R error| < 2⁻⁵⁸·⁴⁵
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_MIN_NORMAL = 2.2250738585072014e-308


@intrinsic
def float_bits(typingctx: TypingContext, x: types.Type) -> tuple[Signature, Callable[..., ir.Value]] | None:
    """The IEEE-754 bit pattern of a float64 as an int64 (a free reinterpretation)."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context: BaseContext, builder: ir.IRBuilder, signature: Signature,
                args: Sequence[ir.Value]) -> ir.Value:
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def bits_float(typingctx: TypingContext, b: types.Type) -> tuple[Signature, Callable[..., ir.Value]] | None:
    """The float64 whose IEEE-754 bit pattern is the int64 ``b``."""
    if not isinstance(b, types.Integer):
        return None

    def codegen(context: BaseContext, builder: ir.IRBuilder, signature: Signature,
                args: Sequence[ir.Value]) -> ir.Value:
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@jit(strict=True)
def log_vec(x: float) -> float:
    """ln x [same unit conventions as ``math.log``], branch-free (fdlibm's algorithm).

    x = 2^k (1 + f) with √2/2 < 1 + f < √2; s = f/(2 + f); ln(1 + f) = f - s(f - R) or
    f - (f²/2 - s(f²/2 + R)) with R(s²) a degree-14 minimax polynomial; ln x = k ln 2 + ln(1 + f).
    """
    sub = x < _MIN_NORMAL  # subnormal (or non-positive): scale into the normal range first
    xs = x * _TWO54 if sub else x
    bits = float_bits(xs)
    hx = bits >> 32
    k = (hx >> 20) - 1023 - (54 if sub else 0)
    hx &= 0x000FFFFF
    i = (hx + 0x95F64) & 0x100000  # 0 if the mantissa is below √2, else 2^20
    k += i >> 20
    # 1 + f: the mantissa with exponent 0 (or -1 above √2)
    f = bits_float(((hx | (i ^ 0x3FF00000)) << 32) | (bits & 0xFFFFFFFF)) - 1.0
    s = f / (2.0 + f)
    dk = float(k)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    R = t2 + t1
    hfsq = 0.5 * f * f
    big = ((hx - 0x6147A) | (0x6B851 - hx)) > 0  # 1 + f far from 1: the f²/2 form is more accurate
    lg = (dk * _LN2_HI - ((hfsq - (s * (hfsq + R) + dk * _LN2_LO)) - f) if big
          else dk * _LN2_HI - ((s * (f - R) - dk * _LN2_LO) - f))
    if x > 0.0 and x < math.inf:
        return lg
    return -math.inf if x == 0.0 else (x if x > 0.0 else math.nan)
