"""``hallctl evaluate``: the [evaluate] template on held-out simulations, against the prior and the
importance-weighted simulations (the library side is :mod:`hallctl.evaluation`).

In parts (``--shard i/N``, job arrays), part i scores the truths at positions k with k mod N = i
(each with the observations and sampling seed it has in the whole run) into
``evaluation.part-iiiiofNNNN.json``; :func:`merge` joins the parts' per-truth scores into
``evaluation.json`` with the aggregates recomputed over all truths.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hallctl.commands.common import model_path
from hallctl.commands.sample import sampler_settings
from hallctl.data.hdf5 import atomic_write
from hallctl.data.normalization import Normalization
from hallctl.data.store import Dataset, read_dataset
from hallctl.errors import DataError, ModelError, ProjectError
from hallctl.evaluation import (
    LEVELS,
    SWEEP_KEYS,
    HeldOut,
    aggregate,
    energy_distance,
    evaluate_model,
    rows_table,
    summary_table,
    synthetic_observations,
)
from hallctl.parts import Part
from hallctl.project import Project, SampleSection, check_range
from hallctl.report import Reporter, resolve

__all__ = ["EvaluationResult", "merge", "parse_sweep", "run"]


@dataclass
class EvaluationResult:
    output_json: Path
    figure: Path
    settings: list[dict[str, Any]]
    table: list[list[Any]]  # one line per posterior: see hallctl.evaluation.TABLE_COLUMNS
    fields_table: list[list[Any]]  # one line per row: see fields_columns
    fields_columns: list[str]
    energy_distance: float | None


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


def _truths(project: Project, meta: dict[str, Any], norm: Normalization) -> tuple[Dataset, list[int]]:
    """The evaluation set and the indices of its first K records by id (checked to be held out)."""
    e = project.evaluate
    validated_on = meta.get("validation_split")
    if validated_on and validated_on == e.dataset:
        raise ProjectError(f"evaluate.dataset = '{e.dataset}' is the split this model was validated (selected) "
                           f"on; evaluate on the other one (evaluate.dataset = "
                           f"'{'val_large' if e.dataset == 'val_small' else 'val_small'}')")
    ds = read_dataset(project.data_dir / f"{e.dataset}.h5", hint="run `hallctl split` first")
    if ds.rows != list(norm.rows):
        raise DataError(f"{e.dataset}.h5 has rows {ds.rows}, the model {norm.rows}; evaluate on data "
                        "normalized like the training set")
    if len(ds) == 0:
        raise DataError(f"{e.dataset}.h5 is empty; raise split.{e.dataset} (and rerun `hallctl split`)")
    if not np.allclose(ds.mean, norm.mean) or not np.allclose(ds.std, norm.std):
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


def held_out(project: Project, ds: Dataset, pick: list[int], norm: Normalization) -> HeldOut:
    """The picked truths with their synthetic observations (seeded by evaluate.seed), and the training
    simulations for the importance-weighted baseline."""
    from hallctl.sample import build_observations

    train_file = project.data_dir / f"{project.train.dataset}.h5"
    records = read_dataset(train_file, hint="run `hallctl split` first").tensor.astype(np.float64)
    truths = ds.tensor[pick].astype(np.float64)
    rng = np.random.default_rng(np.random.SeedSequence([project.evaluate.seed, 7]))
    entries = [synthetic_observations(t, norm, project.evaluate, rng) for t in norm.to_physical(truths)]
    return HeldOut(truths=truths, entries=entries, observations=[build_observations(o, norm) for o in entries],
                   records=records, records_file=str(train_file))


def _calibration_figure(project: Project, first: dict[str, Any], rows: list[str], kinds: list[str],
                        out: Path) -> Path:
    from hallctl.plot.figures import figure_calibration
    from hallctl.plot.style import save

    calibration = np.array([first["calibration"][f"{lvl:.1f}"] for lvl in LEVELS])  # (levels, rows)
    groups: dict[str, dict[str, np.ndarray]] = {"profiles": {}, "scalars": {}}
    for i, (row, kind) in enumerate(zip(rows, kinds, strict=True)):
        groups["profiles" if kind == "field" else "scalars"][row] = calibration[:, i]
    return save(figure_calibration(LEVELS, {k: v for k, v in groups.items() if v}), out, dpi=project.plot.dpi)


def run(project: Project, *, model: Path | None = None, sweep: dict[str, list[Any]] | None = None,
        output_dir: Path | None = None, part: Part | None = None, report: Reporter | None = None
        ) -> EvaluationResult:
    """Evaluate a model on held-out simulations; write evaluation.json and a calibration figure (a part:
    its ``evaluation.part-*.json`` only; :func:`merge` joins the parts)."""
    from hallctl.model.io import load_model
    from hallctl.model.runtime import resolve_device

    report = resolve(report)
    e = project.evaluate
    path = model_path(project, model)
    if not path.is_file():
        raise ModelError(f"model file {path} not found; train one with `hallctl train` or pass --model")
    device = str(resolve_device(project.sample.device))
    precond, meta = load_model(path, device=device)
    norm = Normalization.from_dict(meta["dataset"]["normalization"])
    ds, pick = _truths(project, meta["dataset"], norm)
    data = held_out(project, ds, pick, norm)
    part = part or Part()
    if not part.whole:
        data = data.select([k for k in range(len(pick)) if part.owns(k)])
        if not len(data.truths):
            raise ProjectError(f"--shard {part.index}/{part.count}: {len(pick)} truths leave this part none; use "
                               "fewer parts")
    results, unconditional = evaluate_model(precond, norm, data, sampler_settings(project), num_samples=e.num_samples,
                                            sweep=sweep or {}, device=device, report=report)
    energy = energy_distance(unconditional, ds.tensor.astype(np.float64)) if len(ds) > 1 else None
    rows, kinds = list(norm.rows), list(norm.kinds)
    out_dir = output_dir or path.parent / "evaluation"
    known_names = [o["field"] for o in data.entries[0] if o["z"] == ""]
    positions = data.positions or list(range(len(pick)))
    doc = {"model": str(path), "dataset": str(project.data_dir / f"{e.dataset}.h5"),
           "truth_record_ids": [int(ds.record_id[pick[k]]) for k in positions], "observation_seed": e.seed,
           "observations": data.entries, "known_scalars": known_names, "template": project.to_dict()["evaluate"],
           "results": results, "energy_distance_unconditional": energy, "levels": LEVELS.tolist(),
           "sigma_data": norm.target_std, "rows": rows, "kinds": kinds, "truth_positions": positions}
    if not part.whole:
        doc["part"] = [part.index, part.count]
    return _write(project, doc, out_dir, part)


def _write(project: Project, doc: dict[str, Any], out_dir: Path, part: Part) -> EvaluationResult:
    output_json = out_dir / f"evaluation{part.suffix}.json"
    with atomic_write(output_json) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))
    results, rows, kinds = doc["results"], doc["rows"], doc["kinds"]
    figure = out_dir / f"calibration{part.suffix}.{project.plot.format}"
    figure = _calibration_figure(project, results[0], rows, kinds, figure)
    columns, fields_table = rows_table(results, rows)
    return EvaluationResult(output_json=output_json, figure=figure, settings=[r["settings"] for r in results],
                            table=summary_table(results), fields_table=fields_table, fields_columns=columns,
                            energy_distance=doc["energy_distance_unconditional"])


def merge(project: Project, *, model: Path | None = None, output_dir: Path | None = None) -> EvaluationResult:
    """Join ``evaluation.part-*.json`` into ``evaluation.json``: per-truth scores in the truths' order, the
    aggregates recomputed over all of them.

    Raises:
        DataError: no parts, a missing part, or parts of different evaluations.
    """
    out_dir = output_dir or model_path(project, model).parent / "evaluation"
    docs = []
    for path in sorted(out_dir.glob("evaluation.part-*of*.json")):
        try:
            docs.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            raise DataError(f"{path} cannot be read; rerun that part") from None
        if not isinstance(docs[-1], dict) or not {"part", "results", "truth_positions"} <= set(docs[-1]):
            raise DataError(f"{path} is not an evaluation part; rerun that part")
    if not docs:
        raise DataError(f"no evaluation.part-*.json in {out_dir}; run `hallctl evaluate --shard i/N` first")
    count = docs[0]["part"][1]
    have = sorted(d["part"][0] for d in docs if d["part"][1] == count)
    if have != list(range(count)) or len(docs) != count:
        raise DataError(f"{out_dir}: the evaluation parts are incomplete or mixed (missing "
                        f"{sorted(set(range(count)) - set(have))}); rerun those parts")
    names = [[r["name"] for r in d["results"]] for d in docs]
    if any(n != names[0] for n in names) or len({d["model"] for d in docs}) != 1:
        raise DataError(f"{out_dir}: the parts evaluated different models or posteriors; rerun them alike")
    order = sorted((pos, k, j) for k, d in enumerate(docs) for j, pos in enumerate(d["truth_positions"]))
    first = docs[0]
    known = first["known_scalars"]
    results = []
    for r, base in enumerate(first["results"]):
        per_truth = [docs[k]["results"][r]["per_truth"][j] for _, k, j in order]
        merged = {key: base[key] for key in ("name", "settings", "nfe_per_sample")}
        results.append({**merged, **aggregate(per_truth, first["rows"], first["kinds"], known), "per_truth": per_truth})
    doc = {**{k: v for k, v in first.items() if k != "part"}, "results": results,
           "truth_positions": [pos for pos, _, _ in order],
           "truth_record_ids": [docs[k]["truth_record_ids"][j] for _, k, j in order],
           "observations": [docs[k]["observations"][j] for _, k, j in order]}
    return _write(project, doc, out_dir, Part())
