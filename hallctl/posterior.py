"""``hallctl sample``: prior or posterior samples in physical units, with summaries.

The model file alone is enough: its metadata carries the normalization and the grid. Output:
``<samples dir>/<tag>.h5`` (all samples, physical units), ``<tag>_summary.csv`` (long form per
field and grid point) and ``<tag>_scalars.csv`` (one line per scalar row).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hallctl.data.normalize import denormalize
from hallctl.data.store import SampleSet, atomic_write, make_provenance, write_samples
from hallctl.errors import ModelError, ObservationError
from hallctl.project import Project
from hallctl.report import Reporter, resolve

__all__ = ["PosteriorSummary", "draw", "model_path", "parse_fixed", "run", "sampler_kwargs", "write_summaries"]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def model_path(project: Project, model: str | Path | None = None, ema: float | None = None) -> Path:
    """The weights to sample: an explicit file, else runs/<run_name>/ema-<ema>.safetensors (model.safetensors
    for ema = 0)."""
    chosen = model or project.sample.model
    if chosen:
        return project.path(str(chosen)) if not Path(chosen).is_absolute() else Path(chosen)
    std = project.sample.ema if ema is None else ema
    name = "model.safetensors" if std == 0 else f"ema-{std:g}.safetensors"
    return project.run_dir / name


def parse_fixed(items: list[str], norm: dict[str, Any]) -> dict[int, float]:
    """``name=value`` (physical units) of scalar rows → {row index: normalized value}."""
    fixed: dict[int, float] = {}
    scalars = [r for r, k in zip(norm["rows"], norm["kind"], strict=True) if k == "scalar"]
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in scalars:
            raise ObservationError(f"--fix {item!r}: give name=value for a scalar row; "
                                   f"scalar rows: {', '.join(scalars)}")
        try:
            q = float(value)
        except ValueError:
            raise ObservationError(f"--fix {name}={value!r}: the value must be a number") from None
        r = norm["rows"].index(name)
        if norm["log"][r] and q <= 0:
            raise ObservationError(f"--fix {name}={q}: this row is stored as a log and needs a positive value")
        g = math.log(q) if norm["log"][r] else q
        fixed[r] = (g - norm["mean"][r]) / norm["std"][r]
    return fixed


@dataclass
class Draw:
    """Samples of one call: normalized and physical, with the settings used."""

    x: np.ndarray  # (S, C, W) normalized
    phys: np.ndarray  # (S, C, W) physical units
    nfe: int
    settings: dict[str, Any]


def draw(precond: Any, norm: dict[str, Any], *, observations: Any = None, fixed: dict[int, float] | None = None,
         num_samples: int, batch_size: int, steps: int, sampler: str, guidance: str, sigma_min: float,
         sigma_max: float, rho: float, churn: float, seed: int, device: str, first_index: int = 0,
         mmps_jacobian: str = "auto", mmps_network_sigma: float = 1.0, report: Reporter | None = None) -> Draw:
    """Sample the model (prior, or posterior given ``observations``) and denormalize.

    The model's training-data covariance (``precond.data_covariance``, in every model file hallctl
    trains) serves MMPS where the network's own Jacobian is unreliable.
    """
    from hallctl.sample import sample

    C, W = len(norm["rows"]), len(norm["grid_m"])
    scalar_rows = [i for i, k in enumerate(norm["kind"]) if k == "scalar"]
    guidance = guidance if observations is not None else "none"
    if sampler == "dpmpp_2m" and guidance != "none":
        resolve(report).warn("dpmpp_2m with guidance is unstable (its multistep extrapolation amplifies the "
                             "likelihood term); prefer --sampler heun for conditional sampling")
    result = sample(precond, num_samples=num_samples, channels=C, length=W, steps=steps, sampler=sampler,
                    sigma_min=sigma_min, sigma_max=sigma_max, rho=rho, churn=churn, observations=observations,
                    guidance=guidance, fixed=fixed or None, project_scalar_rows=scalar_rows or None, seed=seed,
                    first_index=first_index, batch_size=batch_size, device=device,
                    sigma_data=float(getattr(precond, "sigma_data", 0.5)), data_covariance=_covariance(precond),
                    mmps_jacobian=mmps_jacobian, mmps_network_sigma=mmps_network_sigma, report=report)
    x = result.x.detach().cpu().numpy().astype(np.float64)
    settings = {**result.settings, "sampler": sampler}
    return Draw(x=x, phys=denormalize(x, norm), nfe=result.nfe_per_sample, settings=settings)


def sampler_kwargs(cfg: Any) -> dict[str, Any]:
    """The keyword arguments of :func:`draw` that come from the [sample] section."""
    return {"batch_size": cfg.batch_size, "steps": cfg.steps, "sampler": cfg.sampler, "guidance": cfg.guidance,
            "sigma_min": cfg.sigma_min, "sigma_max": cfg.sigma_max, "rho": cfg.rho, "churn": cfg.churn,
            "mmps_jacobian": cfg.mmps_jacobian, "mmps_network_sigma": cfg.mmps_network_sigma}


def _covariance(precond: Any) -> tuple[Any, Any, float] | None:
    cov = getattr(precond, "data_covariance", None)
    return None if cov is None else cov.factors()


def _summary_rows(s: SampleSet) -> tuple[list[list[Any]], list[list[Any]]]:
    fields, scalars = [], []
    for i, (name, kind) in enumerate(zip(s.rows, s.kinds, strict=True)):
        v = s.samples[:, i].astype(float)
        if kind == "scalar":
            col = v.mean(axis=1)
            scalars.append([name, s.units[i], col.mean(), col.std(), *np.quantile(col, QUANTILES)])
        else:
            q = np.quantile(v, QUANTILES, axis=0)
            for k, z in enumerate(s.grid_m):
                fields.append([name, z, v[:, k].mean(), v[:, k].std(), *q[:, k]])
    return fields, scalars


def write_summaries(s: SampleSet, stem: Path) -> tuple[Path, Path]:
    """``<stem>_summary.csv`` (field, z, mean, std, quantiles) and ``<stem>_scalars.csv``."""
    fields, scalars = _summary_rows(s)
    qn = [f"q{int(q * 100):02d}" for q in QUANTILES]
    out = (stem.with_name(stem.name + "_summary.csv"), stem.with_name(stem.name + "_scalars.csv"))
    for path, header, rows in ((out[0], ["field", "z_m", "mean", "std", *qn], fields),
                               (out[1], ["name", "unit", "mean", "std", *qn], scalars)):
        with atomic_write(path) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for r in rows:
                w.writerow([f"{v:.7g}" if isinstance(v, float) else v for v in r])
    return out


@dataclass
class PosteriorSummary:
    samples_file: Path
    summary_csv: Path
    scalars_csv: Path
    nfe_per_sample: int
    fit: Any  # hallctl.sample.FitReport or None
    scalars: list[list[Any]]


def run(project: Project, *, model: Path | None = None, condition: Path | None = None,
        fixed_items: list[str] | None = None, output_dir: Path | None = None,
        report: Reporter | None = None) -> PosteriorSummary:
    """Draw ``sample.num_samples`` samples and write them with their summaries.

    Raises:
        ModelError: the model file is missing or not a hallctl model.
        ObservationError: the observation file is invalid for this model.
    """
    from hallctl.model.io import load_model
    from hallctl.model.runtime import resolve_device
    from hallctl.sample import fit_report, read_observations

    report = resolve(report)
    cfg = project.sample
    path = model_path(project, model)
    if not path.is_file():
        raise ModelError(f"model file {path} not found; train one with `hallctl train` or pass --model")
    device = resolve_device(cfg.device)
    precond, meta = load_model(path, device=device)
    norm = meta["dataset"]["normalization"]
    condition = condition or (project.path(cfg.condition) if cfg.condition else None)
    obs = read_observations(condition, norm) if condition else None
    fixed = parse_fixed(fixed_items or [], norm)
    d = draw(precond, norm, observations=obs, fixed=fixed, num_samples=cfg.num_samples, seed=cfg.seed,
             device=str(device), report=report, **sampler_kwargs(cfg))
    tag = cfg.tag or (Path(condition).stem if condition else "unconditional")
    out_dir = output_dir or path.parent / "samples"
    observations = [{"field": o.field, "z": "" if o.z_m is None else o.z_m, "value": o.value, "std": o.std}
                    for o in obs.table] if obs is not None else []
    settings = {**d.settings, "model": str(path), "condition": str(condition) if condition else "",
                "fixed": fixed_items or []}
    s = SampleSet(samples=d.phys.astype(np.float32), rows=list(norm["rows"]), kinds=list(norm["kind"]),
                  units=list(norm["units"]), grid_m=np.asarray(norm["grid_m"]), normalization=norm,
                  observations=observations, settings=settings, seed=cfg.seed)
    samples_file = out_dir / f"{tag}.h5"
    write_samples(samples_file, s, make_provenance(project, seed=cfg.seed, command="sample"))
    summary_csv, scalars_csv = write_summaries(s, out_dir / tag)
    fit = fit_report(d.x, obs) if obs is not None else None
    return PosteriorSummary(samples_file=samples_file, summary_csv=summary_csv, scalars_csv=scalars_csv,
                            nfe_per_sample=d.nfe, fit=fit, scalars=_summary_rows(s)[1])
