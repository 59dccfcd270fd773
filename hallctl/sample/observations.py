r"""Observation files → normalized observations and their operator; the fit report (docs/model.md §8.1).

File format (CSV, header required; lines starting with ``#`` and blank lines are ignored)::

    field,z,value,std,rel_std
    # n_e at z = 12.5 mm with a 10 % relative error
    ne,0.0125,1.2e18,,0.1
    # ion velocity with an absolute error in m/s
    ui_1,0.03,15000,500,
    # a scalar row: z empty
    discharge_voltage_v,,300,1,

``z`` is the axial position in metres (empty for scalar rows), ``value`` and ``std`` are in the
row's physical SI unit; each line gives either ``std`` (absolute) or ``rel_std`` (relative).
The ``rel_std`` column is optional.

Conversion to the normalized rows x_r = (g(q) − μ_r)/s_r (g = ln for log rows, s_r the divisor):

.. math::

    \text{linear:}\quad y = \frac{q - \mu_r}{s_r},\quad \sigma_y = \frac{\sigma_{phys}}{s_r}
    \qquad
    \text{log:}\quad y = \frac{\ln q - \mu_r}{s_r},\quad
    \sigma_y = \frac{\sqrt{\ln(1 + \rho^2)}}{s_r},\quad \rho = \frac{\sigma_{phys}}{q}

with σ_phys = std, or ρ·|q| for a relative error ρ on a linear row. On a log row the error is
lognormal with relative standard deviation ρ (σ_ln = √ln(1 + ρ²), ≈ ρ for small ρ; the one-sided
ln(1 + ρ) would be 17 % too small at ρ = 1). A point observation
interpolates its row linearly between the two neighbouring grid points; a scalar row observation
averages its constant row (``hallctl.sample.operator``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hallctl.data.normalization import Normalization
from hallctl.errors import ModelError, ObservationError
from hallctl.model.control import splat
from hallctl.sample.operator import SparseObservationOperator, interpolation_terms, row_mean_terms

__all__ = [
    "FitReport",
    "Observation",
    "Observations",
    "build_observations",
    "fit_report",
    "read_observations",
]

COLUMNS = ("field", "z", "value", "std", "rel_std")
_REQUIRED = ("field", "z", "value")
_META_KEYS = ("rows", "kind", "log", "mean", "std", "grid_m")


@dataclass(frozen=True)
class Observation:
    """One observation line, in physical and normalized units.

    Attributes:
        line: line number in the file (1-based; the entry number for Python input).
        field: row name. row: its index r. scalar: whether the row is a scalar row. log: ln-stored.
        z_m: position in metres, ``None`` for a scalar row.
        value: q, physical SI units. std: σ_phys (absolute, physical units). rel_std: ρ if given.
        y: normalized value. sigma_y: normalized standard deviation.
    """

    line: int
    field: str
    row: int
    scalar: bool
    log: bool
    z_m: float | None
    value: float
    std: float
    rel_std: float | None
    y: float
    sigma_y: float


@dataclass(frozen=True)
class Observations:
    """Observations ready for guidance.

    Attributes:
        table: the observations as read, shape (n,) (for reporting).
        y: normalized observations, shape (n,), float64.
        sigma_y: normalized noise standard deviations, shape (n,), float64.
        operator: A, (B, C, W) → (B, n), on the model grid.
        normalization: the normalization the observations were converted with.
        source: the file (or "<python>").
    """

    table: list[Observation]
    y: Tensor
    sigma_y: Tensor
    operator: SparseObservationOperator
    normalization: Normalization = field(repr=False)
    source: str = "<python>"

    def __len__(self) -> int:
        return len(self.table)

    def select(self, keep: Sequence[int]) -> Observations:
        """The observations ``keep`` only (indices into ``table``)."""
        keep = list(keep)
        return Observations(table=[self.table[k] for k in keep], y=self.y[keep], sigma_y=self.sigma_y[keep],
                            operator=self.operator.select(keep), normalization=self.normalization,
                            source=self.source)


def _check_meta(meta: Mapping[str, Any]) -> None:
    missing = [k for k in _META_KEYS if k not in meta]
    if missing:
        raise ModelError(
            f"normalization metadata lacks {', '.join(missing)}; re-export the model with its dataset schema"
        )
    C = len(meta["rows"])
    if any(len(meta[k]) != C for k in ("kind", "log", "mean", "std")) or len(meta["grid_m"]) < 1:
        raise ModelError("normalization metadata is inconsistent (rows, kind, log, mean, std differ in length)")


def _number(text: Any, what: str, where: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise ObservationError(f"{where}: {what} {str(text)!r} is not a number") from None
    if not math.isfinite(v):
        raise ObservationError(f"{where}: {what} must be finite, got {text!r}")
    return v


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _convert(
    entry: Mapping[str, Any],
    line: int,
    norm: Normalization,
    where: str,
    known_fields: Sequence[str] | None,
) -> Observation:
    rows: list[str] = list(norm.rows)
    name = str(entry.get("field") or "").strip()
    if not name:
        raise ObservationError(f"{where}: the field is empty; give one of: {', '.join(rows)}")
    if name not in rows:
        if known_fields is not None and name in known_fields:
            raise ObservationError(f"{where}: this model has no row '{name}'; its rows are: {', '.join(rows)}")
        raise ObservationError(f"{where}: unknown field '{name}'; valid fields: {', '.join(rows)}")
    r = rows.index(name)
    scalar = str(norm.kinds[r]) == "scalar"
    is_log = bool(norm.log[r])
    grid = [float(g) for g in norm.grid_m]
    z: float | None = None
    if scalar and not _blank(entry.get("z")):
        raise ObservationError(f"{where}: z given for scalar '{name}'; leave z empty for scalar rows")
    if not scalar:
        if _blank(entry.get("z")):
            raise ObservationError(f"{where}: z missing for field '{name}'; give the axial position in metres")
        z = _number(entry["z"], "z", where)
        tol = 1e-9 * max(abs(grid[-1] - grid[0]), 1.0)
        if not grid[0] - tol <= z <= grid[-1] + tol:
            raise ObservationError(
                f"{where}: z = {z:g} m is outside the model's grid domain [{grid[0]:g}, {grid[-1]:g}] m"
            )
        z = min(max(z, grid[0]), grid[-1])
    if _blank(entry.get("value")):
        raise ObservationError(f"{where}: value missing for '{name}'")
    q = _number(entry["value"], "value", where)
    if is_log and q <= 0:
        raise ObservationError(f"{where}: '{name}' is stored as a logarithm, so its value must be positive (got {q:g})")
    has_std, has_rel = not _blank(entry.get("std")), not _blank(entry.get("rel_std"))
    if has_std == has_rel:
        raise ObservationError(f"{where}: give exactly one of std (absolute) or rel_std (relative) for '{name}'")
    key = "std" if has_std else "rel_std"
    e = _number(entry[key], key, where)
    if e <= 0:
        raise ObservationError(f"{where}: {key} must be positive, got {e:g}")
    if is_log:
        rho = e if key == "rel_std" else e / q
        sigma_y, std = norm.noise_to_model(r, rel_std=rho), rho * q
    else:
        std = e if key == "std" else e * abs(q)
        if std <= 0:
            raise ObservationError(f"{where}: rel_std of a zero value gives no error; use an absolute std")
        sigma_y = norm.noise_to_model(r, std=std)
    y = norm.value_to_model(r, q)
    return Observation(
        line=line,
        field=name,
        row=r,
        scalar=scalar,
        log=is_log,
        z_m=z,
        value=q,
        std=std,
        rel_std=e if key == "rel_std" else None,
        y=y,
        sigma_y=sigma_y,
    )


def build_observations(
    entries: Iterable[Mapping[str, Any]],
    meta: Normalization | Mapping[str, Any],
    *,
    source: str = "<python>",
    lines: Sequence[int] | None = None,
    known_fields: Sequence[str] | None = None,
) -> Observations:
    """Validate observation entries (dicts with field, z, value, std / rel_std) and normalize them.

    Args:
        entries: one mapping per observation; values may be numbers or strings, blanks are None/"".
        meta: the model's normalization, or its plain form (rows, kind, log, mean, std, grid_m, ...).
        source: name used in error messages.
        lines: line numbers for error messages (default 1, 2, …).
        known_fields: every quantity name of the dataset schema, to tell "unknown" from "not in
            this model"; ``None`` treats both alike.

    Returns:
        :class:`Observations`.

    Raises:
        ObservationError: one line naming the entry, the problem and the fix.
    """
    if not isinstance(meta, Normalization):
        _check_meta(meta)
    norm = Normalization.of(meta)
    entries = list(entries)
    if not entries:
        raise ObservationError(f"{source}: no observations; add lines 'field,z,value,std' below the header")
    lines = list(lines) if lines is not None else list(range(1, len(entries) + 1))
    where = (lambda k: f"{source} line {k}") if source != "<python>" else (lambda k: f"observation {k}")
    table = [_convert(e, k, norm, where(k), known_fields) for e, k in zip(entries, lines, strict=True)]
    grid, W = norm.grid_m.tolist(), len(norm.grid_m)
    terms = [row_mean_terms(o.row, W) if o.scalar else interpolation_terms(o.row, o.z_m, grid) for o in table]
    A = SparseObservationOperator(terms, channels=len(norm.rows), length=W, dtype=torch.float64)
    y = torch.tensor([o.y for o in table], dtype=torch.float64)
    sigma_y = torch.tensor([o.sigma_y for o in table], dtype=torch.float64)
    return Observations(table=table, y=y, sigma_y=sigma_y, operator=A, normalization=norm, source=source)


def read_observations(
    path: str | Path, meta: Normalization | Mapping[str, Any], *, known_fields: Sequence[str] | None = None
) -> Observations:
    """Read an observation CSV (see the module docstring) and normalize it against ``meta``.

    Raises:
        ObservationError: missing or empty file, bad header, or a bad line (one line each).
    """
    path = Path(path)
    if not path.is_file():
        raise ObservationError(f"observation file {path} not found; give a CSV with header field,z,value,std")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ObservationError(f"cannot read observation file {path}: {exc}") from None
    reader = csv.reader(text.splitlines())
    header: list[str] | None = None
    entries: list[dict[str, str]] = []
    lines: list[int] = []
    for cells in reader:
        k = reader.line_num
        if not cells or all(c.strip() == "" for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in cells]
        if header is None:
            header = [c.lower() for c in cells]
            unknown = [c for c in header if c not in COLUMNS]
            missing = [c for c in _REQUIRED if c not in header]
            if "std" not in header and "rel_std" not in header:
                missing.append("std")
            if missing:
                raise ObservationError(
                    f"{path} line {k}: missing column(s) {', '.join(missing)} in header '{','.join(cells)}'; "
                    "the header must be field,z,value,std (and optionally rel_std)"
                )
            repeated = sorted({c for c in header if header.count(c) > 1})
            if repeated:
                raise ObservationError(f"{path} line {k}: column(s) {', '.join(repeated)} appear more than once")
            if unknown:
                raise ObservationError(
                    f"{path} line {k}: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(COLUMNS)}"
                )
            continue
        if len(cells) > len(header) and any(c for c in cells[len(header) :]):
            raise ObservationError(
                f"{path} line {k}: {len(cells)} values for {len(header)} columns ({','.join(header)})"
            )
        entries.append(dict(zip(header, cells, strict=False)))
        lines.append(k)
    if header is None:
        raise ObservationError(
            f"observation file {path} is empty; expected a header field,z,value,std and one line per observation"
        )
    return build_observations(entries, meta, source=str(path), lines=lines, known_fields=known_fields)





@dataclass(frozen=True)
class FitReport:
    """How well samples reproduce the observations.

    Attributes:
        columns: headers of :attr:`rows`.
        rows: one list per observation: field, z_m ("" for scalars), observed, std, predicted
            (sample mean in normalized space, converted: a geometric mean for log rows), spread
            (standard deviation of the samples' predictions, physical units), residual/std.
        residual_over_std: (mean_k A x_k − y)/σ_y in normalized units, shape (n,).
        chi2: Σ residual_over_std² of the sample mean. chi2_per_obs: chi2 / n.
        chi2_samples: Σ ((A x_k − y)/σ_y)² averaged over the samples.
    """

    columns: list[str]
    rows: list[list[Any]]
    residual_over_std: np.ndarray
    chi2: float
    chi2_per_obs: float
    chi2_samples: float

    def summary(self) -> str:
        """One line for the end of a run."""
        n = len(self.rows)
        return (
            f"fit to {n} observations: chi2 = {self.chi2:.3g} (per observation {self.chi2_per_obs:.3g}) for "
            f"the sample mean, {self.chi2_samples:.3g} per sample on average; "
            f"max |residual/std| = {np.abs(self.residual_over_std).max():.3g}"
        )


def fit_report(samples: Tensor | np.ndarray, observations: Observations, *, physical: bool = False) -> FitReport:
    """Residuals of samples at the observations, per point and as a chi-square.

    Args:
        samples: x, shape (K, C, W) — normalized (default) or physical units (``physical=True``,
            converted row by row with the metadata of ``observations``).
        observations: from :func:`read_observations` / :func:`build_observations`.

    Returns:
        :class:`FitReport`.
    """
    norm = observations.normalization
    if isinstance(samples, Tensor):
        x = samples.detach().to("cpu", torch.float64)
    else:
        x = torch.as_tensor(np.asarray(samples), dtype=torch.float64)
    if x.ndim == 2:
        x = x[None]
    if physical:
        x = torch.as_tensor(norm.to_model(x.numpy()), dtype=torch.float64)
    pred = observations.operator.to(dtype=torch.float64)(x).numpy()  # (K, n) normalized
    y, sy = observations.y.numpy(), observations.sigma_y.numpy()
    z = (pred.mean(axis=0) - y) / sy
    chi2_samples = float((((pred - y) / sy) ** 2).sum(axis=1).mean())
    rows = []
    for k, o in enumerate(observations.table):
        phys = norm.value_to_physical(o.row, pred[:, k])
        rows.append(
            [
                o.field,
                "" if o.z_m is None else o.z_m,
                o.value,
                o.std,
                float(norm.value_to_physical(o.row, pred[:, k].mean())),
                float(phys.std()),
                float(z[k]),
            ]
        )
    chi2 = float((z**2).sum())
    return FitReport(
        columns=["field", "z_m", "observed", "std", "predicted", "spread", "residual/std"],
        rows=rows,
        residual_over_std=z,
        chi2=chi2,
        chi2_per_obs=chi2 / len(rows),
        chi2_samples=chi2_samples,
    )


def control_signal(observations: Observations) -> Tensor:
    """The observations as the control signal of an amortized model, shape (1, 3C, W), float32
    (``hallctl.model.control.splat``: points with their interpolation weights, scalar rows whole)."""
    norm = observations.normalization
    grid = norm.grid_m
    index = np.arange(len(grid), dtype=np.float64)
    table = observations.table
    pos = [-1.0 if o.scalar else float(np.interp(o.z_m, grid, index)) for o in table]
    rows = torch.tensor([[o.row for o in table]])
    control = splat(rows, torch.tensor([pos], dtype=torch.float64), observations.y[None].double(),
                    observations.sigma_y[None].double(), torch.ones(1, len(table), dtype=torch.bool),
                    len(norm.rows), len(grid))
    return control.float()
