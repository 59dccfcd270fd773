"""``hallctl evaluate``: calibration and accuracy of posteriors on held-out simulations.

For each of K held-out truths (never seen in training), synthetic observations are made from a
template (default: ui_1 at 15 points between 0.6 and 3 channel lengths with 5 % noise, plus the
known voltage and flow with 1 %), with noise drawn from a recorded seed. A posterior is drawn
for each, and per row we report, in normalized units (every row has the data std σ_d):

* nRMSE — RMSE of the posterior median against the truth, divided by σ_d;
* coverage of the central 50 % and 90 % intervals (calibrated: 0.5 and 0.9), from the truth's rank
  among the samples, so the ensemble size does not bias it (:func:`interval_coverage`);
* CRPS — E|X − y| − ½E|X − X'| of the ensemble, divided by σ_d;
* spread-skill — ensemble std over the RMSE of the ensemble mean (× √((M+1)/M); 1 is calibrated);

plus the energy distance between unconditional samples and the validation set. ``sweep`` compares
sampler settings (e.g. ``{"steps": [32, 64, 128]}``) in one call.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hallctl.data.normalize import denormalize
from hallctl.data.store import atomic_write, read_dataset
from hallctl.errors import DataError, ModelError, ProjectError
from hallctl.project import Project
from hallctl.report import Reporter, resolve

__all__ = ["LEVELS", "EvaluationResult", "crps_ensemble", "energy_distance", "interval_coverage", "parse_sweep",
           "run", "synthetic_observations"]

LEVELS = np.linspace(0.1, 0.9, 9)
SWEEP_KEYS = {"steps": int, "sampler": str, "guidance": str, "churn": float, "sigma_max": float,
              "num_samples": int, "mmps_eig_floor": float}


def parse_sweep(items: list[str]) -> dict[str, list[Any]]:
    """``steps=32,64`` strings → {"steps": [32, 64]} (keys: the sampler settings)."""
    sweep: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or key not in SWEEP_KEYS:
            raise ProjectError(f"--sweep {item!r}: use key=v1,v2 with key one of {', '.join(SWEEP_KEYS)}")
        try:
            sweep[key] = [SWEEP_KEYS[key](v.strip()) for v in values.split(",") if v.strip()]
        except ValueError:
            raise ProjectError(f"--sweep {item!r}: values of {key} must be {SWEEP_KEYS[key].__name__}") from None
    return sweep


# ----------------------------------------------------------------------------------------------
# Scores (normalized units; ensembles along axis 0)
# ----------------------------------------------------------------------------------------------


def interval_coverage(samples: np.ndarray, truth: np.ndarray, level: float) -> np.ndarray:
    """Probability that ``truth`` lies in the central ``level`` interval of the ensemble's distribution.

    ``samples`` (M, ...), ``truth`` (...) → float (...) in [0, 1]. The truth's rank among M
    exchangeable draws is uniform on {0, …, M} when the ensemble is calibrated, so its randomized
    PIT u = (rank + V)/(M + 1), V ~ U(0, 1), is exactly U(0, 1); the result is P(|u − ½| ≤ level/2)
    given the rank (ties spread the rank uniformly). Its mean is ``level`` for a calibrated
    ensemble of any size, whereas the interval between the empirical quantiles of M draws holds
    the truth less often (about level·(M − 1)/(M + 1): 0.85 instead of 0.9 for M = 32).
    """
    m = samples.shape[0]
    below = (samples < truth[None]).sum(axis=0)
    ties = (samples == truth[None]).sum(axis=0)
    lo_u, hi_u = below / (m + 1), (below + ties + 1) / (m + 1)
    lo, hi = 0.5 - level / 2, 0.5 + level / 2
    return np.clip(np.minimum(hi_u, hi) - np.maximum(lo_u, lo), 0.0, None) / (hi_u - lo_u)


def crps_ensemble(samples: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """CRPS of an ensemble (M, ...) against ``truth`` (...): E|X − y| − ½ E|X − X'| (fair form)."""
    m = samples.shape[0]
    skill = np.abs(samples - truth[None]).mean(axis=0)
    s = np.sort(samples, axis=0)
    k = np.arange(1, m + 1).reshape((m,) + (1,) * (samples.ndim - 1))
    spread = (2 * (2 * k - m - 1) * s).sum(axis=0) / (m * (m - 1)) if m > 1 else 0.0
    return skill - 0.5 * spread


