"""Training throughput of the small EDM2 configuration: a straightforward baseline vs hallctl's path.

Configuration: channels 64, mult [1, 2, 3, 4], 2 blocks, attention at 16 and 8 (~10.9 M
parameters), batch 64, 25 rows × 64 points. One optimizer step = loss, backward, Adam, two
power-function EMA updates. ``--config configs/medium.toml`` (any project file) trains its [model]
section at its normalized length instead (the medium project: 25.3 M parameters, 128 points), the
research code's network built with the same configuration; ``--batch`` sets the batch.

Variants (all in this process, interleaved round by round; medians reported, best round beside):

- ``research-code``  the research code's network (``../shared/peer/upstream_edm2.py``, or the file
                 ``HALLCTL_PEER`` names, loaded when it exists, skipped otherwise; never part of the package): its
                 forward, its simple EDM loss, backward and Adam, as ``peer_train_step.py`` times it;
                 same batch and shape, same configuration (base 64, mult [1, 2, 3, 4], 2 blocks,
                 attention at 16 and 8, 32 channels per head; or the --config project's). The ratios
                 are against this row.
- ``baseline``   the plain EDM2 transcription (``set_fused(net, False)``): each layer normalizes
                 its weight twice through autograd (Eq. 66 then Eq. 47) and runs ``conv1d``,
                 explicit MP-SiLU and clamp; float32, torch's default Adam, the same loss and EMA.
- ``hallctl``    the step ``hallctl.model.train`` runs (``Trainer.train_step``): channels-last
                 activations with every kernel-3 convolution as one matrix product (``Conv3``), the
                 weight normalization and the product in one operation with its gradient written out
                 (``NormalizedConv``; one row norm per layer and step for both normalizations),
                 weights stored input-major, so that the weight side of every product is a view with no
                 transposing copy (``input_major``/``product_matrix``), attention written out, MP-SiLU's
                 constant folded into the next layer's weight scale and the SiLU computed into that layer's
                 padded gather, MP-sums as one add (β in the layer's gain), the pixel norm with its backward
                 written out (``pixel_norm``), a one-kernel clamp, fused Adam on
                 the weights' contiguous memory-order views (``DenseAdam``), glibc malloc keeping freed
                 blocks (process-wide, so every variant of this process has it), float32.
- ``hallctl-bf16``  the same under bf16 autocast (amp = "bf16").
- ``hallctl-compile[-bf16]``  with torch.compile of the U-Net (``--compile``; minutes to compile).

Peak memory of each variant's setup and first 3 steps: CUDA = torch.cuda.max_memory_allocated over
that stretch minus what was allocated before it (in this process: the variants are built one after
the other); CPU = growth of the peak resident set (VmHWM) over the resident set after imports, in
a fresh subprocess (weights, Adam moments, EMAs, activations, allocator slack). A compiled CPU
variant would compile again there (minutes): its memory is left out (nan).

Usage: python benchmarks/bench_train.py [--device cpu|cuda|all] [--rounds 5] [--steps 3] [--compile]
                                        [--config small|PROJECT.toml] [--batch 64]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import torch

from hallctl.commands.train import model_config
from hallctl.errors import HallctlError
from hallctl.model import ModelConfig, TrainSettings, build_precond
from hallctl.model.ema import PowerEMA
from hallctl.model.loop import Trainer
from hallctl.model.loss import edm_loss
from hallctl.model.runtime import native_cpu_bf16, set_fused
from hallctl.project import load_project
from hallctl.report import Reporter

ROWS = 25  # the rows of one sample (17 fields + 8 scalars)
_TMP = tempfile.TemporaryDirectory(prefix="bench-train-")  # run directories, removed at exit
# the research code's network: ../shared/peer beside the checkout, or where HALLCTL_PEER points (a GPU machine)
PEER = Path(os.environ.get("HALLCTL_PEER") or Path(__file__).resolve().parents[2] / "shared/peer/upstream_edm2.py")
RESEARCH = "research-code"


@dataclasses.dataclass(frozen=True)
class Workload:
    """What every variant trains: the network's configuration, the batch and the profile length."""

    name: str
    cfg: ModelConfig
    batch: int
    length: int
    params: int  # hallctl's network

    @classmethod
    def load(cls, config: str, batch: int) -> Workload:
        """``small`` (the default configuration at 64 points), or a project file's [model] section at its
        normalized length (the simulation grid when ``normalize.resolution`` is 0). Raises HallctlError
        for a project file that does not load or a network that does not fit the length."""
        if config == "small":
            name, cfg, length = "small", ModelConfig(), 64
        else:
            project = load_project(config)
            name, cfg = Path(config).stem, model_config(project)
            length = project.normalize.resolution or project.simulation.num_cells
        params = sum(p.numel() for p in build_precond(cfg, ROWS, length).parameters())
        return cls(name, cfg, batch, length, params)


