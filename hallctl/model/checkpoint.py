"""Training state on disk: the resumable checkpoint and the metrics table (docs/model.md §6).

``<run_dir>/checkpoint/state.pt`` holds weights, optimizer, EMA states, counters, the data shape
and the seed; random draws are functions of (seed, nimg), so the image counter is also the data
order position and the RNG state. It is written to a temporary name and renamed, so a crash never
leaves half a checkpoint. ``metrics.csv`` gets one row per validation.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import torch

from hallctl.atomic import replace_durably
from hallctl.errors import ModelError
from hallctl.model.io import atomic_path
from hallctl.model.settings import ModelConfig

__all__ = ["CHECKPOINT", "MetricsWriter", "check_compatible", "load_checkpoint", "save_checkpoint"]

CHECKPOINT = Path("checkpoint") / "state.pt"
FORMAT = "hallctl-checkpoint"


def save_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, numbers, strings, lists, dicts) atomically with torch.save."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(path)
    try:
        torch.save({"format": FORMAT, **state}, tmp)
        replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path, device: torch.device) -> dict[str, Any]:
    """Read a checkpoint (tensor-only unpickling) onto ``device``.

    Raises:
        ModelError: unreadable or not a hallctl checkpoint.
    """
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise ModelError(
            f"cannot read checkpoint {path} ({type(exc).__name__}); delete it or restart the run (--restart)"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ModelError(f"{path} is not a hallctl checkpoint; delete it or restart the run (--restart)")
    return state


def check_compatible(
    state: dict[str, Any], path: Path, *, model_config: dict, rows: int, length: int, label_dim: int
) -> None:
    """Raise ModelError (one line) when a checkpoint does not fit the data or the model config."""
    if (state["rows"], state["length"]) != (rows, length):
        raise ModelError(
            f"checkpoint {path} was trained on {state['rows']} rows × {state['length']} points but the dataset "
            f"has {rows} × {length}; use the matching dataset, another run directory, or --restart"
        )
    if state["label_dim"] != label_dim:
        raise ModelError(
            f"checkpoint {path} has label_dim {state['label_dim']} but the labels have {label_dim}; "
            "use another run directory or --restart"
        )
    stored = ModelConfig.from_dict(state["model_config"]).to_dict()  # keys added since take their defaults
    if stored != model_config:
        diff = sorted(k for k in model_config if stored.get(k) != model_config[k])
        raise ModelError(
            f"checkpoint {path} was trained with a different [model] section (differs in {diff}); "
            "restore those settings, use another run directory, or --restart"
        )


class MetricsWriter:
    """Appends rows to ``metrics.csv``; on resume, drops rows newer than the checkpoint."""

    def __init__(self, path: Path, columns: list[str], resume_nimg: int | None) -> None:
        self.path = path
        self.columns = columns
        rows: list[dict[str, str]] = []
        if resume_nimg is not None and path.is_file():
            with path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r.get("nimg") or 0) <= resume_nimg]
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    def write(self, row: dict[str, Any]) -> None:
        formatted = {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore").writerow(formatted)
