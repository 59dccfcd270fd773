"""``hallctl split``: train / small validation / large validation sets, stable and seeded.

Each record goes to a set by a hash of (split seed, record id), mapped to u ∈ [0, 1):
u < val_small → val_small; u < val_small + val_large → val_large; else train. Adding simulations
to the campaign later never moves an existing record between sets.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hallctl.data.store import read_dataset, write_dataset
from hallctl.errors import DataError
from hallctl.report import Reporter, resolve
from hallctl.sections import SplitSection

__all__ = ["SPLITS", "SplitSummary", "assign_splits", "split_dataset", "split_signature", "split_uniform"]

SPLITS = ("train", "val_small", "val_large")


def split_signature(cfg: SplitSection) -> str:
    """The [split] settings as one string, recorded by ``normalize`` (which fits on the training split)."""
    return f"seed={cfg.seed} val_small={cfg.val_small!r} val_large={cfg.val_large!r}"


def split_uniform(seed: int, record_id: int) -> float:
    """A uniform number in [0, 1) that depends only on (seed, record id)."""
    digest = hashlib.sha256(f"hallctl-split:{seed}:{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2.0**64


def assign_splits(record_ids: np.ndarray, *, seed: int, val_small: float, val_large: float) -> np.ndarray:
    """The set name of every record id."""
    u = np.array([split_uniform(seed, int(i)) for i in record_ids])
    out = np.full(len(record_ids), "train", dtype=object)
    out[u < val_small + val_large] = "val_large"
    out[u < val_small] = "val_small"
    return out


@dataclass
class SplitSummary:
    files: dict[str, Path]
    sizes: dict[str, int]


def split_dataset(source: Path, data_dir: Path, cfg: SplitSection, *, provenance: dict[str, Any],
                  report: Reporter | None = None) -> SplitSummary:
    """Write <data_dir>/train.h5, val_small.h5 and val_large.h5 from the normalized set ``source``.

    Raises:
        DataError: the normalized set is missing, or the fractions leave the training set empty.
    """
    report = resolve(report)
    ds = read_dataset(source, hint="run `hallctl normalize` first")
    fitted = ds.attrs.get("fit_split")
    if fitted is not None and fitted != split_signature(cfg):
        raise DataError(f"{source} was normalized on the training split of [split] {fitted}, but the project now "
                        f"says {split_signature(cfg)}; rerun `hallctl normalize` so that held-out records stay out "
                        "of the normalization")
    names = assign_splits(ds.record_id, seed=cfg.seed, val_small=cfg.val_small, val_large=cfg.val_large)
    sizes = {s: int((names == s).sum()) for s in SPLITS}
    if sizes["train"] == 0:
        raise DataError(f"split.val_small = {cfg.val_small} and split.val_large = {cfg.val_large} leave no "
                        f"training record out of {len(ds)}; lower them or generate more simulations")
    files = {}
    prov = {**provenance, "fractions": {"val_small": cfg.val_small, "val_large": cfg.val_large}}
    for s in SPLITS:
        files[s] = data_dir / f"{s}.h5"
        write_dataset(files[s], ds.subset(names == s, s), prov)
        if sizes[s] == 0:
            report.warn(f"{s} is empty ({len(ds)} records, fraction {getattr(cfg, s, 0.0)}); "
                        "raise the fraction or generate more simulations")
    report.table("split", ["set", "records", "file"], [[s, sizes[s], str(files[s])] for s in SPLITS])
    return SplitSummary(files=files, sizes=sizes)
