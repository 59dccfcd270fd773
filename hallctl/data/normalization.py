"""The normalization of a dataset: per row an optional log, then a z-score (docs/model.md §1).

.. math::

    x_r = (g_r(q_r) - \\mu_r) / s_r, \\qquad g_r = \\ln \\text{ on log rows, else the identity},

with s_r the row's standard deviation divided by the target std (0.5 for EDM2). Every conversion
between physical values q and model values x goes through :class:`Normalization`; the plain-JSON
form (``to_dict``/``from_dict``) is what datasets and model files carry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["LOG_FLOOR", "Normalization"]

LOG_FLOOR = 1e-30
"""Physical values on log rows are floored here before the log: quantities that are exactly zero (an
absent charge state) stay finite."""
_EXP_CEIL = 88.0
"""The largest exponent float32 holds: log rows are capped there on the way back."""


@dataclass(frozen=True)
class Normalization:
    """Rows, their kinds and units, and the per-row transform (log flag, mean, divisor).

    Attributes:
        rows, kinds, units: names, "field" or "scalar", and SI units of the rows.
        log: whether each row is stored as a natural log.
        mean, std: μ_r and s_r of the z-score (of the log on log rows).
        grid_m: the axial grid of the rows.
        target_std: σ_d, the std the rows were scaled to.
        extra: other keys of the plain form (e.g. ``channel_length_m``), kept as they are.
    """

    rows: list[str]
    kinds: list[str]
    units: list[str]
    log: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    grid_m: np.ndarray
    target_std: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, norm: Mapping[str, Any]) -> Normalization:
        """From the plain form (keys log, mean, std and optionally rows, kind, units, grid_m, target_std, ...)."""
        known = {"rows", "kind", "units", "log", "mean", "std", "grid_m", "target_std"}
        rows = list(norm.get("rows", [""] * len(norm["log"])))
        return cls(rows=rows, kinds=list(norm.get("kind", ["field"] * len(rows))),
                   units=list(norm.get("units", [""] * len(rows))), log=np.asarray(norm["log"], dtype=bool),
                   mean=np.asarray(norm["mean"], dtype=float), std=np.asarray(norm["std"], dtype=float),
                   grid_m=np.asarray(norm.get("grid_m", []), dtype=float),
                   target_std=float(norm.get("target_std", 0.5)),
                   extra={k: v for k, v in norm.items() if k not in known})

    @classmethod
    def of(cls, norm: Normalization | Mapping[str, Any]) -> Normalization:
        """``norm`` itself, or its plain form converted."""
        return norm if isinstance(norm, Normalization) else cls.from_dict(norm)

    def to_dict(self) -> dict[str, Any]:
        """The plain-JSON form that datasets and model files carry."""
        return {"rows": list(self.rows), "kind": list(self.kinds), "log": [bool(x) for x in self.log],
                "mean": [float(x) for x in self.mean], "std": [float(x) for x in self.std],
                "units": list(self.units), "grid_m": [float(x) for x in self.grid_m],
                "target_std": float(self.target_std), **self.extra}

    @property
    def scalar_rows(self) -> list[int]:
        """Indices of the scalar rows (constant along z)."""
        return [i for i, k in enumerate(self.kinds) if k == "scalar"]

    @property
    def typical(self) -> np.ndarray:
        """Each row's typical magnitude, the RMS over the normalization set: √(μ² + std²) (physical units on
        linear rows; the log's on log rows)."""
        return np.array([math.hypot(float(m), float(s) * self.target_std) for m, s in zip(self.mean, self.std,
                                                                                          strict=True)])

    def to_model(self, phys: np.ndarray) -> np.ndarray:
        """Physical values (…, R, W) → model values, rows as in ``rows``."""
        q = np.asarray(phys, dtype=float)
        g = np.where(self.log[:, None], np.log(np.maximum(q, LOG_FLOOR)), q)
        return (g - self.mean[:, None]) / self.std[:, None]

    def to_physical(self, x: np.ndarray) -> np.ndarray:
        """Model values (…, R, W) → physical values: q_r = g_r⁻¹(x_r s_r + μ_r)."""
        g = np.asarray(x, dtype=float) * self.std[:, None] + self.mean[:, None]
        return np.where(self.log[:, None], np.exp(np.minimum(g, _EXP_CEIL)), g)

    def value_to_model(self, row: int, q: float) -> float:
        """One physical value of row ``row`` → its model value (q > 0 on log rows)."""
        g = math.log(q) if self.log[row] else float(q)
        return (g - float(self.mean[row])) / float(self.std[row])

    def value_to_physical(self, row: int, x: np.ndarray | float) -> np.ndarray | float:
        """Model values of row ``row`` → physical values."""
        g = float(self.mean[row]) + float(self.std[row]) * x
        return np.exp(g) if self.log[row] else g

    def noise_to_model(self, row: int, *, std: float = 0.0, rel_std: float = 0.0) -> float:
        """The model-space noise σ of an observation of row ``row``: an absolute ``std`` on a linear row, a
        relative ``rel_std`` ρ on a log row (a lognormal error: σ_ln = √ln(1 + ρ²))."""
        if self.log[row]:
            return math.sqrt(math.log1p(rel_std * rel_std)) / float(self.std[row])
        return std / float(self.std[row])
