"""Every command through the CLI on small real data: outputs, and one-line errors for bad input."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image

from hallctl.cli import main
from hallctl.data.store import read_samples, read_simulation
from tests.conftest import write_tiny_project


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line_error(code, err, *needles):
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]


def non_blank(path):
    img = np.asarray(Image.open(path).convert("L"), dtype=float)
    return img.std() > 5.0


def test_simulate_writes_files_and_json(tmp_path, capsys):
    project = write_tiny_project(tmp_path)
    out = tmp_path / "sim.h5"
    code, _, err = run(["simulate", project, "-q", "--param", "discharge_voltage_v=250", "-o", out, "--csv"],
                       capsys)
    assert code == 0, err
    sim = read_simulation(out)
    assert sim.status == "success" and sim.params["discharge_voltage_v"] == 250.0
    assert sim.profiles["phi"][0] > 200 and len(sim.z_m) == 66
    assert (tmp_path / "sim_profiles.csv").read_text().startswith("z_m,")
    code, stdout, _ = run(["simulate", project, "--json"], capsys)
    record = json.loads(stdout)
    assert record["status"] == "success" and record["thrust_N"] > 0 and record["steps"] > 0
    assert {"discharge_current_A", "anode_efficiency", "max_Te_eV", "z_max_E_m", "wall_s"} <= set(record)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--param", "anode_mass_flow_rate_kg_s=-1e-6"], ["anode_mass_flow_rate_kg_s", "positive"]),
        (["--param", "discharge_voltage_v=0"], ["discharge_voltage", "positive"]),
        (["--param", "voltage=300"], ["unknown parameter 'voltage'"]),
        (["--set", "thruster.name='custom'", "--set", "thruster.bfield_csv='missing.csv'"], ["missing.csv"]),
    ],
)
def test_simulate_bad_input(tmp_path, capsys, args, needles):
    code, _, err = run(["simulate", write_tiny_project(tmp_path), *args], capsys)
    assert_one_line_error(code, err, *needles)


def test_simulate_one_column_bfield(tmp_path, capsys):
    csv = tmp_path / "b.csv"
    csv.write_text("0.0\n0.01\n0.02\n")
    code, _, err = run(["simulate", write_tiny_project(tmp_path), "--set", "thruster.name='custom'",
                        "--set", f"thruster.bfield_csv='{csv}'"], capsys)
    assert_one_line_error(code, err, "b.csv")


def test_hallthruster_json_unsupported_option(tmp_path, capsys):
    bad = tmp_path / "in.json"
    thruster = {"name": "SPT-100", "geometry": {"channel_length": 0.025, "inner_radius": 0.035, "outer_radius": 0.05},
                "magnetic_field": {"z": [0.0, 0.05, 0.1], "B": [0.001, 0.016, 0.002]}}
    bad.write_text(json.dumps({"config": {"thruster": thruster, "discharge_voltage": 300, "domain": [0, 0.08],
                                          "propellants": [{"gas": "Krypton", "flow_rate_kg_s": 5e-6}]},
                               "simulation": {"duration": 1e-4, "grid": {"type": "EvenGrid", "num_cells": 20}}}))
    code, _, err = run(["simulate", "--hallthruster-json", bad], capsys)
    assert_one_line_error(code, err, "Krypton")


def test_generate_julia_backend_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("PYTHON_JULIACALL_EXE", raising=False)
    monkeypatch.delenv("JULIA_EXE", raising=False)
    start = time.perf_counter()
    code, _, err = run(["generate", write_tiny_project(tmp_path), "--backend", "julia"], capsys)
    assert time.perf_counter() - start < 10
    assert_one_line_error(code, err, "Julia is not installed", "--backend native")
    assert not (tmp_path / "data").exists()


def test_generate_dry_run_and_bad_prior(tmp_path, capsys):
    project = write_tiny_project(tmp_path)
    code, out, _ = run(["generate", project, "--dry-run"], capsys)
    assert code == 0 and "anom_scale" in out and "lognormal" in out
    code, _, err = run(["generate", project, "--set", "generate.params.discharge_voltage_v.low=700"], capsys)
    assert_one_line_error(code, err, "discharge_voltage_v", "low")
    code, _, err = run(["generate", project, "--set", "generate.params.wall_loss_scale.std=-1"], capsys)
    assert_one_line_error(code, err, "std must be positive")


def test_data_commands_and_plots(tiny_trained, capsys, tmp_path):
    folder = tiny_trained.parent
    for cmd in (["plot", "dataset", folder / "data" / "normalized.h5", "-o", tmp_path / "ds.png"],
                ["plot", "training", folder / "runs" / "default", "-o", tmp_path / "tr.svg"]):
        code, _, err = run(cmd, capsys)
        assert code == 0, err
    assert non_blank(tmp_path / "ds.png")
    assert (tmp_path / "tr.svg").read_text().lstrip().startswith("<?xml")


def test_sample_conditional_and_plots(tiny_trained, capsys, tmp_path):
    from hallctl.data.store import read_dataset

    folder = tiny_trained.parent
    obs = tmp_path / "obs.csv"
    obs.write_text("field,z,value,std,rel_std\nui_1,0.03,12000,500,\nui_1,0.05,16000,,0.05\n"
                   "discharge_voltage_v,,300,3,\n")
    code, _, err = run(["sample", tiny_trained, "-q", "--condition", obs, "--output-dir", tmp_path, "--tag", "p"],
                       capsys)
    assert code == 0, err
    s = read_samples(tmp_path / "p.h5")
    assert s.samples.shape[0] == 8 and s.settings["guidance"] == "mmps" and s.settings["nfe_per_sample"] == 11
    assert [o["field"] for o in s.observations] == ["ui_1", "ui_1", "discharge_voltage_v"]
    assert (tmp_path / "p_summary.csv").read_text().startswith("field,z_m,mean,std,q05")
    assert "discharge_voltage_v" in (tmp_path / "p_scalars.csv").read_text()
    val = read_dataset(folder / "data" / "val_large.h5")
    ref = f"{folder / 'data' / 'val_large.h5'}:{int(val.record_id[0])}"
    for cmd, out in ((["plot", "samples", tmp_path / "p.h5", "--fields", "ui_1,Tev,inverse_hall,nu_iz",
                       "--reference", ref], tmp_path / "a.png"),
                     (["plot", "params", tmp_path / "p.h5", "--reference", ref], tmp_path / "b.pdf")):
        code, _, err = run([*cmd, "-o", out], capsys)
        assert code == 0, err
    assert non_blank(tmp_path / "a.png") and (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")
    code, _, err = run(["plot", "samples", tmp_path / "p.h5", "--fields", "bogus"], capsys)
    assert_one_line_error(code, err, "unknown field", "ui_1")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("field,z,value,std\nvelocity,0.03,1,1\n", "unknown field"),
        ("field,z,value,std\nui_1,0.5,1,1\n", "outside"),
        ("field,z,value,std\nui_1,0.03,1,-1\n", "std"),
        ("field,z,value,std\nui_1,0.03,abc,1\n", "value"),
        ("field,z,value,std\n", "no observations"),
    ],
)
def test_sample_bad_observations(tiny_trained, capsys, tmp_path, text, needle):
    obs = tmp_path / "obs.csv"
    obs.write_text(text)
    code, _, err = run(["sample", tiny_trained, "-q", "--condition", obs, "--output-dir", tmp_path], capsys)
    assert_one_line_error(code, err, needle)


def test_sample_missing_model(tmp_path, capsys):
    code, _, err = run(["sample", write_tiny_project(tmp_path), "-q"], capsys)
    assert_one_line_error(code, err, "not found", "hallctl train")


def test_evaluate_writes_json_and_figure(tiny_trained, capsys, tmp_path):
    code, _, err = run(["evaluate", tiny_trained, "-q", "--sweep", "steps=4,6", "--output-dir", tmp_path], capsys)
    assert code == 0, err
    doc = json.loads((tmp_path / "evaluation.json").read_text())
    names = [r["name"] for r in doc["results"]]
    assert names == ["steps=4", "steps=6", "prior", "simulations"]
    assert [r["settings"]["steps"] for r in doc["results"][:2]] == [4, 6]
    rows = doc["rows"]
    for r in doc["results"]:
        for key in ("coverage50", "coverage90", "crps", "rel_error_pct"):
            values = [r["rows"][row][key] for row in rows]
            assert len(values) == len(rows) and all(np.isfinite(values)), (r["name"], key)
        assert all(0 <= r["rows"][row]["coverage90"] <= 1 for row in rows)
        assert set(r["known"]) == {"discharge_voltage_v", "anode_mass_flow_rate_kg_s"}
        if len(doc["truth_record_ids"]) > 1:
            assert 0 <= r["pooled"]["coverage90_se"] < 0.5
    sims = doc["results"][-1]
    assert 1.0 <= sims["ess_min"] <= sims["ess_mean"] <= sims["settings"]["records"]
    # the synthetic observations carry their noise from the template and the observed value
    ui = [o for o in doc["observations"][0] if o["field"] == "ui_1"]
    assert all(o["std"] >= 0.05 * abs(o["value"]) * (1 - 1e-12) for o in ui)
    floors = {round(o["std"], 6) for o in ui if o["std"] > 0.05 * abs(o["value"]) * (1 + 1e-12)}
    assert len(floors) <= 1  # below the floor, one std from the row's typical magnitude
    assert doc["energy_distance_unconditional"] is not None
    assert non_blank(tmp_path / "calibration.png")
    code, _, err = run(["evaluate", tiny_trained, "--sweep", "stepz=3"], capsys)
    assert_one_line_error(code, err, "--sweep")
    code, _, err = run(["evaluate", tiny_trained, "--dataset", "val_small"], capsys)
    assert_one_line_error(code, err, "validated", "val_large")


def test_train_bad_input(tmp_path, capsys):
    project = write_tiny_project(tmp_path)
    code, _, err = run(["train", project, "-q"], capsys)
    assert_one_line_error(code, err, "train.h5", "hallctl normalize")
    code, _, err = run(["train", project, "-q", "--posthoc-ema", "0.5"], capsys)
    assert_one_line_error(code, err, "--posthoc-ema")


def test_train_length_not_divisible(tiny_trained, tmp_path, capsys):
    import shutil

    shutil.copytree(tiny_trained.parent / "data", tmp_path / "data")
    project = write_tiny_project(tmp_path)
    code, _, err = run(["train", project, "-q", "--set", "model.channel_mult=[1,1,1,1,1,1,1]",
                        "--set", "model.channels_per_head=16"], capsys)
    assert_one_line_error(code, err, "not divisible")


def test_train_posthoc_ema(tiny_trained, tmp_path, capsys):
    import shutil

    shutil.copytree(tiny_trained.parent / "runs", tmp_path / "runs")
    shutil.copytree(tiny_trained.parent / "data", tmp_path / "data")
    project = write_tiny_project(tmp_path)
    code, _, err = run(["train", project, "-q", "--posthoc-ema", "0.07"], capsys)
    assert code == 0, err
    assert (tmp_path / "runs" / "default" / "ema-0.07.safetensors").is_file()


def test_simulation_plot_and_status_file(tmp_path, capsys):
    project = write_tiny_project(tmp_path)
    assert run(["simulate", project, "-q", "-o", tmp_path / "s.h5"], capsys)[0] == 0
    code, _, err = run(["plot", "simulation", tmp_path / "s.h5", "--fields", "phi,Tev,ne,nu_iz",
                        "-o", tmp_path / "s.png"], capsys)
    assert code == 0, err
    assert non_blank(tmp_path / "s.png")
    status = tmp_path / "status.txt"
    code, _, err = run(["generate", project, "-q", "-n", "2", "--status-file", status], capsys)
    assert code == 0, err
    assert status.read_text().startswith("generate") and "2/2" in status.read_text()


def test_diverging_simulation_is_one_error_line_not_a_traceback(tmp_path, capsys):
    """NaN from a diverging simulation: a status, a red line naming it, exit 1, the file still written."""
    out = tmp_path / "bad.h5"
    code, _, err = run(["simulate", write_tiny_project(tmp_path), "-q", "-o", out, "--set", "simulation.min_dt_s=1e-5",
                        "--set", "simulation.max_dt_s=1e-5"], capsys)
    assert code == 1 and "Traceback" not in err
    assert "error: the simulation ended with failure" in err
    assert read_simulation(out).status == "failure"