class ResearchCode:
    """The research code's training step (forward, loss, backward, Adam), its network loaded from ../shared/peer."""

    def __init__(self, work: Workload, data: torch.Tensor, device: torch.device) -> None:
        spec = importlib.util.spec_from_file_location("upstream_edm2", PEER)
        edm2 = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(edm2)
        torch.manual_seed(0)
        cfg = work.cfg
        self.net = edm2.EDM2Denoiser(resolution=work.length, in_channels=ROWS, condition_dim=0, data_std=0.5,
                                     base_channels=cfg.channels, channel_mult=list(cfg.channel_mult),
                                     num_blocks=cfg.num_blocks, attn_resolutions=list(cfg.attn_resolutions),
                                     channels_per_head=cfg.channels_per_head).to(device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-4)
        self.data, self.batch = data, work.batch
        self.gen = torch.Generator(device=device).manual_seed(0)

    def train_step(self) -> None:
        idx = torch.randint(0, self.data.shape[0], (self.batch,), generator=self.gen, device=self.data.device)
        x = self.data[idx]
        sigma = (torch.randn(self.batch, 1, 1, generator=self.gen, device=x.device) * 1.2 - 1.2).exp()
        D = self.net(x + torch.randn(x.shape, generator=self.gen, device=x.device) * sigma, sigma)
        weight = (sigma**2 + 0.25) / (sigma * 0.5) ** 2
        loss = (weight * (D - x) ** 2).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()


class Baseline:
    """The straightforward step: plain MP layers, float32, default Adam, power EMA."""

    def __init__(self, work: Workload, data: torch.Tensor, device: torch.device) -> None:
        self.net = build_precond(work.cfg, ROWS, work.length).to(device).train()
        set_fused(self.net, False)
        for p in self.net.parameters():  # the usual contiguous layout (hallctl's weights are input-major)
            p.data = p.data.contiguous()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-8)
        self.ema = PowerEMA(self.net, (0.05, 0.1))
        self.data, self.nimg, self.batch = data, 0, work.batch
        self.gen = torch.Generator(device=device).manual_seed(0)

    def train_step(self) -> None:
        idx = torch.randint(0, self.data.shape[0], (self.batch,), generator=self.gen, device=self.data.device)
        objective, lam = edm_loss(self.net, self.data[idx], generator=self.gen)
        self.opt.zero_grad(set_to_none=True)
        objective.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), float("inf"))
        float(lam.mean())
        self.opt.step()
        self.nimg += self.batch
        self.ema.update(self.nimg, self.batch)


class Quiet(Reporter):
    def warn(self, message: str) -> None:
        print(f"  warning: {message}")


def hallctl_step(work: Workload, data, device, *, amp: torch.dtype | None, compile: bool) -> Trainer:
    settings = TrainSettings(batch_size=work.batch, device=str(device), compile=compile, lr_ref=1e-3, grad_clip=0.0)
    run_dir = Path(tempfile.mkdtemp(dir=_TMP.name))
    return Trainer(
        data.cpu(),
        None,
        None,
        None,
        cfg=work.cfg,
        settings=settings,
        run_dir=run_dir,
        dataset_meta={},
        device=device,
        amp_dtype=amp,
        report=Quiet(),
    )


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def make_variants(work: Workload, device: torch.device, compile: bool) -> dict[str, Callable[[], Callable[[], None]]]:
    """label → a function that builds the variant and returns its step function."""
    data = 0.5 * torch.randn(max(1024, 4 * work.batch), ROWS, work.length, generator=torch.Generator().manual_seed(0))
    variants = {}
    if PEER.is_file():
        variants[RESEARCH] = lambda: ResearchCode(work, data.to(device), device).train_step
    variants["baseline"] = lambda: Baseline(work, data.to(device), device).train_step

    def build_hallctl(amp: torch.dtype | None, use_compile: bool) -> Callable[[], None]:
        return hallctl_step(work, data, device, amp=amp, compile=use_compile).train_step

    bf16 = device.type == "cuda" or native_cpu_bf16()
    for use_compile in (False, True) if compile else (False,):
        for amp in (None, torch.bfloat16) if bf16 else (None,):
            label = "hallctl" + ("-compile" if use_compile else "") + ("-bf16" if amp else "")
            variants[label] = functools.partial(build_hallctl, amp, use_compile)
    return variants


def vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def memory_probe(work: Workload, label: str, device: torch.device) -> None:
    """Run in a fresh process: print the peak memory of one variant's setup and 3 steps, MiB."""
    start = vm_kib("VmRSS")
    step = make_variants(work, device, "compile" in label)[label]()
    for _ in range(3):
        step()
    print((vm_kib("VmHWM") - start) / 1024)


def peak_memory_mib(work: Workload, config: str, label: str) -> float:
    """Peak resident-set growth of a CPU variant's setup and 3 steps, measured in a subprocess.

    A compiled variant would compile again there (minutes on a CPU): its memory is left out (nan).
    """
    if "compile" in label:
        return float("nan")
    cmd = [sys.executable, __file__, "--memory-probe", label, "--device", "cpu", "--config", config,
           "--batch", str(work.batch)]
    if torch.get_num_threads():
        cmd += ["--threads", str(torch.get_num_threads())]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=True).stdout
        return float(out.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return float("nan")


def bench(work: Workload, config: str, device: torch.device, rounds: int, steps: int, compile: bool) -> None:
    name = torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"device {device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"{work.name} config: {work.params / 1e6:.2f} M parameters, batch {work.batch}, "
          f"{ROWS} rows x {work.length} points")
    variants, memory = {}, {}
    for label, build in make_variants(work, device, compile).items():  # setup and warm-up (and compilation)
        t = time.perf_counter()
        if device.type == "cuda":  # what this variant allocates and its peak, the others' tensors left out
            sync(device)
            torch.cuda.reset_peak_memory_stats()
            start = torch.cuda.memory_allocated()
        variants[label] = step = build()
        for _ in range(3):
            step()
        sync(device)
        if device.type == "cuda":
            memory[label] = (torch.cuda.max_memory_allocated() - start) / 2**20
        if time.perf_counter() - t > 20:
            print(f"  {label}: warm-up {time.perf_counter() - t:.0f} s")
    times: dict[str, list[float]] = {label: [] for label in variants}
    for _ in range(rounds):
        for label, step in variants.items():
            sync(device)
            t = time.perf_counter()
            for _ in range(steps):
                step()
            sync(device)
            times[label].append((time.perf_counter() - t) / steps)
    if device.type != "cuda":
        memory = {label: peak_memory_mib(work, config, label) for label in variants}
    ref_label = RESEARCH if RESEARCH in times else "baseline"
    if RESEARCH not in times:
        print(f"research-code row skipped: {PEER} is absent; ratios are against the baseline")
    batch = work.batch
    ref = batch / statistics.median(times[ref_label])
    print(f"{'variant':<22}{'median samples/s':>18}{'best':>8}{'vs ' + ref_label:>20}{'peak MiB':>10}")
    for label, ts in times.items():
        best, median = batch / min(ts), batch / statistics.median(ts)
        print(f"{label:<22}{median:>18.1f}{best:>8.1f}{median / ref:>19.2f}x{memory[label]:>10.0f}")
    if RESEARCH in times:
        fastest = max((batch / statistics.median(ts), label) for label, ts in times.items() if label != RESEARCH)
        print(f"fastest hallctl step: {fastest[1]} at {fastest[0]:.1f} samples/s (median) = {fastest[0] / ref:.2f}x "
              f"the research code's {ref:.1f} samples/s in this run (goal >= 1.5x, stretch 2x)")


def fail(message: str) -> NoReturn:
    """One line on stderr, exit status 2 (as for a bad option)."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps per round and variant")
    parser.add_argument("--compile", action="store_true", help="add torch.compile variants (slow to compile)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--config", default="small",
                        help="small (the default configuration, 64 points) or a project file, e.g. configs/medium.toml")
    parser.add_argument("--batch", type=int, default=64, help="samples per optimizer step")
    parser.add_argument("--memory-probe", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for option in ("rounds", "steps", "batch"):
        if getattr(args, option) < 1:
            fail(f"--{option} {getattr(args, option)} must be at least 1")
    try:
        work = Workload.load(args.config, args.batch)
    except HallctlError as exc:
        fail(str(exc))
    if args.memory_probe:
        memory_probe(work, args.memory_probe, torch.device(args.device))
        return
    devices = [torch.device("cpu")] if args.device in ("cpu", "all") else []
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    for device in devices:
        bench(work, args.config, device, args.rounds, args.steps, args.compile)


if __name__ == "__main__":
    main()
