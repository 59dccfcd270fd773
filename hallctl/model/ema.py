"""Power-function EMA, its post-hoc reconstruction, and the classic fixed-decay EMA (docs/model.md §5).

The power-function average of a training trajectory θ(τ) is

    θ̂_γ(t) = ∫₀ᵗ p_{t,γ}(τ) θ(τ) dτ,    p_{t,γ}(τ) = (γ + 1) τ^γ / t^{γ+1},

of relative width σ_rel(γ). Times t are counted in training images (edm2's ``nimg``). Snapshots of
two tracked profiles let any other (t_r, σ_rel) be reconstructed afterwards as a least-squares
combination of the snapshots' weighting functions.

Reference: EDM2 (arXiv:2312.02696), Sec. 3 and App. C (Eqs. 121-127, Algorithms 2-3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from torch import Tensor, nn

from hallctl.errors import ModelError
from hallctl.model.build import build_precond
from hallctl.model.io import ema_filename, model_record, read_data_covariance, read_record, save_model, write_tensors
from hallctl.model.settings import ModelConfig

__all__ = [
    "FixedEMA",
    "PowerEMA",
    "gamma_to_sigma_rel",
    "posthoc_ema",
    "power_beta",
    "power_inner",
    "save_snapshots",
    "sigma_rel_to_gamma",
    "solve_posthoc",
]


def gamma_to_sigma_rel(gamma: float) -> float:
    """σ_rel(γ) = √((γ + 1) / ((γ + 2)² (γ + 3)))."""
    return float(np.sqrt((gamma + 1) / ((gamma + 2) ** 2 * (gamma + 3))))


def sigma_rel_to_gamma(sigma_rel: float) -> float:
    """γ for σ_rel: the largest real root of γ³ + 7γ² + (16 − σ_rel⁻²)γ + (12 − σ_rel⁻²) = 0."""
    if not 0 < sigma_rel < gamma_to_sigma_rel(0.0):
        raise ValueError(f"sigma_rel = {sigma_rel} must lie in (0, {gamma_to_sigma_rel(0.0):.4f})")
    s = sigma_rel**-2
    roots = np.roots([1.0, 7.0, 16.0 - s, 12.0 - s])
    return float(roots[np.abs(roots.imag) < 1e-9].real.max())


def power_beta(gamma: float, t: float, dt: float) -> float:
    """β = (1 − Δt/t)^{γ+1}: the EMA decay after advancing to time t by Δt (β = 0 at the first step)."""
    return float((1.0 - dt / t) ** (gamma + 1.0))


def power_inner(t_a: np.ndarray, gamma_a: np.ndarray, t_b: np.ndarray, gamma_b: np.ndarray) -> np.ndarray:
    """⟨p_{t_a,γ_a}, p_{t_b,γ_b}⟩ = (γ_a+1)(γ_b+1) t_min^{γ_a+γ_b+1} / ((γ_a+γ_b+1) t_a^{γ_a+1} t_b^{γ_b+1}).

    Evaluated in log space (t^γ overflows float64 for t ~ 1e9 images); arguments broadcast.
    """
    t_a, g_a, t_b, g_b = (np.asarray(v, dtype=np.float64) for v in (t_a, gamma_a, t_b, gamma_b))
    t_min = np.minimum(t_a, t_b)
    log = (
        np.log((g_a + 1) * (g_b + 1) / (g_a + g_b + 1))
        + (g_a + g_b + 1) * np.log(t_min)
        - (g_a + 1) * np.log(t_a)
        - (g_b + 1) * np.log(t_b)
    )
    return np.exp(log)


def solve_posthoc(t_in: np.ndarray, gamma_in: np.ndarray, t_out: np.ndarray, gamma_out: np.ndarray) -> np.ndarray:
    """Coefficients x (n_in, n_out) with p_out ≈ Σ_i x_i p_i in L², each column summing to 1.

    Solves A x = b, A_ij = ⟨p_i, p_j⟩, b_i = ⟨p_i, p_out⟩ in float64 with Jacobi scaling (the
    system is ill-conditioned for many close snapshots), then rescales x to sum to 1.
    """
    t_in, g_in = np.asarray(t_in, np.float64).reshape(-1, 1), np.asarray(gamma_in, np.float64).reshape(-1, 1)
    t_out, g_out = np.asarray(t_out, np.float64).reshape(1, -1), np.asarray(gamma_out, np.float64).reshape(1, -1)
    A = power_inner(t_in, g_in, t_in.T, g_in.T)
    b = power_inner(t_in, g_in, t_out, g_out)
    d = 1 / np.sqrt(np.diag(A))
    A_s = A * d[:, None] * d[None, :]
    try:
        y = np.linalg.solve(A_s, b * d[:, None])
    except np.linalg.LinAlgError:
        y = np.linalg.lstsq(A_s, b * d[:, None], rcond=None)[0]
    x = y * d[:, None]
    return x / x.sum(axis=0, keepdims=True)


def _params(module: nn.Module) -> tuple[list[str], list[Tensor]]:
    named = [(n, p.detach()) for n, p in module.named_parameters()]
    return [n for n, _ in named], [p for _, p in named]


class PowerEMA:
    """Power-function EMAs of a module's parameters for several σ_rel (EDM2 Algorithm 2).

    After each optimizer step that brings the image count to t: θ̂ ← β θ̂ + (1 − β) θ with
    β = (1 − Δt/t)^{γ+1}. Averages live on the parameters' device, in float32.
    """

    def __init__(self, module: nn.Module, stds: tuple[float, ...]) -> None:
        self.stds = tuple(float(s) for s in stds)
        self.gammas = tuple(sigma_rel_to_gamma(s) for s in self.stds)
        self.names, self.params = _params(module)
        self.averages = [[p.clone() for p in self.params] for _ in self.stds]

    @torch.no_grad()
    def update(self, nimg: int, batch_size: int) -> None:
        """Fold in the current weights; ``nimg`` counts images including this step's batch."""
        for gamma, avg in zip(self.gammas, self.averages, strict=True):
            torch._foreach_lerp_(avg, self.params, 1.0 - power_beta(gamma, nimg, batch_size))

    def averaged(self, k: int) -> dict[str, Tensor]:
        """Parameter name → the k-th average."""
        return dict(zip(self.names, self.averages[k], strict=True))

    def state_dict(self) -> dict:
        return {"stds": list(self.stds), "averages": [self.averaged(k) for k in range(len(self.stds))]}

    def load_state_dict(self, state: dict) -> None:
        if [float(s) for s in state["stds"]] != list(self.stds):
            raise ValueError(f"EMA profiles {state['stds']} differ from {list(self.stds)}")
        for avg, saved in zip(self.averages, state["averages"], strict=True):
            for name, a in zip(self.names, avg, strict=True):
                a.copy_(saved[name])


