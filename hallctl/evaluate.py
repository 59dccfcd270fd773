"""``hallctl evaluate``: posteriors on held-out simulations, in physical units, against baselines.

For each of K held-out truths (from a split that neither training nor model selection saw),
synthetic observations are made from the [evaluate] template: by default ui_1 at 15 points between
0.6 and 3 channel lengths with 5 % noise, plus the discharge voltage and the anode flow with the
noise of a real operating point (1 V at 270 V, 0.01 mg/s at 5.16 mg/s). The noise is drawn from a
recorded seed and the standard deviation written for each observation follows from the template
and the *observed* value, as a user would write it, never from the clean truth.

Three kinds of posterior answer the same observations of the same truths:

* the diffusion posterior for every sampler setting of the sweep (default: the [sample] section);
* ``prior``: unconditional samples of the same model (what the observations add);
* ``simulations``: the importance-weighted simulation posterior, i.e. the training simulations
  weighted by the observation likelihood p(y | x_i), with its effective sample size (what a user
  with the campaign but no model could do). The model is worth its cost where it beats this.

Reported per row (means over the truths, ± standard errors over them): for profiles the relative L2
error of the posterior median against the truth in physical units (%), for scalars its relative
error (%); the pointwise coverage of the central 50 % and 90 % intervals (rank-based, unbiased for
any ensemble size; calibrated: 0.5 and 0.9); and CRPS (normalized units / σ_d). Per posterior:
χ²/obs of its mean against the observations, and for each known scalar the residual of the posterior
mean and the posterior sd in units of the observation's σ (the worst over the truths).
"""

from __future__ import annotations

import dataclasses
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
from hallctl.project import Project, SampleSection, check_range
from hallctl.report import Reporter, resolve
from hallctl.scores import (
    crps_ensemble,
    effective_sample_size,
    energy_distance,
    interval_coverage,
    weighted_mean,
    weighted_quantile,
)

__all__ = ["LEVELS", "EvaluationResult", "Posterior", "crps_ensemble", "energy_distance", "importance_weights",
           "interval_coverage", "parse_sweep", "posterior_scores", "run", "synthetic_observations"]

LEVELS = np.linspace(0.1, 0.9, 9)
SWEEP_KEYS = {"steps": int, "sampler": str, "guidance": str, "churn": float, "sigma_max": float,
              "num_samples": int, "mmps_jacobian": str, "mmps_network_sigma": float}
PRIOR, SIMULATIONS = "prior", "simulations"
MIN_ESS_FOR_COVERAGE = 4.0
"""Below this mean effective sample size, coverage is not shown: the randomized PIT of an ensemble
of one effective draw is uniform whatever it predicts (its error and CRPS still tell)."""


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
        meta = {f.name: dict(f.metadata) for f in dataclasses.fields(SampleSection)}[key]
        for v in sweep[key]:  # the same choices and ranges as the [sample] key of that name
            check_range(v, meta, f"--sweep {key}")
    return sweep


# ----------------------------------------------------------------------------------------------
# Observations from a truth
# ----------------------------------------------------------------------------------------------


def _typical_magnitude(norm: dict[str, Any], r: int) -> float:
    """RMS of a linear row over the normalization set: √(μ² + std²) in physical units."""
    std = float(norm["std"][r]) * float(norm.get("target_std", 0.5))
    return math.hypot(float(norm["mean"][r]), std)


