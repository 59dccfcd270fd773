"""normalize and split on synthetic raw shards: filters, exact inverse, stability, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallctl.commands import normalize, split
from hallctl.data.normalize import denormalize, normalize_tensor
from hallctl.data.split import assign_splits, split_signature
from hallctl.data.store import make_provenance, read_dataset, write_raw_shard
from hallctl.errors import DataError
from hallctl.jobs import RECORD_FIELDS
from hallctl.project import load_project
from tests.data.synthetic import synthetic_records


def _project(tmp_path, *sets):
    return load_project(None, [f'paths.data="{tmp_path / "data"}"', "normalize.resolution=16", *sets])


def _write(tmp_path, rec, number=0):
    write_raw_shard(tmp_path / "data" / "raw" / f"shard-{number:05d}.h5", rec, make_provenance())


def _spoil(rec, i, field, value):
    rec.fields[i, list(RECORD_FIELDS).index(field)] = value


def test_filters_count_each_reason(tmp_path):
    rec = synthetic_records(12)
    _spoil(rec, 0, "phi", np.nan)  # non-finite
    rec.performance[1, 1] = 500.0  # discharge current
    rec.performance[2, 0] = 50.0  # thrust
    _spoil(rec, 3, "phi", -100.0)  # potential
    _spoil(rec, 4, "nu_an", 1e12)  # anomalous frequency
    ui = rec.fields[5, list(RECORD_FIELDS).index("ui_1")]
    ui[len(ui) // 3] = 10 * ui[-1]  # shock
    _spoil(rec, 6, "ue", -2e6)  # electron speed
    rec.status[7], rec.reason[7] = "failure", "non-finite ion density at t=1e-4 s"
    _write(tmp_path, rec)
    summary = normalize.run(_project(tmp_path))
    rep = summary.report
    assert rep["removed"] == {"non-finite value": 1, "discharge current out of range": 1, "thrust out of range": 1,
                              "potential out of bounds": 1, "anomalous collision frequency out of range": 1,
                              "ion-velocity shock": 1, "electron velocity too large": 1}
    assert rep["failed_simulations"] == {"failure: non-finite ion density": 1}
    assert rep["kept"] == summary.kept == 4
    ds = read_dataset(summary.output)
    assert sorted(ds.record_id) == [8, 9, 10, 11]
    assert ds.tensor.shape == (4, 25, 16)
    assert summary.table_csv.read_text().startswith("row,kind,unit,log,mean,std")


def test_rows_have_target_std_and_nu_e_floor(tmp_path):
    rec = synthetic_records(40, max_charge=2)
    _write(tmp_path, rec)
    project = _project(tmp_path)
    ds = read_dataset(normalize.run(project).output)
    sp = project.split
    train = assign_splits(ds.record_id, seed=sp.seed, val_small=sp.val_small, val_large=sp.val_large) == "train"
    assert 0 < train.sum() < len(ds)
    x = ds.tensor[train].astype(float)  # the statistics come from the training split alone
    varying = x.reshape(len(x), x.shape[1], -1).transpose(1, 0, 2).reshape(x.shape[1], -1).std(axis=1) > 0
    np.testing.assert_allclose(x.transpose(1, 0, 2).reshape(x.shape[1], -1)[varying].std(axis=1, ddof=1), 0.5,
                               rtol=1e-4)
    assert not varying[ds.rows.index("ni_3")]  # absent charge state: constant, finite
    assert ds.attrs["fit_records"] == int(train.sum()) and ds.attrs["fit_split"] == split_signature(sp)
    phys = denormalize(ds.tensor.astype(float), ds.normalization())
    assert np.all(phys[:, ds.rows.index("nu_e")] >= phys[:, ds.rows.index("nu_an")] * (1 - 1e-5))
    # scalar rows are constant along the grid and equal the parameters
    v = phys[:, ds.rows.index("discharge_voltage_v")]
    assert np.allclose(v, v[:, :1])
    np.testing.assert_allclose(sorted(v[:, 0]), sorted(rec.params[:, 9]), rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=6, max_size=6), st.booleans())
def test_denormalize_is_exact_inverse(values, log_first):
    norm = {"log": [log_first, False, True], "mean": [1.0, -2.0, 30.0], "std": [0.7, 3.0, 2.0]}
    x = np.array(values).reshape(3, 2)
    np.testing.assert_allclose(normalize_tensor(denormalize(x, norm), norm), x, atol=1e-9)


def test_norm_from_reuses_statistics(tmp_path):
    _write(tmp_path, synthetic_records(20, seed=1))
    first = normalize.run(_project(tmp_path))
    other = tmp_path / "other"
    (other / "data" / "raw").mkdir(parents=True)
    _write(other, synthetic_records(10, seed=2))
    second = normalize.run(_project(other), norm_from=first.output)
    a, b = read_dataset(first.output), read_dataset(second.output)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.std, b.std)
    with pytest.raises(DataError, match="rows"):
        normalize.run(_project(other, "normalize.psd_bins=2"), norm_from=first.output)


def test_psd_rows(tmp_path):
    _write(tmp_path, synthetic_records(6))
    ds = read_dataset(normalize.run(_project(tmp_path, "normalize.psd_bins=3")).output)
    assert ds.rows[-3:] == ["psd_0", "psd_1", "psd_2"] and all(ds.log[-3:])
    assert np.all(np.isfinite(ds.tensor))


def test_missing_shards_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="hallctl generate"):
        normalize.run(_project(tmp_path))


def test_split_is_stable_and_reproducible(tmp_path):
    _write(tmp_path, synthetic_records(60))
    p = _project(tmp_path, "split.val_small=0.1", "split.val_large=0.2")
    normalize.run(p)
    first = split.run(p)
    assert sum(first.sizes.values()) == 60 and first.sizes["train"] > 0
    before = {s: set(read_dataset(f).record_id) for s, f in first.files.items()}
    # more simulations later: existing records stay where they were
    _write(tmp_path, synthetic_records(40, first_index=60, seed=5), number=1)
    normalize.run(p)
    after = {s: set(read_dataset(f).record_id) for s, f in split.run(p).files.items()}
    for s in before:
        assert before[s] <= after[s]
    assert assign_splits(np.arange(5), seed=0, val_small=0.1, val_large=0.2).tolist() == \
        assign_splits(np.arange(5), seed=0, val_small=0.1, val_large=0.2).tolist()


def test_split_refuses_empty_training_set(tmp_path):
    _write(tmp_path, synthetic_records(5))
    p = _project(tmp_path, "split.val_small=0.5", "split.val_large=0.49999")
    with pytest.raises(DataError, match="training split"):
        normalize.run(p)
    normalize.run(_project(tmp_path))  # fitted with other fractions: split names the mismatch
    with pytest.raises(DataError, match="rerun `hallctl normalize`"):
        split.run(p)


def test_held_out_records_never_inform_the_normalization(tmp_path):
    rec = synthetic_records(40)
    project = _project(tmp_path, "split.val_large=0.3")
    sp = project.split
    names = assign_splits(rec.index, seed=sp.seed, val_small=sp.val_small, val_large=sp.val_large)
    _write(tmp_path, rec)
    first = read_dataset(normalize.run(project).output)
    held = np.flatnonzero(names != "train")
    rec.fields[held] *= 1.5  # change only held-out records (still inside the filters)
    _write(tmp_path, rec)
    second = read_dataset(normalize.run(project).output)
    np.testing.assert_array_equal(first.mean, second.mean)
    np.testing.assert_array_equal(first.std, second.std)
    # split refuses a normalization fitted with other [split] settings
    with pytest.raises(DataError, match="rerun `hallctl normalize`"):
        split.run(_project(tmp_path, "split.val_large=0.2"))
    assert split.run(project).sizes["train"] == int((names == "train").sum())
