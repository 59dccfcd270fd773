"""Benchmark: one 2 ms hall_diffusion simulation on one core (docs/physics.md §14, §17).

Configuration: SPT-100 (hall_diffusion field), 128 cells, Xe⁺–Xe³⁺, Braginskii, MultiLogBohm
profile, WallSheath BNSiO2, ion wall losses, 300 V, 5 mg/s. Prints the compile (or cache-load)
time once, then wall time, steps and µs per step for each repetition, their best and median.

Usage::

    python benchmarks/bench_simulate.py [--repeat 5] [--duration 2e-3] [--cold]

``--cold`` also measures a compilation from scratch (in a subprocess with numba's cache off).

Not a pytest test. The machine may be shared; compare the best of several repetitions.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

import numba
import numpy as np

from hallctl.sim import SimConfig, simulate

OUTSIDE_FIGURE_US_PER_STEP = 58.0
"""An outside figure, not measured by this script: a straightforward numba implementation of
docs/physics.md (whole loop compiled, temporaries allocated in the kernels) ran 56–60 µs/step for
this configuration on the development machine (docs/physics.md §17). Printed for orientation
only; no ratio is computed against it."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="number of timed runs")
    parser.add_argument("--duration", type=float, default=2e-3, help="simulated time per run [s]")
    parser.add_argument("--cold", action="store_true", help="also time a compilation without the cache")
    args = parser.parse_args()

    if args.cold:
        code = ("from hallctl.sim import SimConfig, simulate; "
                "print(simulate(SimConfig.hall_diffusion(duration_s=1e-6, num_save=2)).compile_s)")
        env = dict(os.environ, HALLCTL_NUMBA_CACHE="0")
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        print(f"compile from scratch (cache off): {float(out.stdout.strip()):.2f} s")

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    numba.set_num_threads(1)

    cfg = SimConfig.hall_diffusion(duration_s=args.duration, num_save=round(args.duration / 1e-6) + 1)
    print(f"# hallctl.sim benchmark | python {platform.python_version()} | numba {numba.__version__} | "
          f"numpy {np.__version__} | {platform.processor() or platform.machine()}")
    print(f"# hall_diffusion: {cfg.num_cells} cells, Xe 1-{cfg.max_charge}, {cfg.conductivity_model}, "
          f"{type(cfg.anom_model).__name__}, {cfg.discharge_voltage_V:.0f} V, "
          f"{cfg.anode_mass_flow_rate_kg_s * 1e6:.0f} mg/s, {args.duration * 1e3:g} ms")

    t0 = time.perf_counter()
    warm = simulate(SimConfig.hall_diffusion(duration_s=1e-6, num_save=2))
    print(f"compile/load: {warm.compile_s:.2f} s (first call incl. set-up {time.perf_counter() - t0:.2f} s)")

    times = []
    for k in range(args.repeat):
        r = simulate(cfg)
        us = 1e6 * r.wall_s / max(r.steps, 1)
        times.append(us)
        print(f"run {k + 1}: status={r.status} wall={r.wall_s:.3f} s steps={r.steps} us/step={us:.2f} "
              f"I_d={r.performance['discharge_current_A']:.4f} A thrust={r.performance['thrust_N'] * 1e3:.3f} mN")
    print(f"best: {min(times):.2f} us/step, median: {float(np.median(times)):.2f} us/step")
    print(f"outside figure, not measured in this run (a straightforward numba transcription, docs/physics.md §17): "
          f"{OUTSIDE_FIGURE_US_PER_STEP:.0f} us/step")


if __name__ == "__main__":
    main()