def synthetic_observations(truth_phys: np.ndarray, norm: dict[str, Any], project: Project,
                           rng: np.random.Generator) -> list[dict[str, Any]]:
    """Observation entries (physical units, noisy) of one truth following [evaluate]'s template.

    A relative error ρ is lognormal on log rows (value q·exp(σ ε), σ = √ln(1 + ρ²), entry
    ``rel_std`` = ρ) and additive on linear rows (q + ρ·max(|q|, floor·typical)·ε; the entry's
    ``std`` is ρ·max(|y|, floor·typical) with the observed y and the row's typical magnitude from
    the normalization table).
    """
    e = project.evaluate
    rows = norm["rows"]
    if e.observe_field not in rows:
        raise ProjectError(f"evaluate.observe_field = {e.observe_field!r} is not a model row; rows: {', '.join(rows)}")
    grid = np.asarray(norm["grid_m"])
    L = float(norm.get("channel_length_m") or 0.025)
    z = np.linspace(e.observe_z_channel_lengths[0] * L, e.observe_z_channel_lengths[1] * L, e.observe_points)
    z = np.clip(z, grid[0], grid[-1])
    r = rows.index(e.observe_field)
    values = np.interp(z, grid, truth_phys[r])

    def noisy(q: np.ndarray, rho: float, r: int) -> tuple[np.ndarray, dict[str, Any]]:
        eps = rng.standard_normal(q.shape)
        if norm["log"][r]:
            return q * np.exp(math.sqrt(math.log1p(rho**2)) * eps), {"rel_std": rho}
        floor = e.observe_noise_floor * _typical_magnitude(norm, r)
        y = q + rho * np.maximum(np.abs(q), floor) * eps
        return y, {"std": rho * np.maximum(np.abs(y), floor)}

    y, noise = noisy(values, e.observe_rel_noise, r)
    entries = [{"field": e.observe_field, "z": float(z[k]), "value": float(y[k]),
                **{key: float(np.broadcast_to(v, y.shape)[k]) for key, v in noise.items()}} for k in range(len(z))]
    rel = list(e.known_rel_noise) * (len(e.known_scalars) if len(e.known_rel_noise) == 1 else 1)
    for name, rho in zip(e.known_scalars, rel, strict=True):
        if name not in rows:
            raise ProjectError(f"evaluate.known_scalars names {name!r}, which is not a model row")
        s = rows.index(name)
        y, noise = noisy(np.array([truth_phys[s].mean()]), rho, s)
        entries.append({"field": name, "z": "", "value": float(y[0]),
                        **{key: float(np.ravel(v)[0]) for key, v in noise.items()}})
    return entries


# ----------------------------------------------------------------------------------------------
# Posteriors and their scores
# ----------------------------------------------------------------------------------------------


@dataclass
class Posterior:
    """One posterior for one truth: an ensemble (M, C, W) in normalized units, optionally weighted."""

    x: np.ndarray
    weights: np.ndarray | None = None

    @property
    def ess(self) -> float:
        return float(self.x.shape[0]) if self.weights is None else effective_sample_size(self.weights)


def importance_weights(records: np.ndarray, obs: Any) -> np.ndarray:
    """Normalized weights ∝ p(y | x_i) = Π_k N(y_k; (A x_i)_k, σ_y,k²) of records (N, C, W)."""
    import torch

    pred = obs.operator.to(dtype=torch.float64)(torch.as_tensor(records, dtype=torch.float64)).numpy()
    logw = -0.5 * (((pred - obs.y.numpy()) / obs.sigma_y.numpy()) ** 2).sum(axis=1)
    w = np.exp(logw - logw.max())
    return w / w.sum()