def energy_distance(x: np.ndarray, y: np.ndarray) -> float:
    """2E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖ between two sets of vectors (rows), unbiased within-set terms."""
    def mean_dist(a: np.ndarray, b: np.ndarray, same: bool) -> float:
        d = np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0.0))
        if same:
            n = len(a)
            return float(d.sum() / max(n * (n - 1), 1))
        return float(d.mean())

    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    return 2 * mean_dist(x, y, False) - mean_dist(x, x, True) - mean_dist(y, y, True)


# ----------------------------------------------------------------------------------------------
# Observations from a truth
# ----------------------------------------------------------------------------------------------


def synthetic_observations(truth_phys: np.ndarray, norm: dict[str, Any], project: Project,
                           rng: np.random.Generator) -> list[dict[str, Any]]:
    """Observation entries (physical units, noisy) of one truth following [evaluate]'s template."""
    e = project.evaluate
    rows = norm["rows"]
    if e.observe_field not in rows:
        raise ProjectError(f"evaluate.observe_field = {e.observe_field!r} is not a model row; rows: {', '.join(rows)}")
    grid = np.asarray(norm["grid_m"])
    L = float(norm.get("channel_length_m") or 0.025)
    z = np.linspace(e.observe_z_channel_lengths[0] * L, e.observe_z_channel_lengths[1] * L, e.observe_points)
    z = np.clip(z, grid[0], grid[-1])
    profile = truth_phys[rows.index(e.observe_field)]
    values = np.interp(z, grid, profile)
    std = e.observe_rel_noise * np.maximum(np.abs(values), 0.01 * np.abs(profile).max())
    noisy = values + std * rng.standard_normal(len(z))
    entries = [{"field": e.observe_field, "z": float(zi), "value": float(v), "std": float(s)}
               for zi, v, s in zip(z, noisy, std, strict=True)]
    for name in e.known_scalars:
        if name not in rows:
            raise ProjectError(f"evaluate.known_scalars names {name!r}, which is not a model row")
        q = float(truth_phys[rows.index(name)].mean())
        s = e.known_rel_noise * abs(q)
        entries.append({"field": name, "z": "", "value": q + s * float(rng.standard_normal()), "std": s})
    return entries


# ----------------------------------------------------------------------------------------------
# The command
# ----------------------------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    output_json: Path
    figure: Path
    settings: list[dict[str, Any]]
    table: list[list[Any]]  # per setting: name, nfe, coverage50/90 ± se, crps, nrmse; pooled spread-skill
    energy_distance: float | None


