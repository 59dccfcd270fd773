"""Model files: round trip, metadata, loud failures (docs/model.md §10.8)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from hallctl.errors import ModelError
from hallctl.model import ModelConfig, build_precond, load_model, save_model
from hallctl.model.io import ema_filename

DATASET = {"rows": ["B", "n_e", "T_e"], "grid_m": [0.0, 0.01], "normalization": {"mean": [1, 2, 3]}}


def trained_like(cfg: ModelConfig):
    net = build_precond(cfg, rows=3, length=16, seed=3)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))  # gains away from 0, weights unnormalized
    return net


def test_reload_is_bit_identical_and_carries_metadata(tmp_path, tiny_cfg):
    net = trained_like(tiny_cfg)
    path = save_model(tmp_path / "model.safetensors", net, {"dataset": DATASET, "nimg": 1234})
    loaded, record = load_model(path)
    assert not loaded.training
    for (name, a), b in zip(net.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert record["format"] == "hallctl-model" and record["schema_version"] == 1
    assert ModelConfig.from_dict(record["model_config"]) == tiny_cfg
    assert (record["rows"], record["length"], record["label_dim"]) == (3, 16, 0)
    assert record["dataset"] == DATASET and record["nimg"] == 1234 and record["ema"] == {"kind": "none"}
    x = torch.randn(2, 3, 16)
    with torch.no_grad():
        assert torch.equal(net.eval()(x, 0.3), loaded(x, 0.3))
    assert not list(tmp_path.glob(".hallctl-tmp-*"))  # written atomically, nothing left behind


def test_metadata_sits_under_one_hallctl_key(tmp_path, tiny_cfg):
    path = save_model(tmp_path / "m.safetensors", trained_like(tiny_cfg), {"dataset": DATASET})
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    assert list(meta) == ["hallctl"] and json.loads(meta["hallctl"])["dataset"] == DATASET


def test_weights_that_do_not_fit_the_stored_config_fail_loudly(tmp_path, tiny_cfg):
    path = save_model(tmp_path / "m.safetensors", trained_like(tiny_cfg), {})
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    record = json.loads(meta["hallctl"])
    record["model_config"]["channels"] = 8  # another model's config
    save_file(tensors, str(tmp_path / "wrong.safetensors"), metadata={"hallctl": json.dumps(record)})
    with pytest.raises(ModelError, match="do not match"):
        load_model(tmp_path / "wrong.safetensors")
    del tensors["unet.out_gain"]
    save_file(tensors, str(tmp_path / "missing.safetensors"), metadata=meta)
    with pytest.raises(ModelError, match="do not match"):
        load_model(tmp_path / "missing.safetensors")


def test_missing_and_foreign_files_raise_model_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "nope.safetensors")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ModelError, match="not a hallctl model"):
        load_model(tmp_path / "other.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="not a safetensors file"):
        load_model(tmp_path / "junk.safetensors")


def test_ema_file_names_use_the_short_std():
    assert ema_filename(0.05) == "ema-0.05.safetensors"
    assert ema_filename(0.1) == "ema-0.1.safetensors"
    assert ema_filename(0.10) == "ema-0.1.safetensors"