class FixedEMA:
    """Classic EMA with a constant per-step decay β: θ̄ ← β θ̄ + (1 − β) θ, θ̄ starting at θ₀."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0 <= decay < 1:
            raise ValueError(f"fixed EMA decay {decay} must lie in [0, 1)")
        self.decay = float(decay)
        self.names, self.params = _params(module)
        self.average = [p.clone() for p in self.params]

    @torch.no_grad()
    def update(self) -> None:
        torch._foreach_lerp_(self.average, self.params, 1.0 - self.decay)

    def averaged(self) -> dict[str, Tensor]:
        return dict(zip(self.names, self.average, strict=True))

    def state_dict(self) -> dict:
        return {"decay": self.decay, "average": self.averaged()}

    def load_state_dict(self, state: dict) -> None:
        for name, a in zip(self.names, self.average, strict=True):
            a.copy_(state["average"][name])


# --- snapshots on disk and post-hoc reconstruction (EDM2 Algorithm 3) -------------------------

SNAPSHOT_DIR = "ema-snapshots"
_BUILT_IN = {"format", "schema_version", "model_config", "rows", "length", "label_dim", "hallctl_version"}


def _snapshot_tensors(state: dict[str, Tensor], averaged: dict[str, Tensor]) -> dict[str, Tensor]:
    """The module state with averaged parameters; matrices in float16 (docs/model.md §5), the rest float32."""
    merged = {**state, **averaged}
    return {k: v.half() if v.ndim >= 2 else v.float() for k, v in merged.items()}


def save_snapshots(run_dir: Path, precond: nn.Module, ema: PowerEMA, nimg: int, metadata: dict) -> list[Path]:
    """Write one snapshot per tracked profile, ``ema-snapshots/phema-<nimg>-<std>.safetensors``.

    Each snapshot is itself a loadable model file (``load_model``) whose record carries
    ``ema = {"kind": "power", "std", "gamma"}`` and ``nimg``.
    """
    state = precond.state_dict()
    paths = []
    for k, (std, gamma) in enumerate(zip(ema.stds, ema.gammas, strict=True)):
        record = model_record(precond, {**metadata, "nimg": int(nimg)})
        record["ema"] = {"kind": "power", "std": std, "gamma": gamma}
        path = Path(run_dir) / SNAPSHOT_DIR / f"phema-{int(nimg):012d}-{std:g}.safetensors"
        paths.append(write_tensors(path, _snapshot_tensors(state, ema.averaged(k)), record))
    return paths


def posthoc_ema(run_dir: Path, stds: list[float] | tuple[float, ...], *, nimg: int | None = None) -> list[Path]:
    """Reconstruct power-function EMAs of any σ_rel from the snapshots of a run (docs/model.md §5).

    Writes ``<run_dir>/ema-<std>.safetensors`` for each σ_rel in ``stds`` (replacing files of the
    same name) with the record of the newest snapshot and ``ema.posthoc = true``.

    Args:
        run_dir: the training run directory (holding ``ema-snapshots/``).
        stds: target relative widths σ_rel.
        nimg: target time t_r in images; default the newest snapshot. Snapshots after t_r are unused.

    Returns:
        the written paths, in the order of ``stds``.

    Raises:
        ModelError: no snapshots, or an invalid σ_rel.
    """
    run_dir = Path(run_dir)
    snaps = []
    for path in sorted((run_dir / SNAPSHOT_DIR).glob("phema-*.safetensors")):
        record = read_record(path)
        snaps.append((path, int(record["nimg"]), float(record["ema"]["gamma"]), record))
    if not snaps:
        raise ModelError(f"no EMA snapshots in {run_dir / SNAPSHOT_DIR}; train with power-function EMA first")
    t_r = max(s[1] for s in snaps) if nimg is None else int(nimg)
    snaps = [s for s in snaps if s[1] <= t_r]
    if not snaps:
        raise ModelError(f"no EMA snapshot at or before nimg = {t_r} in {run_dir / SNAPSHOT_DIR}")
    try:
        gammas = [sigma_rel_to_gamma(float(s)) for s in stds]
    except ValueError as exc:
        raise ModelError(f"post-hoc EMA: {exc}") from exc
    X = solve_posthoc([s[1] for s in snaps], [s[2] for s in snaps], [t_r] * len(gammas), gammas)
    newest = max(snaps, key=lambda s: s[1])[3]
    precond = build_precond(ModelConfig.from_dict(newest["model_config"]), newest["rows"], newest["length"])
    if (run_dir / "model.safetensors").is_file():  # the training data's covariance travels with the model
        precond.data_covariance = read_data_covariance(run_dir / "model.safetensors")
    buffers = {name for name, _ in precond.named_buffers()}
    sums: list[dict[str, Tensor]] = [{} for _ in gammas]
    for i, (path, *_rest) in enumerate(snaps):
        with safe_open(str(path), framework="pt") as f:
            for name in f.keys():  # noqa: SIM118 (safe_open is no mapping)
                if name in buffers and i > 0:
                    continue
                t = f.get_tensor(name).double()
                for k in range(len(gammas)):
                    w = 1.0 if name in buffers else float(X[i, k])
                    sums[k][name] = sums[k][name] + w * t if name in sums[k] else w * t
    out = []
    for k, std in enumerate(stds):
        precond.load_state_dict({n: v.float() for n, v in sums[k].items()}, strict=True)
        meta = {key: value for key, value in newest.items() if key not in _BUILT_IN}
        meta["nimg"] = t_r
        meta["ema"] = {
            "kind": "power",
            "std": float(std),
            "gamma": gammas[k],
            "posthoc": True,
            "num_snapshots": len(snaps),
        }
        out.append(save_model(run_dir / ema_filename(std), precond, meta))
    return out
