"""Reaction-rate coefficients of xenon (docs/physics.md §9).

HallThruster.jl tabulates Maxwellian rate coefficients k(ε) [m^3/s] against the mean electron
energy ε [eV] and evaluates them in two stages (§9.2):

1. the table is linearly interpolated at ε = 0, 1, …, 255 eV (clamped to its end values);
2. at run time ``k = (1 - t) k_j + t k_(j+1)`` with ``j = floor(ε)`` clamped to [0, 254] and
   ``t = ε - j`` (so it extrapolates linearly outside [0, 255]).

The package ships no tables: it evaluates the fitted closed forms of §9.3 at the upstream node
sets (§9.1) and then applies exactly the same two-stage procedure, which keeps upstream's
coarse-first-interval artefact (docs/physics.md §16 item 3). A user may supply tables instead:
a directory of upstream-format ``.dat`` files (``reaction_rate_directories``) or the
LANDMARK ``landmark_rates.csv`` (``landmark_rates_file``); those are read at run time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hallctl.errors import SimulationInputError
from hallctl.sim._jit import jit
from hallctl.sim.constants import (
    LANDMARK_ELASTIC_M3_S,
    LANDMARK_EXCITATION_EV,
    LANDMARK_IONIZATION_EV,
    XE_EXCITATION_EV,
    XE_IONIZATION_EV,
)

__all__ = [
    "ELASTIC_FIT",
    "EXCITATION_FIT",
    "IONIZATION_FITS",
    "LANDMARK_IZ_FIT",
    "LANDMARK_LOSS_FIT",
    "NUM_LOOKUP",
    "RateTables",
    "build_rate_tables",
    "elastic_fit",
    "excitation_nodes",
    "fit_rate",
    "ionization_nodes",
    "lookup_rate",
    "read_landmark_table",
    "read_rate_file",
    "resample_table",
    "table_index",
]

NUM_LOOKUP = 256
"""Number of run-time lookup nodes, ε = 0, 1, …, 255 eV (docs/physics.md §9.2)."""

# docs/physics.md §9.3: (A, B, C, D, F) of k = A ε^B exp(-C/ε) (1 + ε/D)^(-F), keyed by (a, b) for
# the reaction Xe^(a+) -> Xe^(b+).
IONIZATION_FITS: dict[tuple[int, int], tuple[float, float, float, float, float]] = {
    (0, 1): (3.33860249e-14, 0.59332934, 19.16331, 69.745151, 0.61327186),
    (0, 2): (2.76329109e-15, 0.80170912, 50.5533, 66.961887, 1.2425901),
    (0, 3): (4.57992438e-16, 0.94551477, 101.1703, 95.518591, 1.344038),
    (1, 2): (7.48054987e-14, 0.24432602, 34.24636, 67.302582, 0.50873238),
    (1, 3): (1.51582583e-15, 0.96081623, 81.43714, 72.236561, 1.5962707),
    (2, 3): (7.81479945e-14, 0.21889405, 49.297833, 68.619853, 0.71962503),
}
EXCITATION_FIT = (1.76901942e-15, 5.8864608, 8.8999079, 2.4738548, 6.2272265)
"""(A, B, C, D, F) of the lumped Xe excitation rate (docs/physics.md §9.3)."""

ELASTIC_FIT = (
    3.109209235e-4,
    -6.878763524e-3,
    6.294402856e-2,
    -0.3113607703,
    0.9226191104,
    -1.680481974,
    1.491264768,
    0.8588968715,
    -30.60096887,
)
"""Coefficients c_0..c_8 of ln k_el = Σ c_p (ln ε)^(8-p) (docs/physics.md §9.3)."""

LANDMARK_IZ_FIT = (math.exp(-30.9116), 0.501375, 19.3278, math.exp(15.779), 14458.2)
"""LANDMARK ionization k_iz fit, same 5-parameter form (docs/physics.md §9.3)."""

LANDMARK_LOSS_FIT = (math.exp(-29.7701), 1.4422, 12.642, math.exp(2.44861), 1.30721)
"""LANDMARK inelastic energy-loss coefficient fit [eV m^3/s] (docs/physics.md §9.3)."""

_ION_FILE_NAMES = {(0, 1): "Xe_Xe+", (0, 2): "Xe_Xe2+", (0, 3): "Xe_Xe3+", (1, 2): "Xe+_Xe2+",
                   (1, 3): "Xe+_Xe3+", (2, 3): "Xe2+_Xe3+"}


@jit
def fit_rate(eps_eV: float, A: float, B: float, C: float, D: float, F: float) -> float:
    """Fitted rate coefficient k(ε) = A ε^B exp(-C/ε) (1 + ε/D)^(-F) [m^3/s] (docs/physics.md §9.3).

    Args:
        eps_eV: mean electron energy ε [eV]; ε ≤ 0 gives 0.
        A, B, C, D, F: fit parameters of the reaction (``IONIZATION_FITS`` etc.).
    """
    if not eps_eV > 0.0:
        return 0.0
    return A * eps_eV**B * math.exp(-C / eps_eV) * (1.0 + eps_eV / D) ** (-F)


def elastic_fit(eps_eV: float) -> float:
    """Xe elastic (momentum-transfer) rate, ln k = Σ_p c_p (ln ε)^(8-p) [m^3/s] (docs/physics.md §9.3).

    Args:
        eps_eV: mean electron energy ε [eV]; ε ≤ 0 gives 0.
    """
    if not eps_eV > 0.0:
        return 0.0
    x = math.log(eps_eV)
    acc = 0.0
    for c in ELASTIC_FIT:
        acc = acc * x + c
    return math.exp(acc)


@jit
def table_index(eps_eV: float) -> int:
    """j = floor(ε) clamped to [0, 254]; 0 when ε is not finite (docs/physics.md §9.2, stage 2)."""
    if eps_eV - eps_eV != 0.0:
        return 0
    if eps_eV >= 254.0:
        return 254
    if eps_eV > 0.0:
        return int(eps_eV)  # truncation = floor for ε > 0
    return 0


@jit
def lookup_rate(table: np.ndarray, eps_eV: float) -> float:
    """Run-time rate lookup on the 0..255 eV grid (docs/physics.md §9.2, stage 2).

    Args:
        table: k at ε = 0, 1, …, 255 eV [m^3/s], shape (256,).
        eps_eV: mean electron energy ε [eV].

    Returns:
        ``(1 - t) k_j + t k_(j+1)`` with ``j = floor(ε)`` clamped to [0, 254] (0 if ε is not
        finite) and ``t = ε - j``; linear extrapolation outside [0, 255].
    """
    j = table_index(eps_eV)
    t = eps_eV - j
    return (1.0 - t) * table[j] + t * table[j + 1]


def ionization_nodes() -> np.ndarray:
    """Upstream node set of the six Xe ionization tables [eV] (docs/physics.md §9.1).

    ε = 0.03878 then ``j·499.5/99`` printed to 4 significant digits (5.045, 10.09, 15.14, …).
    """
    nodes = [0.03878] + [float(f"{j * 499.5 / 99:.4g}") for j in range(1, 100)]
    return np.array(nodes)


def excitation_nodes() -> np.ndarray:
    """Upstream node set of the Xe excitation and LANDMARK tables, ε = 1..150 eV."""
    return np.arange(1.0, 151.0)


def resample_table(eps_nodes: np.ndarray, k_nodes: np.ndarray) -> np.ndarray:
    """Stage 1 of docs/physics.md §9.2: linear interpolation at ε = 0..255 eV, clamped at the ends.

    Args:
        eps_nodes: table energies [eV], increasing, shape (n,).
        k_nodes: table values, shape (n,).

    Returns:
        The values at ε = 0, 1, …, 255, shape (256,).
    """
    grid = np.arange(NUM_LOOKUP, dtype=np.float64)
    return np.interp(grid, np.asarray(eps_nodes, float), np.asarray(k_nodes, float))


def fitted_ionization_table(reactant: int, product: int) -> np.ndarray:
    """Lookup table (256,) of Xe^(reactant+) -> Xe^(product+) from the §9.3 fit."""
    nodes = ionization_nodes()
    A, B, C, D, F = IONIZATION_FITS[(reactant, product)]
    k = np.array([fit_rate(e, A, B, C, D, F) for e in nodes])
    k[0] = 0.0  # the first upstream node carries k = 0 (docs/physics.md §9.1)
    return resample_table(nodes, k)


def fitted_excitation_table() -> np.ndarray:
    """Lookup table (256,) of the lumped Xe excitation from the §9.3 fit."""
    nodes = excitation_nodes()
    k = np.array([fit_rate(e, *EXCITATION_FIT) for e in nodes])
    return resample_table(nodes, k)


def fitted_elastic_table() -> np.ndarray:
    """Lookup table (256,) of the Xe elastic rate from the §9.3 fit (node (0, 0) included)."""
    nodes = np.arange(0.0, 151.0)
    k = np.array([elastic_fit(e) for e in nodes])
    return resample_table(nodes, k)


def read_rate_file(path: str | Path) -> tuple[float, np.ndarray, np.ndarray]:
    """Read an upstream-format rate table (docs/physics.md §9.1).

    Args:
        path: a file whose optional first line is "... energy (eV): E", then a header line,
            then two whitespace-separated columns ε [eV] and k [m^3/s].

    Returns:
        (energy cost E [eV] or NaN when absent, ε nodes, k nodes).

    Raises:
        SimulationInputError: the file is missing or malformed.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise SimulationInputError(f"rate table {path}: cannot be read ({exc.strerror})") from exc
    energy = math.nan
    start = 0
    if lines and "energy (ev):" in lines[0].lower():
        try:
            energy = float(lines[0].split(":")[1])
        except ValueError as exc:
            raise SimulationInputError(f"rate table {path}: bad energy line {lines[0]!r}") from exc
        start = 1
    rows = []
    for line in lines[start + 1:]:
        if not line.strip():
            continue
        parts = line.replace(",", " ").split()
        try:
            rows.append((float(parts[0]), float(parts[1])))
        except (ValueError, IndexError) as exc:
            raise SimulationInputError(f"rate table {path}: bad row {line!r} (need ε and k)") from exc
    if len(rows) < 2:
        raise SimulationInputError(f"rate table {path}: needs at least two rows of (ε, k)")
    data = np.array(rows)
    return energy, data[:, 0], data[:, 1]