def posterior_scores(post: Posterior, truth: np.ndarray, obs: Any, norm: dict[str, Any],
                     known: list[int]) -> dict[str, Any]:
    """Scores of one posterior against its truth (C, W) and observations (see the module docstring).

    Args:
        known: indices (into the observations) of the known-scalar observations.
    """
    import torch

    sigma_d = float(norm.get("target_std", 0.5))
    x, w = post.x, post.weights
    median = weighted_quantile(x, 0.5, w)
    med_phys, truth_phys = denormalize(median, norm), denormalize(truth, norm)
    rel = []
    for r, kind in enumerate(norm["kind"]):
        if kind == "scalar":
            q, t = med_phys[r].mean(), truth_phys[r].mean()
            rel.append(100.0 * abs(q - t) / max(abs(t), 1e-300))
        else:
            rel.append(100.0 * np.linalg.norm(med_phys[r] - truth_phys[r]) / max(np.linalg.norm(truth_phys[r]), 1e-300))
    pred = obs.operator.to(dtype=torch.float64)(torch.as_tensor(x, dtype=torch.float64)).numpy()  # (M, n)
    y, sy = obs.y.numpy(), obs.sigma_y.numpy()
    mean_pred = weighted_mean(pred, w)
    sd_pred = np.sqrt(np.maximum(weighted_mean((pred - mean_pred) ** 2, w), 0.0))
    calibration = {f"{lvl:.1f}": interval_coverage(x, truth, lvl, w).mean(axis=1).tolist() for lvl in LEVELS}
    return {
        "rel_error_pct": rel,
        "coverage50": calibration["0.5"],  # LEVELS holds 0.5 and 0.9: each level is computed once
        "coverage90": calibration["0.9"],
        "calibration": calibration,
        "crps": (crps_ensemble(x, truth, w).mean(axis=1) / sigma_d).tolist(),
        "chi2_per_obs": float((((mean_pred - y) / sy) ** 2).mean()),
        "known_residual_over_sigma": ((mean_pred[known] - y[known]) / sy[known]).tolist(),
        "known_sd_over_sigma": (sd_pred[known] / sy[known]).tolist(),
        "ess": post.ess,
    }


def _mean_se(values: list[Any]) -> tuple[Any, Any]:
    a = np.asarray(values, dtype=float)
    se = a.std(axis=0, ddof=1) / math.sqrt(len(a)) if len(a) > 1 else np.full(a.shape[1:], math.nan)
    return a.mean(axis=0), se


def aggregate(per_truth: list[dict[str, Any]], rows: list[str], kinds: list[str],
              known_names: list[str]) -> dict[str, Any]:
    """Means and standard errors over the truths, per row and pooled over rows."""
    out: dict[str, Any] = {"rows": {}, "pooled": {}}
    for key in ("rel_error_pct", "coverage50", "coverage90", "crps"):
        mean, se = _mean_se([t[key] for t in per_truth])
        for r, name in enumerate(rows):
            out["rows"].setdefault(name, {"kind": kinds[r]})
            out["rows"][name][key], out["rows"][name][key + "_se"] = float(mean[r]), float(se[r])
        if key != "rel_error_pct":
            pm, pse = _mean_se([[np.mean(t[key])] for t in per_truth])
            out["pooled"][key], out["pooled"][key + "_se"] = float(pm[0]), float(pse[0])
    out["pooled"]["chi2_per_obs"] = float(np.mean([t["chi2_per_obs"] for t in per_truth]))
    out["pooled"]["chi2_per_obs_worst"] = float(np.max([t["chi2_per_obs"] for t in per_truth]))
    out["known"] = {}
    for k, name in enumerate(known_names):
        res = [abs(t["known_residual_over_sigma"][k]) for t in per_truth]
        out["known"][name] = {"worst_abs_residual_over_sigma": float(np.max(res)),
                              "mean_abs_residual_over_sigma": float(np.mean(res)),
                              "worst_sd_over_sigma": float(np.max([t["known_sd_over_sigma"][k] for t in per_truth]))}
    out["ess_mean"] = float(np.mean([t["ess"] for t in per_truth]))
    out["ess_min"] = float(np.min([t["ess"] for t in per_truth]))
    out["calibration"] = {lvl: np.mean([t["calibration"][lvl] for t in per_truth], axis=0).tolist()
                          for lvl in per_truth[0]["calibration"]}
    return out


# ----------------------------------------------------------------------------------------------
# The command
# ----------------------------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    output_json: Path
    figure: Path
    settings: list[dict[str, Any]]
    table: list[list[Any]]  # one line per posterior: see TABLE_COLUMNS
    fields_table: list[list[Any]]  # one line per row: see fields_columns
    fields_columns: list[str]
    energy_distance: float | None


TABLE_COLUMNS = ["posterior", "NFE", "cov 50%", "cov 90%", "CRPS", "CRPS vs prior", "chi2/obs", "worst |res|/sigma",
                 "worst sd/sigma", "ESS"]


