"""Fuzzing the inputs a user hands hallctl: malformed project files, observation files, HDF5 and model files.

Every case must end in success or a typed hallctl error (one line for the CLI), never in another
exception, and leave no temporary file behind. The number of cases is printed (``pytest -s``).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hallctl.data.store import read_dataset, read_raw_shard
from hallctl.errors import HallctlError
from hallctl.model.io import load_model
from hallctl.project import load_project
from hallctl.sample import read_observations

CASES = {"toml": 0, "csv": 0, "hdf5": 0, "model": 0}
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
SECTIONS = ["paths", "simulation", "generate", "normalize", "split", "model", "train", "sample", "evaluate",
            "conditioning", "plot", "bogus"]
KEYS = ["num_cells", "num_sims", "seed", "resolution", "channels", "channel_mult", "batch_size", "steps",
        "guidance", "enabled", "points", "rel_noise", "duration_s", "data", "fields", "typo", "lr_ref"]
VALUES = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                   st.text(max_size=12), st.lists(st.one_of(st.integers(-5, 70), st.floats(), st.text(max_size=3)),
                                                  max_size=4))


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').encode("unicode_escape").decode() + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return str(v)


def _no_temporaries(folder: Path) -> None:
    left = [p.name for p in folder.rglob("*") if "tmp" in p.name and p.is_file()]
    assert not left, left


def _expect_typed(fn) -> None:
    try:
        fn()
    except HallctlError as exc:
        assert str(exc) and "\n" not in str(exc).strip(), str(exc)


@FUZZ
@given(tables=st.dictionaries(st.sampled_from(SECTIONS), st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4),
                              max_size=4),
       garbage=st.one_of(st.just(""), st.text(max_size=30)))
def test_project_files(tmp_path_factory, tables, garbage):
    folder = tmp_path_factory.mktemp("toml")
    text = "".join(f"[{s}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in t.items()) for s, t in tables.items())
    path = folder / "hallctl.toml"
    path.write_text(text + garbage, encoding="utf-8")
    CASES["toml"] += 1
    _expect_typed(lambda: load_project(path))
    _no_temporaries(folder)


@pytest.fixture(scope="module")
def valid_files(tiny_trained) -> dict[str, Path]:
    project = load_project(tiny_trained)
    return {"dataset": project.data_dir / "train.h5",
            "raw": sorted((project.data_dir / "raw").glob("shard-*.h5"))[0],
            "model": project.run_dir / "model.safetensors"}


@pytest.fixture(scope="module")
def meta(valid_files) -> dict:
    """The tiny model's normalization (rows, kinds, grid)."""
    return load_model(valid_files["model"])[1]["dataset"]["normalization"]


CSV_TOKENS = st.sampled_from(["ne", "ui_1", "phi", "thrust_N", "discharge_voltage_v", "Te", "", "0.01", "0.5",
                              "-1", "nan", "inf", "1e18", "1e400", "abc", "0", "5e-3", " ", "\"x\"", "0.07"])


@FUZZ
@given(header=st.lists(st.sampled_from(["field", "z", "value", "std", "rel_std", "extra", ""]), max_size=6),
       rows=st.lists(st.lists(CSV_TOKENS, max_size=6), max_size=6), comment=st.booleans())
def test_observation_files(tmp_path_factory, meta, header, rows, comment):
    folder = tmp_path_factory.mktemp("csv")
    path = folder / "obs.csv"
    lines = (["# fuzz"] if comment else []) + [",".join(header)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    CASES["csv"] += 1
    _expect_typed(lambda: read_observations(path, meta))


def _damage_hdf5(path: Path, action: str, name: str, value) -> None:
    if isinstance(value, str):
        value = value.replace("\x00", "")  # HDF5 strings cannot hold NUL: not a hallctl input
    with h5py.File(path, "r+") as f:
        keys = sorted(f.keys())
        target = keys[hash(name) % len(keys)] if keys else None
        if action == "delete" and target:
            del f[target]
        elif action == "retype" and target:
            del f[target]
            f[target] = np.asarray(value.encode() if isinstance(value, str) else value)
        elif action == "kind":
            f.attrs["hallctl_kind"] = str(value)
        elif action == "schema":
            f.attrs["hallctl_schema"] = value if not isinstance(value, str) else value.encode()
        elif action == "attr":
            for key in list(f.attrs):
                if key not in ("hallctl_kind", "hallctl_schema"):
                    f.attrs[key] = str(value)


@FUZZ
@given(which=st.sampled_from(["dataset", "raw"]),
       action=st.sampled_from(["truncate", "bytes", "empty", "delete", "retype", "kind", "schema", "attr"]),
       name=st.text(max_size=5), cut=st.floats(0.0, 1.0),
       value=st.one_of(st.integers(-3, 5), st.floats(allow_nan=True), st.text(max_size=4)),
       noise=st.binary(max_size=256))
def test_hdf5_files(tmp_path_factory, valid_files, which, action, name, cut, value, noise):
    folder = tmp_path_factory.mktemp("h5")
    path = folder / valid_files[which].name
    shutil.copyfile(valid_files[which], path)
    if action == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: int(cut * len(data))])
    elif action == "bytes":
        path.write_bytes(noise)
    elif action == "empty":
        path.write_bytes(b"")
    else:
        _damage_hdf5(path, action, name, value)
    CASES["hdf5"] += 1
    reader = read_dataset if which == "dataset" else read_raw_shard
    _expect_typed(lambda: reader(path))
    _no_temporaries(folder)


@FUZZ
@given(cut=st.floats(0.0, 1.0), noise=st.binary(max_size=64), where=st.integers(0, 10**6))
def test_model_files(tmp_path_factory, valid_files, cut, noise, where):
    folder = tmp_path_factory.mktemp("model")
    data = valid_files["model"].read_bytes()
    path = folder / "model.safetensors"
    if noise:  # overwrite some bytes (header or tensors)
        k = where % len(data)
        data = data[:k] + noise + data[k + len(noise):]
    path.write_bytes(data[: max(1, int(cut * len(data)))] if cut < 1.0 else data)
    CASES["model"] += 1
    _expect_typed(lambda: load_model(path))


def test_report_case_counts():
    """Runs last in this module: the number of cases tried, for the report."""
    print(f"\nfuzz cases: {CASES} (total {sum(CASES.values())})")
    assert sum(CASES.values()) > 0