def read_landmark_table(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a LANDMARK rate table (CSV: header, then ε [eV], k_iz [m^3/s], k_loss [eV m^3/s]).

    Raises:
        SimulationInputError: the file is missing or malformed.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise SimulationInputError(f"landmark_rates_file {path}: cannot be read ({exc.strerror})") from exc
    rows = []
    for line in lines[1:]:
        if not line.strip():
            continue
        try:
            rows.append([float(x) for x in line.split(",")[:3]])
        except ValueError as exc:
            raise SimulationInputError(f"landmark_rates_file {path}: bad row {line!r}") from exc
    if len(rows) < 2 or any(len(r) != 3 for r in rows):
        raise SimulationInputError(
            f"landmark_rates_file {path}: needs rows of three comma-separated numbers ε, k_iz, k_loss")
    data = np.array(rows)
    return data[:, 0], data[:, 1], data[:, 2]


@dataclass(frozen=True)
class RateTables:
    """Resolved lookup tables of one simulation (each row on the 0..255 eV grid).

    Attributes:
        iz: ionization rates, shape (n_reactions, 256) [m^3/s].
        iz_energy_eV: energy cost of each ionization reaction, shape (n_reactions,) [eV].
        iz_reactant: reactant charge (0 = neutral), shape (n_reactions,).
        iz_product: product charge, shape (n_reactions,).
        ex: lumped excitation rate, shape (256,) [m^3/s].
        ex_energy_eV: excitation energy [eV].
        el: elastic rate, shape (256,) [m^3/s].
    """

    iz: np.ndarray
    iz_energy_eV: np.ndarray
    iz_reactant: np.ndarray
    iz_product: np.ndarray
    ex: np.ndarray
    ex_energy_eV: float
    el: np.ndarray


def _user_table(dirs: tuple[str, ...], name: str) -> Path | None:
    for d in dirs:
        p = Path(d) / name
        if p.is_file():
            return p
    return None


def build_rate_tables(*, max_charge: int, reaction_model: str, landmark_rates_file: str | None = None,
                      reaction_rate_directories: tuple[str, ...] = ()) -> RateTables:
    """Build the lookup tables of a simulation (docs/physics.md §9).

    Args:
        max_charge: highest ion charge (1..3); reactions to higher charges are dropped.
        reaction_model: "lookup" (Xe tables/fits) or "landmark" (LANDMARK table/fit).
        landmark_rates_file: optional LANDMARK CSV; None uses the §9.3 LANDMARK fit.
        reaction_rate_directories: directories searched first for upstream-format files
            (``ionization_Xe_Xe+.dat``, ``excitation_Xe.dat``, ``elastic_Xe.dat``…);
            a reaction with no file there uses the §9.3 fit.

    Raises:
        SimulationInputError: a named table file is missing or malformed.
    """
    if reaction_model == "landmark":
        if landmark_rates_file is not None:
            eps, k_iz, k_loss = read_landmark_table(landmark_rates_file)
        else:
            eps = excitation_nodes()
            k_iz = np.array([fit_rate(e, *LANDMARK_IZ_FIT) for e in eps])
            k_loss = np.array([fit_rate(e, *LANDMARK_LOSS_FIT) for e in eps])
        # k_ex chosen so that the total inelastic loss is n_e n_n k_loss (docs/physics.md §9.2)
        k_ex = (k_loss - LANDMARK_IONIZATION_EV * k_iz) / LANDMARK_EXCITATION_EV
        iz = resample_table(eps, k_iz)[None, :]
        return RateTables(iz=iz, iz_energy_eV=np.array([LANDMARK_IONIZATION_EV]),
                          iz_reactant=np.array([0]), iz_product=np.array([1]),
                          ex=resample_table(eps, k_ex), ex_energy_eV=LANDMARK_EXCITATION_EV,
                          el=np.full(NUM_LOOKUP, LANDMARK_ELASTIC_M3_S))
    rows, energies, reactants, products = [], [], [], []
    for (a, b), energy in XE_IONIZATION_EV.items():
        if b > max_charge:
            continue
        path = _user_table(reaction_rate_directories, f"ionization_{_ION_FILE_NAMES[(a, b)]}.dat")
        if path is None:
            rows.append(fitted_ionization_table(a, b))
        else:
            file_energy, eps, k = read_rate_file(path)
            energy = file_energy if math.isfinite(file_energy) else energy
            rows.append(resample_table(eps, k))
        energies.append(energy)
        reactants.append(a)
        products.append(b)
    path = _user_table(reaction_rate_directories, "excitation_Xe.dat")
    ex_energy = XE_EXCITATION_EV
    if path is None:
        ex = fitted_excitation_table()
    else:
        file_energy, eps, k = read_rate_file(path)
        ex_energy = file_energy if math.isfinite(file_energy) else ex_energy
        ex = resample_table(eps, k)
    path = _user_table(reaction_rate_directories, "elastic_Xe.dat")
    if path is None:
        el = fitted_elastic_table()
    else:
        _, eps, k = read_rate_file(path)
        el = resample_table(eps, k)
    return RateTables(iz=np.array(rows), iz_energy_eV=np.array(energies),
                      iz_reactant=np.array(reactants), iz_product=np.array(products),
                      ex=ex, ex_energy_eV=ex_energy, el=el)
