"""``hallctl pipeline``: generate → normalize → split → train → evaluate → figures, in one call.

A stage is skipped when its outputs exist and were made from the same configuration and inputs
(a fingerprint per stage, kept in ``<data>/pipeline-state.json`` and ``<run>/pipeline-state.json``),
so an interrupted pipeline resumes where it stopped: generate and train resume on their own from
what they wrote, and a changed training configuration restarts training instead of mixing runs.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hallctl.commands.common import model_path, provenance
from hallctl.data.hdf5 import atomic_write
from hallctl.project import Project
from hallctl.report import Reporter, resolve

__all__ = ["STAGES", "PipelineSummary", "run"]

STAGES = ("generate", "normalize", "split", "train", "evaluate", "figures")


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _files_key(paths: list[Path]) -> list[tuple[str, int, int]]:
    return [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(paths) if p.is_file()]


class _State:
    """Fingerprints of finished stages, stored beside their outputs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str) -> None:
        self.data[key] = value
        with atomic_write(self.path) as tmp:
            tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))


@dataclass
class PipelineSummary:
    stages: list[tuple[str, str, float]] = field(default_factory=list)  # (stage, ran|skipped, seconds)
    figures: list[Path] = field(default_factory=list)
    evaluation: Path | None = None
    evaluation_result: Any = None  # hallctl.commands.evaluate.EvaluationResult when the stage ran


def _example_posterior(project: Project, report: Reporter) -> list[Path]:
    """Posterior for the first held-out truth with the evaluation template; profile and parameter plots."""
    from hallctl.commands.plot import plot_params, plot_samples
    from hallctl.commands.sample import sampler_settings
    from hallctl.data.normalization import Normalization
    from hallctl.data.store import SampleSet, read_dataset, write_samples
    from hallctl.evaluation import synthetic_observations
    from hallctl.model.io import load_model
    from hallctl.model.runtime import resolve_device
    from hallctl.sample import build_observations
    from hallctl.sample.draw import draw

    e, cfg = project.evaluate, project.sample
    ds = read_dataset(project.data_dir / f"{e.dataset}.h5")
    if not len(ds):
        return []
    path = model_path(project)
    device = str(resolve_device(cfg.device))
    precond, meta = load_model(path, device=device)
    norm = Normalization.from_dict(meta["dataset"]["normalization"])
    truth = norm.to_physical(ds.tensor[0].astype(np.float64))
    entries = synthetic_observations(truth, norm, e, np.random.default_rng(e.seed))
    d = draw(precond, norm, sampler_settings(project), observations=build_observations(entries, norm),
             num_samples=e.num_samples, device=device, report=report)
    s = SampleSet(samples=d.phys.astype(np.float32), rows=list(norm.rows), kinds=list(norm.kinds),
                  units=list(norm.units), grid_m=norm.grid_m, normalization=norm.to_dict(),
                  observations=entries, settings={**d.settings, "model": str(path)}, seed=cfg.seed)
    out = project.run_dir / "samples" / "example.h5"
    write_samples(out, s, provenance(project, seed=cfg.seed, command="pipeline"))
    ref = f"{project.data_dir / (e.dataset + '.h5')}:{int(ds.record_id[0])}"
    fmt, dpi = project.plot.format, project.plot.dpi
    fields = [f for f in project.plot.fields if f in s.rows] or [r for r, k in zip(s.rows, s.kinds, strict=True)
                                                                 if k == "field"][:4]
    scalars = [r for r, k in zip(s.rows, s.kinds, strict=True) if k == "scalar" and not r.startswith("psd_")]
    return [plot_samples(out, out.with_name(f"example-profiles.{fmt}"), fields=fields, reference=ref, dpi=dpi),
            plot_params(out, out.with_name(f"example-params.{fmt}"), names=scalars[:9], reference=ref, dpi=dpi)]


def run(project: Project, *, force: bool = False, report: Reporter | None = None) -> PipelineSummary:
    """Run every stage that is not up to date (see the module docstring)."""
    from hallctl.commands import evaluate, generate, normalize, split
    from hallctl.commands import train as trainer
    from hallctl.commands.plot import plot_dataset, plot_training

    report = resolve(report)
    summary = PipelineSummary()
    data_state = _State(project.data_dir / "pipeline-state.json")
    d = project.to_dict()

    def stage(name: str, key: str | None, state: _State, outputs: list[Path], fn: Callable[[], Any]) -> Any:
        if key is not None and state.get(name) == key and all(p.exists() for p in outputs):
            report.info(f"[{name}] up to date, skipped")
            summary.stages.append((name, "skipped", 0.0))
            return None
        report.info(f"[{name}] running")
        start = time.perf_counter()
        result = fn()
        if key is not None:
            state.set(name, key)
        summary.stages.append((name, "ran", time.perf_counter() - start))
        return result

    # generate resumes by itself and returns at once when the campaign is complete
    start = time.perf_counter()
    gen = generate.run(project, force=force, report=report)
    summary.stages.append(("generate", "ran" if gen.ran else "skipped", time.perf_counter() - start))

    shards = sorted(generate.raw_dir(project).glob("shard-*.h5"))
    normalized = normalize.normalized_path(project)
    norm_key = _digest(d["normalize"], d["split"], d["simulation"]["average_start_fraction"], _files_key(shards))
    stage("normalize", norm_key, data_state, [normalized], lambda: normalize.run(project, report=report))
    split_files = split.split_paths(project)
    split_key = _digest(d["split"], norm_key)
    stage("split", split_key, data_state, split_files, lambda: split.run(project, report=report))

    run_state = _State(project.run_dir / "pipeline-state.json")
    conditioning = [d["conditioning"]] if project.conditioning.enabled else []  # old fingerprints stay valid
    train_key = _digest(d["model"], d["train"], split_key, *conditioning)
    restart = run_state.get("train-started") not in (None, train_key)
    ema_file = model_path(project)

    def train_stage() -> Any:
        run_state.set("train-started", train_key)
        return trainer.run(project, restart=restart, report=report)

    stage("train", train_key, run_state, [project.run_dir / "model.safetensors", ema_file], train_stage)
    eval_key = _digest(d["evaluate"], d["sample"], train_key)
    eval_dir = ema_file.parent / "evaluation"
    result = stage("evaluate", eval_key, run_state, [eval_dir / "evaluation.json"],
                   lambda: evaluate.run(project, report=report))
    summary.evaluation = eval_dir / "evaluation.json"
    summary.evaluation_result = result
    fmt, dpi = project.plot.format, project.plot.dpi
    figures = [project.data_dir / f"normalized-overview.{fmt}", project.run_dir / f"training.{fmt}",
               project.run_dir / "samples" / f"example-profiles.{fmt}", eval_dir / f"calibration.{fmt}"]

    def figure_stage() -> None:
        plot_dataset(normalized, figures[0], dpi=dpi)
        plot_training(project.run_dir, figures[1], dpi=dpi)
        _example_posterior(project, report)

    stage("figures", _digest(d["plot"], eval_key), run_state, figures[:3], figure_stage)
    summary.figures = [p for p in figures if p.exists()]
    params_fig = project.run_dir / "samples" / f"example-params.{fmt}"
    if params_fig.exists():
        summary.figures.append(params_fig)
    return summary