def _row_metrics(post: np.ndarray, truth: np.ndarray, sigma_d: float) -> dict[str, Any]:
    """post (K, M, C, W), truth (K, C, W) → per-row metrics (lists over rows) and calibration."""
    M = post.shape[1]
    median = np.median(post, axis=1)
    mean = post.mean(axis=1)
    rmse = np.sqrt(((median - truth) ** 2).mean(axis=(0, 2)))
    rmse_mean = np.sqrt(((mean - truth) ** 2).mean(axis=(0, 2)))
    spread = np.sqrt(post.var(axis=1, ddof=1).mean(axis=(0, 2)))
    ps = np.moveaxis(post, 1, 0)  # (M, K, C, W)
    cov = {lvl: interval_coverage(ps, truth, lvl).mean(axis=(0, 2)) for lvl in LEVELS}
    crps = crps_ensemble(ps, truth).mean(axis=(0, 2))
    # The truths' profiles are strongly correlated along z and across rows, so the uncertainty of a
    # pooled coverage comes from the spread over the K truths, not from the number of points.
    K = truth.shape[0]
    inside = {lvl: interval_coverage(ps, truth, lvl) for lvl in (0.5, 0.9)}  # (K, C, W) each
    se = {lvl: float(v.mean(axis=(1, 2)).std(ddof=1) / math.sqrt(K)) if K > 1 else math.nan
          for lvl, v in inside.items()}
    return {
        "nrmse": (rmse / sigma_d).tolist(),
        "coverage50": inside[0.5].mean(axis=(0, 2)).tolist(),
        "coverage90": inside[0.9].mean(axis=(0, 2)).tolist(),
        "crps": (crps / sigma_d).tolist(),
        "spread_skill": (spread * math.sqrt((M + 1) / M) / np.maximum(rmse_mean, 1e-12)).tolist(),
        # pooled over rows: the rows' mean spread² over their mean squared error of the ensemble mean
        "spread_skill_pooled": float(math.sqrt((M + 1) / M * (spread**2).mean() / max((rmse_mean**2).mean(), 1e-24))),
        "calibration": {f"{lvl:.1f}": cov[lvl].tolist() for lvl in LEVELS},
        # standard errors over the truths of the coverage pooled over rows (NaN for one truth)
        "coverage50_pooled_se": se[0.5],
        "coverage90_pooled_se": se[0.9],
    }


def _with_se(value: float, se: float) -> str:
    return f"{value:.3f}" if math.isnan(se) else f"{value:.3f} ± {se:.3f}"


