"""``hallctl sample``: the [sample] section as prior or posterior samples in physical units, with summaries.

The model file alone is enough: its metadata carries the normalization and the grid. Output:
``<samples dir>/<tag>.h5`` (all samples, physical units), ``<tag>_summary.csv`` (long form per
field and grid point) and ``<tag>_scalars.csv`` (one line per scalar row).

In parts (``--shard i/N``, job arrays), part i draws the samples i·S/N … (i+1)·S/N − 1 of the
whole set (every sample's noise flows from the seed and its global index) into
``<tag>.part-iiiiofNNNN.h5``; :func:`merge` joins the N parts into ``<tag>.h5``, the same samples
bit for bit as one run when the batches of the parts fall alike (sample.batch_size dividing the
parts; float round-off otherwise), and writes the summaries.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hallctl.commands.common import model_path, provenance
from hallctl.data.normalization import Normalization
from hallctl.data.store import SampleSet, atomic_write, read_samples, write_samples
from hallctl.errors import DataError, ModelError, ObservationError, ProjectError
from hallctl.parts import Part
from hallctl.project import Project
from hallctl.report import Reporter
from hallctl.sample.draw import SamplerSettings, draw
from hallctl.sample.observations import FitReport

__all__ = ["PosteriorSummary", "merge", "parse_fixed", "run", "sampler_settings", "write_summaries"]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def parse_fixed(items: list[str], norm: Normalization | dict[str, Any]) -> dict[int, float]:
    """``name=value`` (physical units) of scalar rows → {row index: normalized value}."""
    fixed: dict[int, float] = {}
    norm = Normalization.of(norm)
    scalars = [norm.rows[r] for r in norm.scalar_rows]
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
        r = norm.rows.index(name)
        if norm.log[r] and q <= 0:
            raise ObservationError(f"--fix {name}={q}: this row is stored as a log and needs a positive value")
        fixed[r] = norm.value_to_model(r, q)
    return fixed


def sampler_settings(project: Project) -> SamplerSettings:
    """The [sample] section as SamplerSettings: every field of the same name."""
    section = project.sample
    return SamplerSettings(**{f.name: getattr(section, f.name) for f in dataclasses.fields(SamplerSettings)})


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
    summary_csv: Path | None  # None for a part (the merge writes the summaries)
    scalars_csv: Path | None
    nfe_per_sample: int
    fit: FitReport | None
    scalars: list[list[Any]]


def run(project: Project, *, model: Path | None = None, condition: Path | None = None,
        fixed_items: list[str] | None = None, output_dir: Path | None = None, part: Part | None = None,
        report: Reporter | None = None) -> PosteriorSummary:
    """Draw ``sample.num_samples`` samples and write them with their summaries (``part``: only that part's
    share of the samples, without summaries; see :func:`merge`).

    Raises:
        ModelError: the model file is missing or not a hallctl model.
        ObservationError: the observation file is invalid for this model.
    """
    from hallctl.model.io import load_model
    from hallctl.model.runtime import resolve_device
    from hallctl.sample import fit_report, read_observations

    cfg = project.sample
    path = model_path(project, model)
    if not path.is_file():
        raise ModelError(f"model file {path} not found; train one with `hallctl train` or pass --model")
    device = resolve_device(cfg.device)
    precond, meta = load_model(path, device=device)
    norm = Normalization.from_dict(meta["dataset"]["normalization"])
    condition = _condition(project, condition)
    obs = read_observations(condition, norm) if condition else None
    fixed = parse_fixed(fixed_items or [], norm)
    part = part or Part()
    share = part.span(cfg.num_samples)
    if not len(share):
        raise ProjectError(f"--shard {part.index}/{part.count}: {cfg.num_samples} samples leave this part none; "
                           "use fewer parts")
    d = draw(precond, norm, sampler_settings(project), observations=obs, fixed=fixed, num_samples=len(share),
             first_index=share.start, device=str(device), report=report)
    tag = _tag(project, condition)
    out_dir = output_dir or path.parent / "samples"
    observations = [{"field": o.field, "z": "" if o.z_m is None else o.z_m, "value": o.value, "std": o.std}
                    for o in obs.table] if obs is not None else []
    settings = {**d.settings, "model": str(path), "condition": str(condition) if condition else "",
                "fixed": fixed_items or [], "num_samples": cfg.num_samples}
    if not part.whole:
        settings["part"] = [part.index, part.count]
    s = SampleSet(samples=d.phys.astype(np.float32), rows=list(norm.rows), kinds=list(norm.kinds),
                  units=list(norm.units), grid_m=norm.grid_m, normalization=norm.to_dict(),
                  observations=observations, settings=settings, seed=cfg.seed)
    samples_file = out_dir / f"{tag}{part.suffix}.h5"
    write_samples(samples_file, s, provenance(project, seed=cfg.seed, command="sample"))
    fit = fit_report(d.x, obs) if obs is not None else None
    if not part.whole:
        return PosteriorSummary(samples_file=samples_file, summary_csv=None, scalars_csv=None, nfe_per_sample=d.nfe,
                                fit=fit, scalars=_summary_rows(s)[1])
    summary_csv, scalars_csv = write_summaries(s, out_dir / tag)
    return PosteriorSummary(samples_file=samples_file, summary_csv=summary_csv, scalars_csv=scalars_csv,
                            nfe_per_sample=d.nfe, fit=fit, scalars=_summary_rows(s)[1])


def _condition(project: Project, condition: Path | None) -> Path | None:
    return condition or (project.path(project.sample.condition) if project.sample.condition else None)


def _tag(project: Project, condition: Path | None) -> str:
    """The output name: sample.tag, else the observation file's stem, else "unconditional"."""
    return project.sample.tag or (Path(condition).stem if condition else "unconditional")


