r"""The control signal of the amortized conditional model, and the observation sets it trains on.

An observation set becomes three channels per row on the model grid (docs/model.md §8.4):

- **value**: the observations' normalized values y, splatted with their linear-interpolation
  weights and averaged where several meet, :math:`v_j = \sum_k w_{kj} y_k / \sum_k w_{kj}`;
- **weight**: :math:`\sum_k w_{kj}`, how much observation lands on node j (0 = unobserved);
- **noise**: :math:`\sum_k w_{kj} \ln \sigma_{y,k} / \sum_k w_{kj}\,/\,4`, the (log) noise level.

A point at z between nodes j and j + 1 has weights (1 − t, t), as in the observation operator; a
scalar row is observed along its whole length (weight 1 everywhere). Channel 3r + c holds channel c
of row r. An all-zero signal means "no observation": the network is then the prior.

Training draws observation sets from a :class:`ControlTemplate` for each example: which profile
rows (each with its probability), how many points and where, the relative noise, and which known
scalars — the same noise model as ``hallctl evaluate``'s synthetic observations (lognormal on log
rows; on linear rows ρ·max(|q|, floor·typical)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor

from hallctl.data.normalization import Normalization

__all__ = ["CONTROL_CHANNELS", "NOISE_SCALE", "ControlTemplate", "draw_controls", "splat"]

CONTROL_CHANNELS = 3
"""Channels per row: value, weight, noise."""
NOISE_SCALE = 4.0
"""The noise channel holds ln σ_y / NOISE_SCALE (σ_y between 1e-4 and 1 gives −2.3 … 0)."""


@dataclass(frozen=True)
class ControlTemplate:
    """The distribution of observation sets the amortized model is trained on (and answers).

    Attributes:
        fields: profile rows that may be observed, each with ``field_probability``; the first is
            observed in every conditioned example (the primary diagnostic, e.g. LIF's ui_1).
        field_probability: probability that each further field is observed.
        points: (min, max) points per observed field, drawn uniformly.
        z_range: (start, end) of the observed positions as fractions of the grid.
        rel_noise: (min, max) relative noise of profile observations, drawn log-uniformly.
        scalars: scalar rows that may be observed (known operating parameters, measured current...).
        scalar_probability: probability that each scalar is observed.
        scalar_rel_noise: (min, max) relative noise of scalar observations, drawn log-uniformly.
        noise_floor: linear rows: the relative noise applies to at least this fraction of the row's
            typical magnitude (as in ``hallctl evaluate``).
        dropout: probability that an example sees no observation at all (the model stays the prior).
    """

    fields: tuple[str, ...] = ("ui_1", "ne", "Tev", "phi", "E", "nn")
    field_probability: float = 0.25
    points: tuple[int, int] = (5, 30)
    z_range: tuple[float, float] = (0.0, 1.0)
    rel_noise: tuple[float, float] = (0.02, 0.10)
    scalars: tuple[str, ...] = ("discharge_voltage_v", "anode_mass_flow_rate_kg_s", "discharge_current_A",
                                "thrust_N")
    scalar_probability: float = 0.5
    scalar_rel_noise: tuple[float, float] = (0.001, 0.05)
    noise_floor: float = 0.1
    dropout: float = 0.1

    def __post_init__(self) -> None:
        for name in ("fields", "scalars", "points", "z_range", "rel_noise", "scalar_rel_noise"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.fields and not self.scalars:
            raise ValueError("a control template needs at least one field or scalar")
        if not 1 <= self.points[0] <= self.points[1]:
            raise ValueError(f"points = {self.points} must be (min, max) with 1 <= min <= max")
        if not 0.0 <= self.z_range[0] < self.z_range[1] <= 1.0:
            raise ValueError(f"z_range = {self.z_range} must be (start, end) in [0, 1] with start < end")
        for name in ("rel_noise", "scalar_rel_noise"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} = {(lo, hi)} must be (min, max) with 0 < min <= max")
        for name in ("field_probability", "scalar_probability", "dropout"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} = {getattr(self, name)} must lie in [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ControlTemplate:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def admits(self, observations: Sequence[Any]) -> str:
        """"" when the observations lie inside the template, else why not (one line).

        Args:
            observations: ``hallctl.sample.Observation`` entries (field, scalar, log, value, std, rel_std).
        """
        counts: dict[str, int] = {}
        for o in observations:
            counts[o.field] = counts.get(o.field, 0) + 1
            allowed = self.scalars if o.scalar else self.fields
            if o.field not in allowed:
                return f"{o.field} is not among the template's {'scalars' if o.scalar else 'fields'}"
            rho = o.rel_std if o.rel_std is not None else o.std / max(abs(o.value), 1e-300)
            lo, hi = self.scalar_rel_noise if o.scalar else self.rel_noise
            if not o.log and o.rel_std is None:
                continue  # an absolute error on a linear row: the template's floor can make any size
            if not lo / 2 <= rho <= 2 * hi:
                return f"{o.field}: relative noise {rho:.3g} is outside the template's {lo:g}-{hi:g}"
        if self.fields and self.fields[0] not in counts:  # every conditioned training example observed it
            return f"{self.fields[0]} is not observed, and the template always observes it"
        for name, n in counts.items():
            if name in self.fields and n > self.points[1]:
                return f"{name}: {n} points, the template has at most {self.points[1]}"
        return ""


def splat(rows: Tensor, pos: Tensor, y: Tensor, sigma: Tensor, mask: Tensor, channels: int, length: int) -> Tensor:
    """The control signal of a batch of observation sets.

    Args:
        rows: (B, n) row index of each observation.
        pos: (B, n) fractional grid position in [0, W − 1]; negative for a scalar row (whole row).
        y: (B, n) normalized values.
        sigma: (B, n) normalized noise standard deviations (> 0 where ``mask``).
        mask: (B, n) which entries are observations.
        channels, length: C rows and W grid points.

    Returns:
        (B, 3C, W): value, weight and noise channels of each row (module docstring).
    """
    B = rows.shape[0]
    dtype, device = y.dtype, y.device
    whole = pos < 0
    j0 = pos.clamp(min=0).floor().clamp(max=max(length - 2, 0)).long()
    t = (pos.clamp(min=0) - j0.to(dtype)).clamp(0, 1) if length > 1 else torch.zeros_like(pos)
    weight = torch.zeros(B, channels * length, dtype=dtype, device=device)
    value = torch.zeros_like(weight)
    noise = torch.zeros_like(weight)
    m = mask.to(dtype)
    lns = torch.log(sigma.clamp_min(1e-30)) * m
    for j, w in ((j0, (1 - t) * m), (j0 + 1, t * m)):
        idx = (rows * length + j.clamp(max=length - 1)).clamp(0, channels * length - 1)
        w = torch.where(whole, torch.zeros_like(w), w)
        weight.scatter_add_(1, idx, w)
        value.scatter_add_(1, idx, w * y)
        noise.scatter_add_(1, idx, w * lns)
    if bool(whole.any()):  # scalar rows: every node of the row, weight 1
        row_w = torch.zeros(B, channels, dtype=dtype, device=device)
        wm = (whole & mask).to(dtype)
        row_w.scatter_add_(1, rows, wm)
        row_v = torch.zeros_like(row_w).scatter_add_(1, rows, wm * y)
        row_n = torch.zeros_like(row_w).scatter_add_(1, rows, wm * lns)
        weight += row_w.repeat_interleave(length, dim=1)
        value += row_v.repeat_interleave(length, dim=1)
        noise += row_n.repeat_interleave(length, dim=1)
    safe = weight.clamp_min(1e-12)
    observed = weight > 0
    value = torch.where(observed, value / safe, torch.zeros_like(value))
    noise = torch.where(observed, noise / safe / NOISE_SCALE, torch.zeros_like(noise))
    out = torch.stack([value, weight, noise], dim=2)  # (B, C·W, 3)
    return out.reshape(B, channels, length, CONTROL_CHANNELS).permute(0, 1, 3, 2).reshape(B, -1, length)


def _loguniform(lo: float, hi: float, shape: tuple[int, ...], generator: torch.Generator, device: torch.device
                ) -> Tensor:
    u = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
    return torch.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))


def draw_controls(x: Tensor, template: ControlTemplate, norm: Normalization | Mapping[str, Any], *,
                  generator: torch.Generator) -> Tensor:
    """Random observation sets of a batch of normalized examples, as control signals (B, 3C, W).

    Args:
        x: clean examples (B, C, W), normalized.
        template: what may be observed, how densely and how noisily.
        norm: the normalization (build it once with ``Normalization.of`` when drawing every step).
        generator: the source of every draw (on the device of ``x``).
    """
    B, C, W = x.shape
    device = x.device
    norm = Normalization.of(norm)
    rows = norm.rows
    log = torch.as_tensor(norm.log, device=device)
    mean, std, typical = (torch.as_tensor(a, dtype=torch.float64, device=device)
                          for a in (norm.mean, norm.std, norm.typical))
    xd = x.double()
    conditioned = torch.rand(B, generator=generator, device=device) >= template.dropout
    parts: list[tuple[Tensor, Tensor, Tensor, Tensor, Tensor]] = []
    n_max = template.points[1]
    lo_z, hi_z = (f * (W - 1) for f in template.z_range)
    for k, name in enumerate(f for f in template.fields if f in rows):
        r = rows.index(name)
        p = 1.0 if k == 0 else template.field_probability
        observed = conditioned & (torch.rand(B, generator=generator, device=device) < p)
        count = torch.randint(template.points[0], n_max + 1, (B,), generator=generator, device=device)
        mask = observed[:, None] & (torch.arange(n_max, device=device)[None] < count[:, None])
        pos = lo_z + (hi_z - lo_z) * torch.rand(B, n_max, generator=generator, device=device, dtype=torch.float64)
        j0 = pos.floor().clamp(max=max(W - 2, 0)).long()
        t = pos - j0.double()
        row = xd[:, r]
        clean = (1 - t) * row.gather(1, j0) + t * row.gather(1, (j0 + 1).clamp(max=W - 1))
        rho = _loguniform(*template.rel_noise, (B, 1), generator, device).expand(B, n_max)
        parts.append((torch.full((B, n_max), r, device=device), pos, clean, rho, mask))
    for name in (s for s in template.scalars if s in rows):
        r = rows.index(name)
        observed = conditioned & (torch.rand(B, generator=generator, device=device) < template.scalar_probability)
        clean = xd[:, r].mean(dim=1, keepdim=True)
        rho = _loguniform(*template.scalar_rel_noise, (B, 1), generator, device)
        whole_row = torch.full((B, 1), -1.0, dtype=torch.float64, device=device)
        parts.append((torch.full((B, 1), r, device=device), whole_row, clean, rho, observed[:, None]))
    if not parts:
        return x.new_zeros(B, CONTROL_CHANNELS * C, W)
    r_all, pos, clean, rho, mask = (torch.cat(v, dim=1) for v in zip(*parts, strict=True))
    s_r, mu_r, typ_r, log_r = std[r_all], mean[r_all], typical[r_all], log[r_all]
    q = clean * s_r + mu_r  # physical value (ln of it on log rows)
    sigma_log = torch.sqrt(torch.log1p(rho * rho)) / s_r
    sigma_lin = rho * torch.maximum(q.abs(), template.noise_floor * typ_r) / s_r
    sigma = torch.where(log_r, sigma_log, sigma_lin)
    y = clean + sigma * torch.randn(clean.shape, generator=generator, device=device, dtype=torch.float64)
    return splat(r_all, pos, y, sigma, mask, C, W).to(x.dtype)
