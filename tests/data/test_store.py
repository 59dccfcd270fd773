"""HDF5 store: round trips, kind/schema checks, atomic writes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from hallctl.data.store import (
    Dataset,
    RawRecords,
    atomic_write,
    make_provenance,
    read_dataset,
    read_raw_shard,
    write_dataset,
    write_raw_shard,
)
from hallctl.errors import DataError
from hallctl.project import Project


def _records(n: int = 3, cells: int = 8, rng=None) -> RawRecords:
    rng = rng or np.random.default_rng(0)
    return RawRecords(
        index=np.arange(n), seed=np.arange(n) + 100, status=["success"] * (n - 1) + ["failure"],
        reason=[""] * (n - 1) + ["non-finite ion density"], param_names=["a", "b"],
        params=rng.normal(size=(n, 2)), field_names=["ne", "Tev"], field_units=["1/m^3", "eV"],
        fields=rng.normal(size=(n, 2, cells)).astype(np.float32), z_m=np.linspace(0, 1, cells),
        series_names=["discharge_current_A"], t_s=np.linspace(0, 1, 5),
        series=rng.normal(size=(n, 1, 5)).astype(np.float32), performance_names=["thrust_N"],
        performance=rng.normal(size=(n, 1)), anom_z_m=np.linspace(0, 1, 4),
        anom_profile=rng.random((n, 4)), wall_s=np.ones(n), steps=np.full(n, 10),
        attrs={"campaign_id": "abc"},
    )


def test_raw_shard_round_trip(tmp_path):
    rec = _records()
    prov = make_provenance(Project().to_dict(), seed=3, command="test")
    write_raw_shard(tmp_path / "s.h5", rec, prov)
    back = read_raw_shard(tmp_path / "s.h5")
    assert back.status == rec.status and back.reason == rec.reason
    np.testing.assert_array_equal(back.fields, rec.fields)
    np.testing.assert_array_equal(back.params, rec.params)
    assert back.field_units == ["1/m^3", "eV"] and back.attrs == {"campaign_id": "abc"}
    with h5py.File(tmp_path / "s.h5") as f:
        assert f.attrs["hallctl_kind"] == "raw-shard"
        assert '"seed": 3' in f.attrs["provenance"]


def test_dataset_round_trip_and_subset(tmp_path):
    ds = Dataset(tensor=np.random.default_rng(0).normal(size=(5, 3, 4)).astype(np.float32),
                 rows=["a", "b", "c"], kinds=["field", "field", "scalar"], units=["", "", ""],
                 log=[True, False, False], mean=np.zeros(3), std=np.ones(3), grid_m=np.arange(4.0),
                 record_id=np.arange(5), filter_report={"kept": 5})
    write_dataset(tmp_path / "d.h5", ds.subset(np.array([1, 0, 1, 0, 1], bool), "train"), make_provenance())
    back = read_dataset(tmp_path / "d.h5")
    assert back.split == "train" and len(back) == 3 and back.log == [True, False, False]
    np.testing.assert_array_equal(back.record_id, [0, 2, 4])
    assert back.normalization()["rows"] == ["a", "b", "c"]


def test_reader_rejects_wrong_kind_missing_and_newer_schema(tmp_path):
    write_raw_shard(tmp_path / "s.h5", _records(), make_provenance())
    with pytest.raises(DataError, match="is a 'raw-shard' file, expected a 'dataset' file"):
        read_dataset(tmp_path / "s.h5")
    with pytest.raises(DataError, match="not found"):
        read_dataset(tmp_path / "none.h5")
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(DataError, match="not an HDF5 file"):
        read_raw_shard(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "s.h5", "a") as f:
        f.attrs["hallctl_schema"] = 99
    with pytest.raises(DataError, match="schema version 99"):
        read_raw_shard(tmp_path / "s.h5")


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.h5"
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_every_writer_syncs_the_file_and_its_folder(tmp_path, monkeypatch):
    """atomic_write, checkpoints and model files fsync the temporary file before the rename, then the folder."""
    import torch

    from hallctl.model.checkpoint import load_checkpoint, save_checkpoint
    from hallctl.model.io import write_tensors

    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with atomic_write(tmp_path / "a.txt") as tmp:
        tmp.write_text("x")
    save_checkpoint(tmp_path / "ck" / "state.pt", {"step": 3})
    write_tensors(tmp_path / "w.safetensors", {"w": torch.ones(2)}, {"format": "test"})
    names = [os.path.basename(p) for p in synced]
    assert len(names) == 6 and names[1::2] == [tmp_path.name, "ck", tmp_path.name], names
    assert all("tmp" in n for n in names[0::2]), names  # the temporary file, before its rename
    assert (tmp_path / "a.txt").read_text() == "x" and load_checkpoint(tmp_path / "ck" / "state.pt", "cpu")["step"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "ck", "w.safetensors"]


def test_killed_writer_leaves_no_file_under_final_name(tmp_path):
    """A process killed in the middle of a write leaves only a temporary file, never the final one."""
    target = tmp_path / "big.h5"
    script = textwrap.dedent(f"""
        import os, signal, numpy as np, h5py
        from hallctl.data.store import atomic_write
        with atomic_write({str(target)!r}) as tmp:
            with h5py.File(tmp, "w") as f:
                f["x"] = np.zeros(1000)
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False)
    assert proc.returncode != 0
    assert not target.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".big.h5.tmp") for name in leftovers)
    assert os.environ is not None
