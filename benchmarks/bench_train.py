"""Training throughput of the small EDM2 configuration: a straightforward baseline vs hallctl's path.

Configuration: channels 64, mult [1, 2, 3, 4], 2 blocks, attention at 16 and 8 (~10.9 M
parameters), batch 64, 25 rows × 64 points. One optimizer step = loss, backward, Adam, two
power-function EMA updates.

Variants (all in this process, interleaved round by round; medians reported, best round beside):

- ``research-code``  the research code's network (``../shared/peer/upstream_edm2.py``, loaded from
                 there when the folder exists, skipped otherwise; never part of the package): its
                 forward, its simple EDM loss, backward and Adam, as ``peer_train_step.py`` times it;
                 same batch and shape, same configuration (base 64, mult [1, 2, 3, 4], 2 blocks,
                 attention at 16 and 8, 32 channels per head). The ratios are against this row.
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

Peak memory, measured per variant in a fresh subprocess (setup plus 3 steps): CUDA =
torch.cuda.max_memory_allocated; CPU = growth of the peak resident set (VmHWM) over the resident
set after imports (weights, Adam moments, EMAs, activations, allocator slack).

Usage: python benchmarks/bench_train.py [--device cpu|cuda|all] [--rounds 5] [--steps 3] [--compile]
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from hallctl.model import ModelConfig, TrainSettings, build_precond
from hallctl.model.ema import PowerEMA
from hallctl.model.loop import Trainer
from hallctl.model.loss import edm_loss
from hallctl.model.runtime import native_cpu_bf16, set_fused
from hallctl.report import Reporter

BATCH, ROWS, LENGTH = 64, 25, 64
_TMP = tempfile.TemporaryDirectory(prefix="bench-train-")  # run directories, removed at exit
PEER = Path(__file__).resolve().parents[2] / "shared" / "peer" / "upstream_edm2.py"
RESEARCH = "research-code"


class ResearchCode:
    """The research code's training step (forward, loss, backward, Adam), its network loaded from ../shared/peer."""

    def __init__(self, data: torch.Tensor, device: torch.device) -> None:
        spec = importlib.util.spec_from_file_location("upstream_edm2", PEER)
        edm2 = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(edm2)
        torch.manual_seed(0)
        self.net = edm2.EDM2Denoiser(resolution=LENGTH, in_channels=ROWS, condition_dim=0, data_std=0.5,
                                     base_channels=64, channel_mult=[1, 2, 3, 4], num_blocks=2,
                                     attn_resolutions=[LENGTH >> 2, LENGTH >> 3], channels_per_head=32).to(device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-4)
        self.data = data
        self.gen = torch.Generator(device=device).manual_seed(0)

    def train_step(self) -> None:
        idx = torch.randint(0, self.data.shape[0], (BATCH,), generator=self.gen, device=self.data.device)
        x = self.data[idx]
        sigma = (torch.randn(BATCH, 1, 1, generator=self.gen, device=x.device) * 1.2 - 1.2).exp()
        D = self.net(x + torch.randn(x.shape, generator=self.gen, device=x.device) * sigma, sigma)
        weight = (sigma**2 + 0.25) / (sigma * 0.5) ** 2
        loss = (weight * (D - x) ** 2).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()


class Baseline:
    """The straightforward step: plain MP layers, float32, default Adam, power EMA."""

    def __init__(self, cfg: ModelConfig, data: torch.Tensor, device: torch.device) -> None:
        self.net = build_precond(cfg, ROWS, LENGTH).to(device).train()
        set_fused(self.net, False)
        for p in self.net.parameters():  # the usual contiguous layout (hallctl's weights are input-major)
            p.data = p.data.contiguous()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-8)
        self.ema = PowerEMA(self.net, (0.05, 0.1))
        self.data, self.nimg = data, 0
        self.gen = torch.Generator(device=device).manual_seed(0)

    def train_step(self) -> None:
        idx = torch.randint(0, self.data.shape[0], (BATCH,), generator=self.gen, device=self.data.device)
        objective, lam = edm_loss(self.net, self.data[idx], generator=self.gen)
        self.opt.zero_grad(set_to_none=True)
        objective.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), float("inf"))
        float(lam.mean())
        self.opt.step()
        self.nimg += BATCH
        self.ema.update(self.nimg, BATCH)


class Quiet(Reporter):
    def warn(self, message: str) -> None:
        print(f"  warning: {message}")


