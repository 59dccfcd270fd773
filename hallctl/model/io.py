"""Model files: safetensors weights plus one JSON record that makes them self-contained.

The record sits under the safetensors metadata key ``"hallctl"``:
{"format": "hallctl-model", "schema_version": 1, "model_config": {...}, "rows": C, "length": W,
"label_dim": P, "ema": {"kind": "power"|"fixed"|"none", ...}, "nimg": ..., "dataset": {...},
"hallctl_version": ...}. ``dataset`` is the caller's dict (row names, grid, normalization), so a
sampler needs nothing but the file; next to the weights, ``data_covariance.*`` tensors hold the
training data's covariance (``hallctl.model.moments``) that guidance uses. Writes are atomic
(temporary name, then rename).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from hallctl import __version__
from hallctl.atomic import replace_durably
from hallctl.errors import ModelError
from hallctl.model.build import build_precond
from hallctl.model.control import ControlTemplate
from hallctl.model.moments import PREFIX as COVARIANCE_PREFIX
from hallctl.model.moments import DataCovariance
from hallctl.model.precond import Precond
from hallctl.model.settings import ModelConfig

__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "atomic_path",
    "ema_filename",
    "load_model",
    "model_record",
    "read_data_covariance",
    "read_record",
    "save_model",
    "write_tensors",
]

FORMAT = "hallctl-model"
SCHEMA_VERSION = 1
KEY = "hallctl"


def ema_filename(std: float) -> str:
    """``ema-<std>.safetensors`` with the shortest float form: 0.05 → ema-0.05, 0.1 → ema-0.1."""
    return f"ema-{float(std):g}.safetensors"


def atomic_path(path: Path) -> Path:
    """The temporary sibling a file is written to before being renamed to ``path``."""
    return path.with_name(f".hallctl-tmp-{path.name}")


def model_record(precond: Precond, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """The metadata record of ``precond``; keys in ``metadata`` (ema, nimg, dataset, ...) are merged in."""
    if precond.config is None:
        raise ModelError("this Precond has no config; build it with hallctl.model.build_precond")
    record = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "model_config": precond.config.to_dict(),
        "rows": precond.rows,
        "length": precond.length,
        "label_dim": precond.config.label_dim,
        "ema": {"kind": "none"},
        "nimg": None,
        "dataset": {},
        "hallctl_version": __version__,
    }
    record.update(metadata or {})
    return record


def write_tensors(path: Path, tensors: dict[str, torch.Tensor], record: dict[str, Any]) -> Path:
    """Write ``tensors`` and the JSON ``record`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(path)
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    try:
        save_file(tensors, str(tmp), metadata={KEY: json.dumps(record)})
        replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_model(path: Path, precond: Precond, metadata: dict[str, Any] | None = None) -> Path:
    """Save the weights and buffers of ``precond`` (float32) with its record; atomic.

    Args:
        path: destination ``.safetensors`` file.
        precond: the model.
        metadata: merged into the record: typically {"ema": ..., "nimg": ..., "dataset": ...}.
    """
    tensors = {k: v.float() for k, v in precond.state_dict().items()}
    if precond.data_covariance is not None:
        tensors.update(precond.data_covariance.tensors())
        metadata = {**(metadata or {}), "data_covariance": precond.data_covariance.record()}
    return write_tensors(Path(path), tensors, model_record(precond, metadata))


def read_data_covariance(path: Path) -> DataCovariance | None:
    """The training-data covariance stored in a model file, or None (older files have none)."""
    record = read_record(path)
    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys() if k.startswith(COVARIANCE_PREFIX)}  # noqa: SIM118
    return DataCovariance.from_tensors(tensors, record.get("data_covariance"))


def read_record(path: Path) -> dict[str, Any]:
    """The ``hallctl`` record of a model file, checked to be one.

    Raises:
        ModelError: missing file, not safetensors, or not a hallctl model.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist; train a model first (hallctl train)")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path} is not a safetensors file ({exc}); point to a hallctl model") from exc
    try:
        record = json.loads(meta[KEY])
    except (KeyError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path} is not a hallctl model (no '{KEY}' metadata); point to a hallctl model") from exc
    if record.get("format") != FORMAT:
        raise ModelError(f"{path} has format {record.get('format')!r}, not {FORMAT!r}")
    if record.get("schema_version") != SCHEMA_VERSION:
        raise ModelError(
            f"{path} has schema_version {record.get('schema_version')}; this hallctl reads {SCHEMA_VERSION}"
        )
    return record


def load_model(path: Path, device: str | torch.device = "cpu") -> tuple[Precond, dict[str, Any]]:
    """Load a model file into a freshly built ``Precond`` in eval mode, weights frozen.

    Returns:
        (precond, record): the model on ``device`` and the file's metadata record.

    Raises:
        ModelError: missing file, not a hallctl model, or weights that do not fit the stored config.
    """
    path = Path(path)
    record = read_record(path)
    cfg = ModelConfig.from_dict(record["model_config"])
    precond = build_precond(cfg, int(record["rows"]), int(record["length"]))
    with safe_open(str(path), framework="pt") as f:
        state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is no mapping)
    moments = {k: state.pop(k) for k in list(state) if k.startswith(COVARIANCE_PREFIX)}
    precond.data_covariance = DataCovariance.from_tensors(moments, record.get("data_covariance"))
    template = (record.get("dataset") or {}).get("control_template")
    if cfg.control:  # an amortized model answers the observation sets of its template
        if template is None:
            raise ModelError(f"{path} is an amortized model without its control template; retrain it")
        precond.control_template = ControlTemplate.from_dict(template)
    try:
        precond.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise ModelError(
            f"{path}: weights do not match the stored model config ({' '.join(first[:2])[:300]}); "
            "the file is damaged or was written by another program"
        ) from exc
    precond.requires_grad_(False)
    return precond.to(device).eval(), record
