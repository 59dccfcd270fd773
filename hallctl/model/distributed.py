"""Data-parallel training across processes started by ``torchrun`` (DistributedDataParallel).

Every rank holds the whole dataset and draws the same global batch, noise levels, noise and
observation sets from the same seeds; rank r trains on rows [r·B/R, (r+1)·B/R) of it, and DDP
averages the gradients, so the step equals the single-process step on the global batch (up to
float summation order): the batch size and the schedule in images do not depend on the number of
ranks, and a checkpoint resumes with any number of them. Rank 0 alone validates and writes
checkpoints, EMA snapshots, metrics and model files. gloo on CPU, nccl on CUDA.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from hallctl.errors import ModelError

__all__ = ["Ranks", "mean_across", "same_across", "setup", "teardown"]


@dataclass(frozen=True)
class Ranks:
    """This process's place among the training processes (single process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> Ranks:
        """RANK, WORLD_SIZE and LOCAL_RANK as torchrun sets them (absent: one process)."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        return cls(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def rows(self, batch: int) -> slice:
        """The rows of a global batch this rank trains on."""
        per = batch // self.world_size
        return slice(self.rank * per, (self.rank + 1) * per)


def setup(ranks: Ranks, device: torch.device, batch_size: int) -> torch.device:
    """Join the process group (gloo on CPU, nccl on CUDA); the rank's device.

    Raises:
        ModelError: the global batch does not split evenly over the ranks.
    """
    if batch_size % ranks.world_size:
        raise ModelError(f"train.batch_size = {batch_size} does not split over {ranks.world_size} processes; "
                         f"use a multiple of {ranks.world_size}")
    if device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=ranks.rank,
                                world_size=ranks.world_size)
    return device


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def mean_across(value: float, ranks: Ranks, device: torch.device) -> float:
    """The mean of a number over the ranks."""
    if not ranks.active:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t) / ranks.world_size


def same_across(module: torch.nn.Module, ranks: Ranks, device: torch.device) -> bool:
    """Whether every rank holds the same weights (checksums gathered over the ranks)."""
    if not ranks.active:
        return True
    flat = torch.cat([p.detach().double().flatten() for p in module.parameters()])
    mine = torch.stack([flat.sum(), flat.abs().sum(), (flat * torch.arange(flat.numel(), device=flat.device,
                                                                           dtype=flat.dtype).sin()).sum()])
    mine = mine.to(device)
    gathered = [torch.empty_like(mine) for _ in range(ranks.world_size)]
    dist.all_gather(gathered, mine)
    return all(torch.equal(g, gathered[0]) for g in gathered)
