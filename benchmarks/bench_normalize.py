"""normalize throughput and memory on synthetic raw records.

    python benchmarks/bench_normalize.py [--records 10000] [--shard 500]

Writes synthetic raw shards (128 cells), then times ``hallctl normalize`` (two streaming passes,
tensor written into the output file) and, in the same process, a baseline that loads the whole
campaign into memory first. Prints records/s and the peak resident memory of each.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hallctl.commands import normalize
from hallctl.data.store import make_provenance, read_raw_shard, write_raw_shard
from hallctl.project import load_project
from tests.data.synthetic import synthetic_records


def baseline(project, shards: list[Path]) -> int:
    """Load everything, then filter and normalize in memory (what a simple script would do)."""
    cfg = project.normalize
    recs = [read_raw_shard(p) for p in shards]
    grid = np.linspace(recs[0].z_m[0], recs[0].z_m[-1], cfg.resolution)
    spec = normalize.row_spec(cfg, dict(zip(recs[0].field_names, recs[0].field_units, strict=True)))
    phys = []
    for rec in recs:
        keep = np.array([r == "" for r in normalize.filter_reasons(rec, cfg)])
        phys.append(normalize.build_rows(rec, keep, cfg, grid, 0.5))
    x = np.concatenate(phys)
    log = np.asarray(spec.log)[None, :, None]
    g = np.where(log, np.log(np.maximum(x, 1e-30)), x)
    mean = g.mean(axis=(0, 2))
    std = g.std(axis=(0, 2)) / cfg.target_std
    out = (g - mean[None, :, None]) / np.where(std > 0, std, 1)[None, :, None]
    return len(out)


def measure(fn):
    tracemalloc.start()
    start = time.perf_counter()
    n = fn()
    wall = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return n, wall, peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--shard", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = load_project(None, [f'paths.data="{Path(tmp) / "data"}"', "normalize.resolution=64"])
        raw = project.data_dir / "raw"
        t0 = time.perf_counter()
        for k in range(0, args.records, args.shard):
            n = min(args.shard, args.records - k)
            rec = synthetic_records(n, cells=128, frames=201, seed=k, first_index=k)
            write_raw_shard(raw / f"shard-{k // args.shard:05d}.h5", rec, make_provenance())
        shards = sorted(raw.glob("shard-*.h5"))
        print(f"# normalize benchmark: {args.records} synthetic records (128 cells) in {len(shards)} shards "
              f"(written in {time.perf_counter() - t0:.1f} s)")
        n, wall, peak = measure(lambda: normalize.run(project).kept)
        nb, wall_b, peak_b = measure(lambda: baseline(project, shards))
        print(f"hallctl normalize : {n} records in {wall:6.2f} s = {n / wall:8.0f} records/s, "
              f"peak Python memory {peak:7.1f} MiB")
        print(f"load-all baseline : {nb} records in {wall_b:6.2f} s = {nb / wall_b:8.0f} records/s, "
              f"peak Python memory {peak_b:7.1f} MiB")
        print(f"ratio: {wall_b / wall:.2f}x the baseline's speed, {peak / peak_b:.2f}x its peak memory; "
              f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
