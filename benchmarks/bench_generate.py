"""Campaign throughput: simulations per second on 1 and 2 threads, and the parallel efficiency;
with ``--dask``, also a dask LocalCluster of 1 and 2 worker processes (``hallctl[dask]``).

    python benchmarks/bench_generate.py [--sims 8] [--duration 1e-3] [--cells 128] [--dask]

Every run uses the same campaign (same draws), hall_diffusion configuration, in fresh folders;
the numba kernels are compiled (or loaded from cache) before timing. Target: >= 1.8x on 2 cores.
The dask runs include starting and stopping the cluster (a few seconds), as a user's run does.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from hallctl.commands import generate as campaign
from hallctl.project import load_project


def run(threads: int, sims: int, duration: float, cells: int, executor: str = "threads") -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        project = load_project(None, [f'paths.data="{Path(tmp) / "data"}"', f"generate.num_sims={sims}",
                                      f"generate.threads={threads}", f"simulation.duration_s={duration}",
                                      f"simulation.num_cells={cells}", f"generate.shard_size={sims}",
                                      f"generate.executor={executor}"])
        start = time.perf_counter()
        summary = campaign.run(project)
        return time.perf_counter() - start, summary.successes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sims", type=int, default=8)
    ap.add_argument("--duration", type=float, default=1e-3)
    ap.add_argument("--cells", type=int, default=128)
    ap.add_argument("--dask", action="store_true", help="also time a dask LocalCluster of 1 and 2 workers")
    args = ap.parse_args()
    print(f"# hallctl generate benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{args.sims} sims of {args.duration * 1e3:g} ms on {args.cells} cells")
    run(1, 1, 1e-5, args.cells)  # compile / load the kernels
    t1, ok1 = run(1, args.sims, args.duration, args.cells)
    t2, ok2 = run(2, args.sims, args.duration, args.cells)
    r1, r2 = args.sims / t1, args.sims / t2
    print(f"threads=1: {t1:7.2f} s  {r1:6.3f} sims/s  ({ok1} ok)")
    print(f"threads=2: {t2:7.2f} s  {r2:6.3f} sims/s  ({ok2} ok)")
    print(f"speed-up 2 vs 1 thread: {r2 / r1:.2f}x (parallel efficiency {r2 / r1 / 2:.0%})")
    if args.dask:
        for workers in (1, 2):
            t, ok = run(workers, args.sims, args.duration, args.cells, executor="dask")
            r = args.sims / t
            print(f"dask, {workers} worker(s): {t:7.2f} s  {r:6.3f} sims/s  ({ok} ok)  = {r / r1:.2f}x 1 thread, "
                  f"{r / r2:.2f}x 2 threads")


if __name__ == "__main__":
    main()
