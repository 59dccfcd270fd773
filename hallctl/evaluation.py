"""Posteriors on held-out simulations, in physical units, against baselines (``hallctl evaluate``).

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
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hallctl.data.normalization import Normalization
from hallctl.data.normalize import denormalize
from hallctl.errors import ProjectError
from hallctl.report import Reporter
from hallctl.sample.draw import SamplerSettings, draw
from hallctl.scores import (
    crps_ensemble,
    effective_sample_size,
    energy_distance,
    interval_coverage,
    weighted_mean,
    weighted_quantile,
)
from hallctl.sections import EvaluateSection

__all__ = ["AMORTIZED", "LEVELS", "PRIOR", "SIMULATIONS", "SWEEP_KEYS", "TABLE_COLUMNS", "HeldOut", "Posterior",
           "aggregate", "crps_ensemble", "energy_distance", "evaluate_model", "importance_weights", "interval_coverage",
           "posterior_scores", "rows_table", "summary_table", "sweep_settings", "synthetic_observations"]

LEVELS = np.linspace(0.1, 0.9, 9)
SWEEP_KEYS = {"steps": int, "sampler": str, "guidance": str, "churn": float, "sigma_max": float,
              "num_samples": int, "mmps_jacobian": str, "mmps_network_sigma": float,
              "amortized_correction": str}
PRIOR, SIMULATIONS, AMORTIZED = "prior", "simulations", "amortized"
MIN_ESS_FOR_COVERAGE = 4.0
"""Below this mean effective sample size, coverage is not shown: the randomized PIT of an ensemble
of one effective draw is uniform whatever it predicts (its error and CRPS still tell)."""


# ----------------------------------------------------------------------------------------------
# Observations from a truth
# ----------------------------------------------------------------------------------------------


def synthetic_observations(truth_phys: np.ndarray, norm: Normalization | dict[str, Any], template: EvaluateSection,
                           rng: np.random.Generator) -> list[dict[str, Any]]:
    """Observation entries (physical units, noisy) of one truth following [evaluate]'s template.

    A relative error ρ is lognormal on log rows (value q·exp(σ ε), σ = √ln(1 + ρ²), entry
    ``rel_std`` = ρ) and additive on linear rows (q + ρ·max(|q|, floor·typical)·ε; the entry's
    ``std`` is ρ·max(|y|, floor·typical) with the observed y and the row's typical magnitude from
    the normalization table).
    """
    e, norm = template, Normalization.of(norm)
    rows = norm.rows
    if e.observe_field not in rows:
        raise ProjectError(f"evaluate.observe_field = {e.observe_field!r} is not a model row; rows: {', '.join(rows)}")
    grid = norm.grid_m
    L = float(norm.extra.get("channel_length_m") or 0.025)
    z = np.linspace(e.observe_z_channel_lengths[0] * L, e.observe_z_channel_lengths[1] * L, e.observe_points)
    z = np.clip(z, grid[0], grid[-1])
    r = rows.index(e.observe_field)
    values = np.interp(z, grid, truth_phys[r])

    def noisy(q: np.ndarray, rho: float, r: int) -> tuple[np.ndarray, dict[str, Any]]:
        eps = rng.standard_normal(q.shape)
        if norm.log[r]:
            return q * np.exp(math.sqrt(math.log1p(rho**2)) * eps), {"rel_std": rho}
        floor = e.observe_noise_floor * float(norm.typical[r])
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


def posterior_scores(post: Posterior, truth: np.ndarray, obs: Any, norm: Normalization | dict[str, Any],
                     known: list[int]) -> dict[str, Any]:
    """Scores of one posterior against its truth (C, W) and observations (see the module docstring).

    Args:
        known: indices (into the observations) of the known-scalar observations.
    """
    import torch

    norm = Normalization.of(norm)
    sigma_d = norm.target_std
    x, w = post.x, post.weights
    median = weighted_quantile(x, 0.5, w)
    med_phys, truth_phys = denormalize(median, norm), denormalize(truth, norm)
    rel = []
    for r, kind in enumerate(norm.kinds):
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
# Evaluating a model
# ----------------------------------------------------------------------------------------------


def sweep_settings(base: SamplerSettings, num_samples: int, sweep: dict[str, list[Any]]
                   ) -> list[tuple[str, SamplerSettings, int]]:
    """(name, settings, samples per truth) of every combination of the sweep (none: the base alone)."""
    keys = list(sweep)
    combos = [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(sweep[k] for k in keys))] or [{}]
    out = []
    for combo in combos:
        settings = dataclasses.replace(base, **{k: v for k, v in combo.items() if k != "num_samples"})
        name = ", ".join(f"{k}={v}" for k, v in combo.items()) or settings.guidance
        out.append((name, settings, int(combo.get("num_samples", num_samples))))
    return out


def _recorded(settings: SamplerSettings, num_samples: int) -> dict[str, Any]:
    return {**{k: v for k, v in dataclasses.asdict(settings).items() if k != "seed"}, "num_samples": num_samples}


@dataclass
class HeldOut:
    """The held-out truths (normalized), their observations, and the simulations baseline's records."""

    truths: np.ndarray  # (K, C, W)
    entries: list[list[dict[str, Any]]]  # the observation entries of each truth (physical units)
    observations: list[Any]  # the same, normalized with their operators
    records: np.ndarray  # (N, C, W) training simulations
    records_file: str
    positions: list[int] | None = None  # each truth's place among all truths (its sampling seed); None: 0, 1, …

    def select(self, keep: list[int]) -> HeldOut:
        """The truths ``keep`` (positions in this set) only, keeping their global positions."""
        pos = self.positions or list(range(len(self.truths)))
        return HeldOut(truths=self.truths[keep], entries=[self.entries[k] for k in keep],
                       observations=[self.observations[k] for k in keep], records=self.records,
                       records_file=self.records_file, positions=[pos[k] for k in keep])