def hallctl_step(cfg, data, device, *, amp: torch.dtype | None, compile: bool) -> Trainer:
    settings = TrainSettings(batch_size=BATCH, device=str(device), compile=compile, lr_ref=1e-3, grad_clip=0.0)
    run_dir = Path(tempfile.mkdtemp(dir=_TMP.name))
    return Trainer(
        data.cpu(),
        None,
        None,
        None,
        cfg=cfg,
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


def make_variants(device: torch.device, compile: bool, only: str | None = None) -> dict:
    """label → step function; ``only`` builds just that variant (for the memory probe)."""
    cfg = ModelConfig()
    data = 0.5 * torch.randn(1024, ROWS, LENGTH, generator=torch.Generator().manual_seed(0))
    variants = {}
    if only in (None, RESEARCH) and PEER.is_file():
        variants[RESEARCH] = ResearchCode(data.to(device), device).train_step
    if only in (None, "baseline"):
        variants["baseline"] = Baseline(cfg, data.to(device), device).train_step
    bf16 = device.type == "cuda" or native_cpu_bf16()
    for use_compile in (False, True) if compile else (False,):
        for amp in (None, torch.bfloat16) if bf16 else (None,):
            label = "hallctl" + ("-compile" if use_compile else "") + ("-bf16" if amp else "")
            if only in (None, label):
                variants[label] = hallctl_step(cfg, data, device, amp=amp, compile=use_compile).train_step
    return variants


def vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def memory_probe(label: str, device: torch.device) -> None:
    """Run in a fresh process: print the peak memory of one variant's setup and 3 steps, MiB."""
    start = vm_kib("VmRSS")
    step = make_variants(device, "compile" in label, only=label)[label]
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(3):
        step()
    sync(device)
    if device.type == "cuda":
        print(torch.cuda.max_memory_allocated() / 2**20)
    else:
        print((vm_kib("VmHWM") - start) / 1024)


def peak_memory_mib(label: str, device: torch.device) -> float:
    """Peak memory of a variant measured in a subprocess (CPU: resident set growth; CUDA: allocator peak)."""
    cmd = [sys.executable, __file__, "--memory-probe", label, "--device", device.type]
    if torch.get_num_threads():
        cmd += ["--threads", str(torch.get_num_threads())]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=True).stdout
        return float(out.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return float("nan")


def bench(device: torch.device, rounds: int, steps: int, compile: bool) -> None:
    params = sum(p.numel() for p in build_precond(ModelConfig(), ROWS, LENGTH).parameters())
    name = torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"device {device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"small config: {params / 1e6:.2f} M parameters, batch {BATCH}, {ROWS} rows x {LENGTH} points")
    variants = make_variants(device, compile)
    for label, step in variants.items():  # warm-up (and compilation)
        t = time.perf_counter()
        step()
        step()
        sync(device)
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
    # compiled variants would compile again in the probe: their memory is left out (nan)
    memory = {label: float("nan") if "compile" in label else peak_memory_mib(label, device) for label in variants}
    ref_label = RESEARCH if RESEARCH in times else "baseline"
    if RESEARCH not in times:
        print(f"research-code row skipped: {PEER} is absent; ratios are against the baseline")
    ref = BATCH / statistics.median(times[ref_label])
    print(f"{'variant':<22}{'median samples/s':>18}{'best':>8}{'vs ' + ref_label:>20}{'peak MiB':>10}")
    for label, ts in times.items():
        best, median = BATCH / min(ts), BATCH / statistics.median(ts)
        print(f"{label:<22}{median:>18.1f}{best:>8.1f}{median / ref:>19.2f}x{memory[label]:>10.0f}")
    if RESEARCH in times:
        fastest = max((BATCH / statistics.median(ts), label) for label, ts in times.items() if label != RESEARCH)
        print(f"fastest hallctl step: {fastest[1]} at {fastest[0]:.1f} samples/s (median) = {fastest[0] / ref:.2f}x "
              f"the research code's {ref:.1f} samples/s in this run (goal >= 1.5x, stretch 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps per round and variant")
    parser.add_argument("--compile", action="store_true", help="add torch.compile variants (slow to compile)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--memory-probe", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_probe:
        memory_probe(args.memory_probe, torch.device(args.device))
        return
    devices = [torch.device("cpu")] if args.device in ("cpu", "all") else []
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    for device in devices:
        bench(device, args.rounds, args.steps, args.compile)


if __name__ == "__main__":
    main()
