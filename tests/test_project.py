"""The project file: defaults, overrides, unknown keys, types, ranges, init round trip."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest

from hallctl.commands.project import render_project, write_project_file
from hallctl.errors import ProjectError
from hallctl.priors import Prior
from hallctl.project import Project, default_priors, load_project, parse_override, project_from_dict


def test_defaults_when_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = load_project(None)
    assert project.source == ""
    assert project.generate.num_sims == 128
    assert project.normalize.target_std == 0.5
    assert set(project.generate.params) == set(default_priors())


def test_finds_hallctl_toml_in_cwd(tmp_path, monkeypatch):
    (tmp_path / "hallctl.toml").write_text("[generate]\nnum_sims = 7\n")
    monkeypatch.chdir(tmp_path)
    assert load_project(None).generate.num_sims == 7


def test_resolution_order_file_then_set_then_named(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("[train]\nbatch_size = 8\nlr_ref = 0.02\n")
    p = load_project(f)
    assert (p.train.batch_size, p.train.lr_ref) == (8, 0.02)
    p = load_project(f, ["train.batch_size=16"])
    assert (p.train.batch_size, p.train.lr_ref) == (16, 0.02)
    p = load_project(f, ["train.batch_size=16"], extra={"train": {"batch_size": 32, "lr_ref": None}})
    assert (p.train.batch_size, p.train.lr_ref) == (32, 0.02)


def test_relative_paths_resolve_against_project_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    f = tmp_path / "sub" / "p.toml"
    f.write_text('[paths]\ndata = "d"\n')
    assert load_project(f).data_dir == (tmp_path / "sub" / "d")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[generate]\nnum_sim = 5\n", "did you mean 'num_sims'"),
        ("[genrate]\nnum_sims = 5\n", "did you mean 'generate'"),
        ("[train]\nbatch_size = 'big'\n", "must be of type int"),
        ("[train]\nbatch_size = 1.5\n", "must be of type int"),
        ("[model]\nuncertainty_weighting = 1\n", "must be of type bool"),
        ("[train]\nbatch_size = 0\n", "out of range"),
        ("[simulation]\ncfl = 0.8\n", "must be < 0.8"),
        ("[generate]\nbackend = 'fortran'\n", "choose one of: native, julia"),
        ("[split]\nval_small = 0.5\nval_large = 0.5\n", "leaves no training set"),
        ("[generate.params.anom_slope]\ndist = 'uniform'\nlow = 1\nhigh = 0\n", "must be below high"),
        ("[generate.params.anom_slope]\ndist = 'normal'\nmean = 1\nstd = -1\n", "std must be positive"),
        ("[generate.params.anom_slop]\ndist = 'uniform'\nlow = 0\nhigh = 1\n", "did you mean 'anom_slope'"),
        ("[generate.params.anom_slope]\ndist = 'gamma'\n", "is not one of"),
        ("[train\n", "not valid TOML"),
        ("[sample]\nmmps_eig_floor = 1.0\n", "was removed: MMPS makes its covariance valid by itself"),
        ("[evaluate]\nknown_rel_noise = [0.1, 0.2, 0.3]\n", "one per known scalar"),
        ("[evaluate]\ndataset = 'train'\n", "choose one of: val_small, val_large"),
    ],
)
def test_invalid_files_name_the_problem(tmp_path, text, expected):
    f = tmp_path / "p.toml"
    f.write_text(text)
    with pytest.raises(ProjectError, match=expected):
        load_project(f)


def test_missing_file_is_a_project_error(tmp_path):
    with pytest.raises(ProjectError, match="hallctl init"):
        load_project(tmp_path / "nope.toml")


def test_override_syntax():
    assert parse_override("train.lr_ref=1e-3") == ("train", "lr_ref", 1e-3)
    assert parse_override("sample.device=cuda") == ("sample", "device", "cuda")
    assert parse_override("model.channel_mult=[1,2]") == ("model", "channel_mult", [1, 2])
    with pytest.raises(ProjectError, match=r"section\.key=value"):
        parse_override("batch_size=3")


def test_prior_override_merges_or_replaces():
    p = load_project(None, ["generate.params.anom_scale.high=1"])
    assert p.generate.params["anom_scale"].dist == "lognormal"
    assert p.generate.params["anom_scale"].high == 1.0
    p = load_project(None, ['generate.params.anom_minimum={dist="fixed", value=0.1}'])
    assert p.generate.params["anom_minimum"] == Prior("fixed", value=0.1)


def test_init_round_trips(tmp_path):
    path = write_project_file(tmp_path / "hallctl.toml")
    text = path.read_text()
    assert "# number of simulations in the campaign" in text
    assert load_project(path).to_dict() == Project().to_dict()
    with pytest.raises(ProjectError, match="--force"):
        write_project_file(path)
    write_project_file(path, force=True)


def test_render_of_modified_project_round_trips():
    p = load_project(None, ["generate.num_sims=3", "model.attn_resolutions=[]", "train.ema_stds=[0.07]"])
    again = project_from_dict(tomllib.loads(render_project(p, comments=False)))
    assert again.to_dict() == p.to_dict()


def test_priors_draw_within_bounds(rng):
    for name, prior in default_priors().items():
        x = prior.draw(rng, 2000)
        assert np.all(np.isfinite(x)), name
        assert np.all(x >= prior.low) and np.all(x <= prior.high), name
    x = Prior("truncated-normal", mean=1.1, std=1 / 3, low=0, high=2).draw(rng, 20000)
    assert abs(np.mean(x) - 1.1) < 0.02
    x = Prior("lognormal", mean=math.log(0.1), std=math.log(5)).draw(rng, 20000)
    assert abs(np.median(np.log(x)) - math.log(0.1)) < 0.05
