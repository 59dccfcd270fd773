"""The amortized conditional model end to end on the tiny campaign: [conditioning] trains it, `sample` uses it
for observations inside its template, `evaluate` scores it beside guidance and the baselines."""

from __future__ import annotations

import json

import numpy as np

from hallctl.commands import evaluate, train
from hallctl.commands import sample as posterior
from hallctl.commands.common import model_path
from hallctl.data.normalization import Normalization
from hallctl.data.store import read_dataset, read_samples
from hallctl.evaluation import AMORTIZED, PRIOR, SIMULATIONS, synthetic_observations
from hallctl.model.io import load_model
from hallctl.project import load_project


def test_conditioning_trains_an_amortized_model_that_sample_and_evaluate_use(tiny_trained, tmp_path) -> None:
    project = load_project(tiny_trained, ["conditioning.enabled=true", "paths.run_name=amortized",
                                          "train.duration_nimg=512", "evaluate.num_truths=2",
                                          "evaluate.num_samples=4", "sample.steps=4"])
    train.run(project)
    net, meta = load_model(model_path(project))
    assert net.config.control and net.control_template is not None
    assert meta["dataset"]["control_template"]["fields"][0] == "ui_1"
    norm = meta["dataset"]["normalization"]
    truth = read_dataset(project.data_dir / "val_large.h5").tensor[0].astype(float)
    phys = Normalization.from_dict(norm).to_physical(truth)
    entries = synthetic_observations(phys, norm, project.evaluate, np.random.default_rng(0))
    csv = tmp_path / "obs.csv"
    csv.write_text("field,z,value,rel_std,std\n" + "".join(
        f"{e['field']},{e['z']},{e['value']},{e.get('rel_std', '')},{e.get('std', '')}\n" for e in entries))
    summary = posterior.run(project, condition=csv, output_dir=tmp_path)
    assert read_samples(summary.samples_file).settings["guidance"] == "amortized"
    result = evaluate.run(project, output_dir=tmp_path / "evaluation")
    names = [r["name"] for r in json.loads(result.output_json.read_text())["results"]]
    assert names == [f"{AMORTIZED}, correction=all", "mmps", PRIOR, SIMULATIONS]  # the default correction
    assert result.settings[0]["guidance"] == "amortized" and result.settings[0]["vjp_per_sample"] == 0
    # the correction imposes the precise known operating point that a briefly trained network misses,
    # as closely as guidance does (4 Heun steps here)
    swept = evaluate.run(project, sweep={"amortized_correction": ["none", "scalars"]},
                         output_dir=tmp_path / "corrected")
    results = json.loads(swept.output_json.read_text())["results"]
    assert [r["name"] for r in results[:3]] == [AMORTIZED, f"{AMORTIZED}, correction=scalars", "mmps"]
    assert results[1]["settings"]["amortized_correction"] == "scalars" and results[1]["settings"]["vjp_per_sample"] == 0
    for name in ("discharge_voltage_v", "anode_mass_flow_rate_kg_s"):
        off = [r["known"][name]["worst_abs_residual_over_sigma"] for r in results[:3]]
        assert off[1] < off[0] / 20 and off[1] < 2 * max(off[2], 1.0), (name, off)