def evaluate_model(precond: Any, norm: Normalization | dict[str, Any], held_out: HeldOut, base: SamplerSettings, *,
                   num_samples: int, sweep: dict[str, list[Any]], device: str,
                   report: Reporter) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Scores of the model's posteriors for every sweep setting, of its prior and of the simulations
    baseline, on the same observations of the same truths; and the unconditional samples."""
    norm = Normalization.of(norm)
    rows, kinds = list(norm.rows), list(norm.kinds)
    known = [k for k, o in enumerate(held_out.entries[0]) if o["z"] == ""]
    known_names = [held_out.entries[0][k]["field"] for k in known]
    results: list[dict[str, Any]] = []

    def add(name: str, settings: dict[str, Any], nfe: int, posts: list[Posterior]) -> None:
        per_truth = [posterior_scores(p, t, o, norm, known)
                     for p, t, o in zip(posts, held_out.truths, held_out.observations, strict=True)]
        results.append({"name": name, "settings": settings, "nfe_per_sample": nfe,
                        **aggregate(per_truth, rows, kinds, known_names), "per_truth": per_truth})

    corrections = sweep.get("amortized_correction", [base.amortized_correction])
    guided_sweep = {k: v for k, v in sweep.items() if k != "amortized_correction"}
    combos = [(name, dataclasses.replace(settings, amortized="never"), n)
              for name, settings, n in sweep_settings(base, num_samples, guided_sweep)]
    if getattr(precond, "control_template", None) is not None:  # the amortized model, on the same observations
        combos[:0] = [(AMORTIZED if c == "none" else f"{AMORTIZED}, correction={c}",
                       dataclasses.replace(base, amortized="auto", amortized_correction=c), num_samples)
                      for c in corrections]
    with report.progress("evaluate", total=len(combos) * len(held_out.truths) + 1, unit="posteriors") as bar:
        for name, settings, n in combos:
            posts, nfe, extra = [], 0, {}
            for k, obs in zip(held_out.positions or range(len(held_out.observations)), held_out.observations,
                              strict=True):
                d = draw(precond, norm, dataclasses.replace(settings, seed=base.seed + 1000 * k), observations=obs,
                         num_samples=n, device=device)
                posts.append(Posterior(d.x))
                nfe, extra = d.nfe, d.settings
                bar.advance(1)
            kept = {k: extra[k] for k in extra
                    if k.startswith("mmps_") or k in ("vjp_per_sample", "guidance", "amortized_correction")}
            add(name, {**_recorded(settings, n), **kept}, nfe, posts)
        prior = dataclasses.replace(base, guidance="none", seed=base.seed + 999_999)
        unc = draw(precond, norm, prior, num_samples=num_samples, device=device)
        bar.advance(1)
    add(PRIOR, {**_recorded(base, num_samples), "guidance": "none"}, unc.nfe, [Posterior(unc.x)] * len(held_out.truths))
    add(SIMULATIONS, {"records": len(held_out.records), "file": held_out.records_file}, 0,
        [Posterior(held_out.records, importance_weights(held_out.records, o)) for o in held_out.observations])
    return results, unc.x


TABLE_COLUMNS = ["posterior", "NFE", "cov 50%", "cov 90%", "CRPS", "CRPS vs prior", "chi2/obs", "worst |res|/sigma",
                 "worst sd/sigma", "ESS"]


def _pm(value: float, se: float, fmt: str = ".3f") -> str:
    return f"{value:{fmt}}" if math.isnan(se) else f"{value:{fmt}} ± {se:{fmt}}"


def summary_table(results: list[dict[str, Any]]) -> list[list[Any]]:
    """One line per posterior (columns: ``TABLE_COLUMNS``)."""
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
    return table


def rows_table(results: list[dict[str, Any]], rows: list[str]) -> tuple[list[str], list[list[Any]]]:
    """Columns and one line per row: errors and 90 % coverage of the model's first two posteriors (the
    amortized one and the first guided one, where both exist), the prior and the simulations."""
    models = [r for r in results if r["name"] not in (PRIOR, SIMULATIONS)][:2]  # amortized and/or the first guided
    shown = [*models, *(r for r in results if r["name"] in (PRIOR, SIMULATIONS))]
    columns = ["row", *[f"error % {r['name']}" for r in shown], *[f"cov90 {r['name']}" for r in shown]]
    lines = [[row, *[_pm(r["rows"][row]["rel_error_pct"], r["rows"][row]["rel_error_pct_se"], ".1f") for r in shown],
              *["n/a" if r["ess_mean"] < MIN_ESS_FOR_COVERAGE else
                _pm(r["rows"][row]["coverage90"], r["rows"][row]["coverage90_se"], ".2f") for r in shown]]
             for row in rows]
    return columns, lines