def run(project: Project, *, model: Path | None = None, sweep: dict[str, list[Any]] | None = None,
        output_dir: Path | None = None, report: Reporter | None = None) -> EvaluationResult:
    """Evaluate a model on held-out simulations; write evaluation.json and a calibration figure."""
    from hallctl import posterior
    from hallctl.model.io import load_model
    from hallctl.model.runtime import resolve_device
    from hallctl.plot.figures import figure_calibration
    from hallctl.plot.style import save
    from hallctl.sample import build_observations

    report = resolve(report)
    e, cfg = project.evaluate, project.sample
    path = posterior.model_path(project, model)
    if not path.is_file():
        raise ModelError(f"model file {path} not found; train one with `hallctl train` or pass --model")
    device = str(resolve_device(cfg.device))
    precond, meta = load_model(path, device=device)
    norm = meta["dataset"]["normalization"]
    ds = read_dataset(project.data_dir / f"{e.dataset}.h5", hint="run `hallctl split` first")
    if ds.rows != list(norm["rows"]):
        raise DataError(f"{e.dataset}.h5 has rows {ds.rows}, the model {norm['rows']}; evaluate on data "
                        "normalized like the training set")
    if len(ds) == 0:
        other = "val_large" if e.dataset != "val_large" else "val_small"
        raise DataError(f"{e.dataset}.h5 is empty; raise split.{e.dataset} (and rerun `hallctl split`) or set "
                        f"evaluate.dataset = '{other}'")
    train_ids = set()
    train_file = project.data_dir / f"{project.train.dataset}.h5"
    if train_file.is_file():
        train_ids = set(read_dataset(train_file, load_tensor=False).record_id.tolist())
    order = np.argsort(ds.record_id)
    pick = [i for i in order if int(ds.record_id[i]) not in train_ids][: e.num_truths]
    if not pick:
        raise DataError(f"every record of {e.dataset}.h5 was used in training; evaluate on held-out data only")
    truths = ds.tensor[pick].astype(np.float64)
    truth_phys = denormalize(truths, norm)
    rng = np.random.default_rng(np.random.SeedSequence([e.seed, 7]))
    entries = [synthetic_observations(t, norm, project, rng) for t in truth_phys]
    observations = [build_observations(obs, norm) for obs in entries]
    sigma_d = float(norm.get("target_std", 0.5))
    sweep = sweep or {}
    keys = list(sweep)
    combos = [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(sweep[k] for k in keys))] or [{}]
    results = []
    with report.progress("evaluate", total=len(combos) * len(pick), unit="truths") as bar:
        for combo in combos:
            s = {"steps": cfg.steps, "sampler": cfg.sampler, "guidance": cfg.guidance, "churn": cfg.churn,
                 "sigma_max": cfg.sigma_max, "num_samples": e.num_samples, "mmps_eig_floor": cfg.mmps_eig_floor,
                 **combo}
            post, nfe = [], 0
            for k, obs in enumerate(observations):
                d = posterior.draw(precond, norm, observations=obs, num_samples=s["num_samples"],
                                   batch_size=cfg.batch_size, steps=s["steps"], sampler=s["sampler"],
                                   guidance=s["guidance"], sigma_min=cfg.sigma_min, sigma_max=s["sigma_max"],
                                   rho=cfg.rho, churn=s["churn"], seed=cfg.seed + 1000 * k, device=device,
                                   mmps_eig_floor=s["mmps_eig_floor"])
                post.append(d.x)
                nfe = d.nfe
                bar.advance(1)
            metrics = _row_metrics(np.stack(post), truths, sigma_d)
            results.append({"settings": s, "nfe_per_sample": nfe, "rows": norm["rows"], **metrics})
    # unconditional model vs the validation set
    unc = posterior.draw(precond, norm, num_samples=min(len(ds), 128) if len(ds) > 1 else 2,
                         batch_size=cfg.batch_size, steps=cfg.steps, sampler=cfg.sampler, guidance="none",
                         sigma_min=cfg.sigma_min, sigma_max=cfg.sigma_max, rho=cfg.rho, churn=cfg.churn,
                         seed=cfg.seed + 999_999, device=device)
    energy = energy_distance(unc.x, ds.tensor.astype(np.float64)) if len(ds) > 1 else None
    out_dir = output_dir or path.parent / "evaluation"
    observed_rows = sorted({o["field"] for o in entries[0]})
    doc = {"model": str(path), "dataset": str(project.data_dir / f"{e.dataset}.h5"),
           "truth_record_ids": [int(ds.record_id[i]) for i in pick], "observation_seed": e.seed,
           "observed_rows": observed_rows, "template": project.to_dict()["evaluate"], "results": results,
           "energy_distance_unconditional": energy, "levels": LEVELS.tolist(), "sigma_data": sigma_d}
    output_json = out_dir / "evaluation.json"
    with atomic_write(output_json) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))
    first = results[0]
    calibration = np.array([first["calibration"][f"{lvl:.1f}"] for lvl in LEVELS])  # (levels, rows)
    groups: dict[str, dict[str, np.ndarray]] = {"profiles": {}, "scalars": {}}
    for i, (row, kind) in enumerate(zip(norm["rows"], norm["kind"], strict=True)):
        groups["profiles" if kind == "field" else "scalars"][row] = calibration[:, i]
    figure = save(figure_calibration(LEVELS, {k: v for k, v in groups.items() if v}),
                  out_dir / f"calibration.{project.plot.format}", dpi=project.plot.dpi)
    table = []
    for r in results:
        name = ", ".join(f"{k}={v}" for k, v in r["settings"].items() if k in sweep) or "default"
        table.append([name, r["nfe_per_sample"], _with_se(np.mean(r["coverage50"]), r["coverage50_pooled_se"]),
                      _with_se(np.mean(r["coverage90"]), r["coverage90_pooled_se"]), float(np.mean(r["crps"])),
                      float(np.mean(r["nrmse"])), r["spread_skill_pooled"]])
    return EvaluationResult(output_json=output_json, figure=figure, settings=[r["settings"] for r in results],
                            table=table, energy_distance=energy)
