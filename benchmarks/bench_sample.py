"""Sampling throughput and network evaluations: unconditional and conditional, vs the research baseline.

    python benchmarks/bench_sample.py [--model runs/x/ema-0.1.safetensors] [--config tiny|small]
                                      [--samples 32] [--device cpu] [--baseline-steps 2048]

With --model, the observations follow the evaluation template applied to a held-out record,
and chi2/obs (the fit of the posterior mean) measures quality. Without --model a freshly
initialized network of the chosen configuration is used (speed does not depend on training;
the fit numbers then mean nothing; an untrained network has no data covariance, so the "data"
and "auto" MMPS lines then use the network's Jacobian only). Each line: sampler, steps, guidance
(MMPS with its Jacobian source: auto, network, data; DPS with the white-data variance or,
"dps-data", the data covariance's), network evaluations (NFE) and backward
passes per sample, samples/s, its ratio to the research-code baseline measured in the same run,
and, with observations, the chi-square per observation of the posterior mean. The baseline is the
research code's setting: midpoint steps with DPS-like guidance, 2048 steps (4096 evaluations,
each with a backward pass); it runs first.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time
from pathlib import Path

import numpy as np
import torch

from hallctl.data.normalize import denormalize
from hallctl.data.store import read_dataset
from hallctl.evaluation import synthetic_observations
from hallctl.model import ModelConfig, build_precond
from hallctl.model.control import ControlTemplate
from hallctl.model.io import load_model
from hallctl.project import Project
from hallctl.sample import (
    Conditioning,
    GuidanceOptions,
    Schedule,
    build_observations,
    fit_report,
    make_solver,
    sample,
)
from hallctl.sample.draw import SamplerSettings, amortized_denoiser

CONFIGS = {
    "tiny": (ModelConfig(channels=32, channel_mult=(1, 2), num_blocks=1, attn_resolutions=(16,),
                         channels_per_head=16), 32),
    "small": (ModelConfig(), 64),
}
FIELDS = ["B", "nu_e", "nu_an", "nn", "ne", "ni_1", "ni_2", "ni_3", "ui_1", "ui_2", "ui_3", "ue", "phi", "E",
          "Tev", "pe", "grad_pe"]
SCALARS = ["anode_mass_flow_rate_kg_s", "discharge_voltage_v", "magnetic_field_scale", "cathode_coupling_voltage_v",
           "neutral_velocity_m_s", "wall_loss_scale", "discharge_current_A", "thrust_N"]


def synthetic_meta(length: int) -> dict:
    rows = FIELDS + SCALARS
    return {"rows": rows, "kind": ["field"] * 17 + ["scalar"] * 8, "log": [r in ("B", "nu_e", "nu_an", "nn", "ne",
            "ni_1", "ni_2", "ni_3", "pe") for r in rows], "mean": [0.0] * 25, "std": [1.0] * 25,
            "units": [""] * 25, "grid_m": np.linspace(0.0003, 0.0797, length).tolist(), "target_std": 0.5}


def observations(meta: dict, truth_file: str | None):
    """The evaluation template (ui_1 at 15 points with 5 % noise, voltage and flow with 1 %) applied to the
    first record of ``truth_file`` (a held-out split), or to a made-up profile for an untrained network."""
    if truth_file:
        ds = read_dataset(truth_file)
        truth = denormalize(ds.tensor[0].astype(float), meta)
        entries = synthetic_observations(truth, meta, Project().evaluate, np.random.default_rng(0))
        return build_observations(entries, meta)
    entries = [{"field": "ui_1", "z": z, "value": 2e4 * z / 0.08, "std": 500.0} for z in np.linspace(0.015, 0.075, 15)]
    entries += [{"field": "discharge_voltage_v", "z": "", "value": 1.1, "std": 0.01},
                {"field": "anode_mass_flow_rate_kg_s", "z": "", "value": 0.9, "std": 0.01}]
    return build_observations(entries, meta)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--config", choices=list(CONFIGS), default="tiny")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--baseline-steps", type=int, default=2048)
    ap.add_argument("--amortized", action="store_true", help="untrained networks: build the amortized variant "
                    "(control channels, default template) to time its conditional sampling")
    ap.add_argument("--truth", default=None, help="held-out split whose first record is observed "
                    "(default with --model: val_large.h5 of the model's data folder)")
    args = ap.parse_args()
    torch.manual_seed(0)
    if args.model:
        net, meta = load_model(args.model, device=args.device)
        truth = args.truth or str(Path(meta["dataset"]["data_dir"]) / "val_large.h5")
        meta = meta["dataset"]["normalization"]
        what = args.model
    else:
        cfg, length = CONFIGS[args.config]
        cfg = dataclasses.replace(cfg, control=args.amortized)
        net = build_precond(cfg, 25, length).to(args.device).eval()
        net.control_template = ControlTemplate() if args.amortized else None
        kind = "amortized " if args.amortized else ""
        meta, what, truth = synthetic_meta(length), f"untrained {kind}{args.config} network", None
    obs = observations(meta, truth)
    C, W = len(meta["rows"]), len(meta["grid_m"])
    print(f"# hallctl sample benchmark: {what}, {args.samples} samples of {C} x {W}, device {args.device} "
          f"({platform.processor() or platform.machine()}, torch {torch.__version__})")
    cov = getattr(net, "data_covariance", None)
    cov = None if cov is None else (cov.basis.to(args.device), cov.eigenvalues.to(args.device), cov.floor)
    # "": DPS with the white-data variance (the baseline's); "data": DPS with the data covariance
    cases = [("midpoint", args.baseline_steps, "dps", ""), ("heun", 32, "none", ""), ("dpmpp_2m", 32, "none", ""),
             ("heun", 32, "mmps", "auto"), ("heun", 32, "mmps", "network"), ("heun", 32, "mmps", "data"),
             ("heun", 64, "mmps", "auto"), ("heun", 32, "dps", ""), ("heun", 32, "dps", "data")]
    amortized = None
    if getattr(net, "control_template", None) is not None:  # an amortized model: forward passes only
        amortized = amortized_denoiser(net, obs, SamplerSettings())
        if amortized is not None:  # the benchmark's observations lie inside its template
            cases.insert(3, ("heun", 32, "amortized", ""))
    base_rate = None
    for sampler, steps, guidance, jacobian in cases:
        start = time.perf_counter()
        options = GuidanceOptions(mmps_jacobian=jacobian if cov is not None and jacobian else "network")
        guided = guidance in ("mmps", "dps")
        conditioning = Conditioning(guidance if guided else "none", obs if guided else None, options=options,
                                    projected=[i for i, k in enumerate(meta["kind"]) if k == "scalar"],
                                    data_covariance=cov if guidance == "mmps" or jacobian else None)
        denoiser = amortized if guidance == "amortized" and amortized is not None else net
        res = sample(denoiser, conditioning, make_solver(sampler), num_samples=args.samples, shape=(C, W),
                     schedule=Schedule(steps=steps), seed=0, batch_size=args.samples, device=args.device)
        wall = time.perf_counter() - start
        rate = args.samples / wall
        base_rate = base_rate or rate
        chi = f"{fit_report(res.x, obs).chi2_per_obs:8.3g}" if guidance != "none" else "       -"
        label = " baseline (research code)" if steps == args.baseline_steps else ""
        vjp = res.settings.get("vjp_per_sample", 0)
        name = f"{guidance}-{jacobian}" if jacobian else guidance
        print(f"{sampler:>9} {steps:5d} steps {name:>12}: NFE {res.nfe_per_sample:5d} + {vjp:5d} backward, "
              f"{rate:9.3f} samples/s ({rate / base_rate:6.1f}x baseline), chi2/obs {chi}{label}")


if __name__ == "__main__":
    main()
