"""Prior distributions of campaign parameters (the ``[generate.params.<name>]`` tables).

Each prior is a small frozen dataclass; ``draw(rng, n)`` samples it with a numpy Generator.
For ``lognormal`` the ``mean``/``std`` are those of ln X (as in Distributions.jl's LogNormal(μ, σ));
``low``/``high`` truncate ``normal`` and ``lognormal`` (truncated draws use inverse-CDF sampling,
so they cost one uniform each and never loop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DISTRIBUTIONS", "Prior"]

DISTRIBUTIONS = ("uniform", "normal", "truncated-normal", "lognormal", "loguniform", "fixed")

_INF = math.inf


def _ndtr(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF Φ(x)."""
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(x, dtype=float) / math.sqrt(2.0)))


def _ndtri(p: np.ndarray) -> np.ndarray:
    """Inverse standard normal CDF Φ⁻¹(p) (Acklam's rational approximation + one Newton step)."""
    p = np.asarray(p, dtype=float)
    a = [-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00]
    b = [-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01]
    c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00]
    d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00]
    plow, phigh = 0.02425, 1 - 0.02425
    x = np.empty_like(p)
    lo, hi = p < plow, p > phigh
    mid = ~(lo | hi)
    q = np.sqrt(-2 * np.log(np.where(lo, p, 0.5)))
    x[lo] = ((((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
             / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1))[lo]
    q = np.sqrt(-2 * np.log(np.where(hi, 1 - p, 0.5)))
    x[hi] = -((((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
              / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1))[hi]
    q = p - 0.5
    r = q * q
    x[mid] = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
              / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1))[mid]
    # one Newton refinement on Φ(x) = p
    err = _ndtr(x) - p
    x = x - err * math.sqrt(2 * math.pi) * np.exp(0.5 * x * x)
    return x


@dataclass(frozen=True)
class Prior:
    """One parameter's prior.

    Attributes:
        dist: one of ``DISTRIBUTIONS``.
        low, high: bounds of ``uniform``/``loguniform``; truncation of ``normal``/``lognormal``
            (``-inf``/``inf`` = none).
        mean, std: of X for ``normal``/``truncated-normal``, of ln X for ``lognormal``.
        value: the constant of ``fixed``.
    """

    dist: str
    low: float = -_INF
    high: float = _INF
    mean: float = 0.0
    std: float = 1.0
    value: float = 0.0

    def problems(self) -> list[str]:
        """What is wrong with the arguments (empty when valid)."""
        out = []
        if self.dist not in DISTRIBUTIONS:
            return [f"dist = {self.dist!r} is not one of {', '.join(DISTRIBUTIONS)}"]
        if self.dist in ("uniform", "loguniform"):
            if not (math.isfinite(self.low) and math.isfinite(self.high)):
                out.append(f"{self.dist} needs finite low and high")
            elif not self.low < self.high:
                out.append(f"low ({self.low}) must be below high ({self.high})")
            if self.dist == "loguniform" and self.low <= 0:
                out.append(f"loguniform needs low > 0 (got {self.low})")
        if self.dist in ("normal", "truncated-normal", "lognormal"):
            if not self.std > 0:
                out.append(f"std must be positive (got {self.std})")
            if not self.low < self.high:
                out.append(f"low ({self.low}) must be below high ({self.high})")
            if self.dist == "lognormal" and self.high <= 0:
                out.append("lognormal needs high > 0")
        return out

    def draw(self, rng: np.random.Generator, n: int = 1) -> np.ndarray:
        """``n`` independent draws (float64 array)."""
        if self.dist == "fixed":
            return np.full(n, float(self.value))
        if self.dist == "uniform":
            return rng.uniform(self.low, self.high, n)
        if self.dist == "loguniform":
            return np.exp(rng.uniform(math.log(self.low), math.log(self.high), n))
        lo, hi = self.low, self.high
        if self.dist == "lognormal":
            lo = math.log(lo) if lo > 0 else -_INF
            hi = math.log(hi) if math.isfinite(hi) else _INF
        u = rng.uniform(0.0, 1.0, n)
        if math.isinf(lo) and math.isinf(hi):
            z = self.mean + self.std * _ndtri(np.clip(u, 1e-300, 1 - 1e-16))
        else:
            a = _ndtr(np.array((lo - self.mean) / self.std)) if math.isfinite(lo) else 0.0
            b = _ndtr(np.array((hi - self.mean) / self.std)) if math.isfinite(hi) else 1.0
            p = np.clip(a + u * (b - a), 1e-300, 1 - 1e-16)
            z = np.clip(self.mean + self.std * _ndtri(p), lo, hi)
        return np.exp(z) if self.dist == "lognormal" else z

    def describe(self) -> str:
        """Short human description, e.g. ``truncated-normal(1.1, 0.333) on [0, 2]``."""
        if self.dist == "fixed":
            return f"fixed({self.value:g})"
        if self.dist in ("uniform", "loguniform"):
            return f"{self.dist}({self.low:g}, {self.high:g})"
        text = f"{self.dist}({self.mean:g}, {self.std:g})"
        if math.isfinite(self.low) or math.isfinite(self.high):
            text += f" on [{self.low:g}, {self.high:g}]"
        return text