def _pm(value: float, se: float, fmt: str = ".3f") -> str:
    return f"{value:{fmt}}" if math.isnan(se) else f"{value:{fmt}} ± {se:{fmt}}"


def _truths(project: Project, meta: dict[str, Any], norm: dict[str, Any]) -> tuple[Any, list[int]]:
    """The evaluation set and the indices of its first K records by id (checked to be held out)."""
    e = project.evaluate
    validated_on = meta.get("validation_split")
    if validated_on and validated_on == e.dataset:
        raise ProjectError(f"evaluate.dataset = '{e.dataset}' is the split this model was validated (selected) "
                           f"on; evaluate on the other one (evaluate.dataset = "
                           f"'{'val_large' if e.dataset == 'val_small' else 'val_small'}')")
    ds = read_dataset(project.data_dir / f"{e.dataset}.h5", hint="run `hallctl split` first")
    if ds.rows != list(norm["rows"]):
        raise DataError(f"{e.dataset}.h5 has rows {ds.rows}, the model {norm['rows']}; evaluate on data "
                        "normalized like the training set")
    if len(ds) == 0:
        raise DataError(f"{e.dataset}.h5 is empty; raise split.{e.dataset} (and rerun `hallctl split`)")
    if not np.allclose(ds.mean, norm["mean"]) or not np.allclose(ds.std, norm["std"]):
        raise DataError(f"{e.dataset}.h5 was normalized differently from the model's training set; rerun "
                        "`hallctl normalize` and `hallctl split`, or evaluate the model trained on them")
    train_ids = set()
    train_file = project.data_dir / f"{project.train.dataset}.h5"
    if train_file.is_file():
        train_ids = set(read_dataset(train_file, load_tensor=False).record_id.tolist())
    order = np.argsort(ds.record_id)
    pick = [int(i) for i in order if int(ds.record_id[i]) not in train_ids][: e.num_truths]
    if not pick:
        raise DataError(f"every record of {e.dataset}.h5 was used in training; evaluate on held-out data only")
    return ds, pick


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
    ds, pick = _truths(project, meta["dataset"], norm)
    train_file = project.data_dir / f"{project.train.dataset}.h5"
    records = read_dataset(train_file, hint="run `hallctl split` first").tensor.astype(np.float64)
    truths = ds.tensor[pick].astype(np.float64)
    rng = np.random.default_rng(np.random.SeedSequence([e.seed, 7]))
    entries = [synthetic_observations(t, norm, project, rng) for t in denormalize(truths, norm)]
    observations = [build_observations(obs, norm) for obs in entries]
    known = [k for k, o in enumerate(entries[0]) if o["z"] == ""]
    known_names = [entries[0][k]["field"] for k in known]
    rows, kinds = list(norm["rows"]), list(norm["kind"])
    sweep = sweep or {}
    keys = list(sweep)
    combos = [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(sweep[k] for k in keys))] or [{}]
    base = {**posterior.sampler_kwargs(cfg), "num_samples": e.num_samples}
    results: list[dict[str, Any]] = []

    def add(name: str, settings: dict[str, Any], nfe: int, posts: list[Posterior]) -> None:
        per_truth = [posterior_scores(p, t, o, norm, known) for p, t, o in zip(posts, truths, observations,
                                                                               strict=True)]
        results.append({"name": name, "settings": settings, "nfe_per_sample": nfe,
                        **aggregate(per_truth, rows, kinds, known_names), "per_truth": per_truth})

    with report.progress("evaluate", total=len(combos) * len(pick) + 1, unit="posteriors") as bar:
        for combo in combos:
            s = {**base, **combo}
            posts, nfe, extra = [], 0, {}
            for k, obs in enumerate(observations):
                d = posterior.draw(precond, norm, observations=obs, seed=cfg.seed + 1000 * k, device=device, **s)
                posts.append(Posterior(d.x))
                nfe, extra = d.nfe, d.settings
                bar.advance(1)
            name = ", ".join(f"{k}={v}" for k, v in combo.items()) or s["guidance"]
            add(name, {**s, **{k: extra[k] for k in extra if k.startswith("mmps_") or k == "vjp_per_sample"}},
                nfe, posts)
        unc = posterior.draw(precond, norm, seed=cfg.seed + 999_999, device=device, **{**base, "guidance": "none"})
        bar.advance(1)
    add(PRIOR, {**base, "guidance": "none"}, unc.nfe, [Posterior(unc.x)] * len(pick))
    add(SIMULATIONS, {"records": len(records), "file": str(train_file)}, 0,
        [Posterior(records, importance_weights(records, o)) for o in observations])
    energy = energy_distance(unc.x, ds.tensor.astype(np.float64)) if len(ds) > 1 else None

    out_dir = output_dir or path.parent / "evaluation"
    doc = {"model": str(path), "dataset": str(project.data_dir / f"{e.dataset}.h5"),
           "truth_record_ids": [int(ds.record_id[i]) for i in pick], "observation_seed": e.seed,
           "observations": entries, "known_scalars": known_names, "template": project.to_dict()["evaluate"],
           "results": results, "energy_distance_unconditional": energy, "levels": LEVELS.tolist(),
           "sigma_data": float(norm.get("target_std", 0.5)), "rows": rows, "kinds": kinds}
    output_json = out_dir / "evaluation.json"
    with atomic_write(output_json) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))
    first = results[0]
    calibration = np.array([first["calibration"][f"{lvl:.1f}"] for lvl in LEVELS])  # (levels, rows)
    groups: dict[str, dict[str, np.ndarray]] = {"profiles": {}, "scalars": {}}
    for i, (row, kind) in enumerate(zip(rows, kinds, strict=True)):
        groups["profiles" if kind == "field" else "scalars"][row] = calibration[:, i]
    figure = save(figure_calibration(LEVELS, {k: v for k, v in groups.items() if v}),
                  out_dir / f"calibration.{project.plot.format}", dpi=project.plot.dpi)
    prior_crps = next(r for r in results if r["name"] == PRIOR)["pooled"]["crps"]
    table = []
    for r in results:
        p, kn = r["pooled"], r["known"].values()
        # a nearly single-draw ensemble has a uniform randomized PIT whatever it predicts: no coverage
        blind = r["ess_mean"] < MIN_ESS_FOR_COVERAGE
        table.append([r["name"], r["nfe_per_sample"],
                      "n/a (ESS)" if blind else _pm(p["coverage50"], p["coverage50_se"]),
                      "n/a (ESS)" if blind else _pm(p["coverage90"], p["coverage90_se"]), _pm(p["crps"], p["crps_se"]),
                      f"{100 * (p['crps'] / prior_crps - 1):+.0f} %", f"{p['chi2_per_obs']:.3g}",
                      f"{max((v['worst_abs_residual_over_sigma'] for v in kn), default=math.nan):.3g}",
                      f"{max((v['worst_sd_over_sigma'] for v in kn), default=math.nan):.3g}",
                      f"{r['ess_mean']:.1f} (min {r['ess_min']:.1f})" if r["name"] == SIMULATIONS else ""])
    shown = [first, *(r for r in results if r["name"] in (PRIOR, SIMULATIONS))]
    columns = ["row", *[f"error % {r['name']}" for r in shown], *[f"cov90 {r['name']}" for r in shown]]
    fields_table = [[row, *[_pm(r["rows"][row]["rel_error_pct"], r["rows"][row]["rel_error_pct_se"], ".1f")
                            for r in shown],
                     *["n/a" if r["ess_mean"] < MIN_ESS_FOR_COVERAGE else
                       _pm(r["rows"][row]["coverage90"], r["rows"][row]["coverage90_se"], ".2f") for r in shown]]
                    for row in rows]
    return EvaluationResult(output_json=output_json, figure=figure, settings=[r["settings"] for r in results],
                            table=table, fields_table=fields_table, fields_columns=columns, energy_distance=energy)