def merge(project: Project, *, condition: Path | None = None, model: Path | None = None,
          output_dir: Path | None = None) -> PosteriorSummary:
    """Join the parts ``<tag>.part-*.h5`` of a sample set into ``<tag>.h5`` with its summaries.

    Raises:
        DataError: no parts, a missing part, or parts drawn with different settings.
    """
    out_dir = output_dir or model_path(project, model).parent / "samples"
    tag = _tag(project, _condition(project, condition))
    files = sorted(out_dir.glob(f"{tag}.part-*of*.h5"))
    if not files:
        raise DataError(f"no parts {tag}.part-*.h5 in {out_dir}; run `hallctl sample --shard i/N` first")
    parts = [read_samples(f) for f in files]
    counts = {tuple(p.settings.get("part", ())) for p in parts}
    count = parts[0].settings.get("part", [0, 0])[1]
    have = sorted(p.settings["part"][0] for p in parts if len(p.settings.get("part", ())) == 2)
    if have != list(range(count)) or len({c[1] for c in counts if len(c) == 2}) != 1:
        missing = sorted(set(range(count)) - set(have))
        raise DataError(f"{out_dir}: parts of {tag} are incomplete or mixed (missing {missing}); rerun those parts")
    keep = ("part", "first_index", "nfe", "nfe_per_sample")
    first = {k: v for k, v in parts[0].settings.items() if k not in keep}
    if any({k: v for k, v in p.settings.items() if k not in keep} != first for p in parts):
        raise DataError(f"{out_dir}: the parts of {tag} were drawn with different settings; rerun them alike")
    parts.sort(key=lambda p: p.settings["part"][0])
    s = dataclasses.replace(parts[0], samples=np.concatenate([p.samples for p in parts]), settings=first)
    samples_file = out_dir / f"{tag}.h5"
    write_samples(samples_file, s, provenance(project, seed=s.seed, command="sample --merge"))
    summary_csv, scalars_csv = write_summaries(s, out_dir / tag)
    return PosteriorSummary(samples_file=samples_file, summary_csv=summary_csv, scalars_csv=scalars_csv,
                            nfe_per_sample=int(parts[0].settings.get("nfe_per_sample", 0) or 0), fit=None,
                            scalars=_summary_rows(s)[1])
