"""Where a training step of the small configuration spends its time (torch.profiler, CPU).

    python benchmarks/profile_train.py [--steps 3] [--threads 2] [--rows 25] [--batch 64]

Prints the operators by self CPU time (top 25) for hallctl's step (loss with learned uncertainty,
backward, Adam, power-function EMA), after two warm-up steps. A measuring aid for
bench_train.py, not a benchmark: profiling adds overhead of its own.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from hallctl.model import ModelConfig, TrainSettings
from hallctl.model.loop import Trainer
from hallctl.report import Reporter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, default=25)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--length", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = 0.5 * torch.randn(1024, args.rows, args.length, generator=torch.Generator().manual_seed(0))
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(data, None, None, None, cfg=ModelConfig(),
                          settings=TrainSettings(batch_size=args.batch, device="cpu", lr_ref=1e-3, grad_clip=0.0),
                          run_dir=Path(tmp), dataset_meta={}, device=torch.device("cpu"), amp_dtype=None,
                          report=Reporter())
        for _ in range(2):
            trainer.train_step()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(args.steps):
                with record_function("train_step"):
                    trainer.train_step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))


if __name__ == "__main__":
    main()
