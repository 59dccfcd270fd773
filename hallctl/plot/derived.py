"""Quantities derived from sampled rows for plotting (physical units).

* inverse Hall parameter Ω_e⁻¹ = ν_e m_e / (e B) and its anomalous part ν_an m_e / (e B);
* ionization frequency ν_iz ≈ n_n Σ_Z k_{0→Z}(ε) with ε = 3/2 T_e (docs/physics.md §4.3, §9; the drift
  energy K is not among the rows, so this slightly underestimates ε).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hallctl.sim.constants import E_CHARGE, M_E

__all__ = ["DERIVED", "derive"]


def _inverse_hall(rows: dict[str, np.ndarray]) -> np.ndarray:
    return rows["nu_e"] * M_E / (E_CHARGE * np.maximum(rows["B"], 1e-12))


def _anom_inverse_hall(rows: dict[str, np.ndarray]) -> np.ndarray:
    return rows["nu_an"] * M_E / (E_CHARGE * np.maximum(rows["B"], 1e-12))


def _ionization_frequency(rows: dict[str, np.ndarray]) -> np.ndarray:
    from hallctl.sim.rates import fitted_ionization_table

    eps = np.clip(1.5 * rows["Tev"], 0.0, 254.0)
    j = np.floor(eps).astype(int)
    t = eps - j
    k = np.zeros_like(eps)
    for product in (1, 2, 3):
        table = fitted_ionization_table(0, product)
        k += (1 - t) * table[j] + t * table[np.minimum(j + 1, len(table) - 1)]
    return rows["nn"] * k


#: name → (rows needed, function of a dict of rows)
DERIVED: dict[str, tuple[tuple[str, ...], Callable[[dict[str, np.ndarray]], np.ndarray]]] = {
    "inverse_hall": (("nu_e", "B"), _inverse_hall),
    "anom_inverse_hall": (("nu_an", "B"), _anom_inverse_hall),
    "nu_iz": (("nn", "Tev"), _ionization_frequency),
}


def derive(name: str, rows: dict[str, np.ndarray]) -> np.ndarray:
    """The derived quantity ``name`` from the rows it needs (KeyError names what is missing)."""
    needed, fn = DERIVED[name]
    missing = [r for r in needed if r not in rows]
    if missing:
        raise KeyError(f"{name} needs rows {missing}")
    return fn(rows)
