"""The state machine behind ``hallctl.model.train.train`` (docs/model.md §6).

Kept apart from the public settings so each module stays short. Every random draw is a function
of (seed, nimg): step noise and σ from stream 1, dropout from stream 2, data order from stream 3
(one permutation per epoch), validation subset and noise from streams 4-5, initialization from 6.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from hallctl.data.normalization import Normalization
from hallctl.errors import ModelError
from hallctl.model.build import build_precond
from hallctl.model.checkpoint import CHECKPOINT, MetricsWriter, check_compatible, load_checkpoint, save_checkpoint
from hallctl.model.control import ControlTemplate, draw_controls
from hallctl.model.distributed import Ranks, mean_across, same_across
from hallctl.model.ema import FixedEMA, PowerEMA, save_snapshots
from hallctl.model.io import ema_filename, save_model
from hallctl.model.loss import edm_loss, fixed_sigma_loss
from hallctl.model.lr_schedule import learning_rate
from hallctl.model.moments import data_covariance
from hallctl.model.optimizer import DenseAdam
from hallctl.model.runtime import CompiledOrEager, force_weights, keep_freed_memory
from hallctl.model.settings import ModelConfig, TrainSettings
from hallctl.model.stream import DataOrder, derive_seed, sigint_deferred
from hallctl.report import Reporter

__all__ = ["Trainer"]

NUM_VAL = 256  # examples in the fixed validation subset


class Trainer:
    """One training run: model, optimizer, EMAs, counters; ``run()`` trains and writes outputs."""

    def __init__(
        self,
        train_data: Tensor,
        val_data: Tensor | None,
        labels: Tensor | None,
        val_labels: Tensor | None,
        *,
        cfg: ModelConfig,
        settings: TrainSettings,
        run_dir: Path,
        dataset_meta: dict,
        device: torch.device,
        amp_dtype: torch.dtype | None,
        report: Reporter,
        ranks: Ranks | None = None,
    ) -> None:
        s = self.s = settings
        self.ranks = ranks or Ranks()
        self.cfg, self.run_dir, self.device, self.report = cfg, run_dir, device, report
        self.amp = "bf16" if amp_dtype is not None else "off"
        N, C, W = train_data.shape
        self.shape = (N, C, W)
        self.seed = s.seed
        if device.type == "cpu":
            keep_freed_memory()  # the same activations every step: no page faults for re-allocating them
        self.net = build_precond(cfg, C, W, seed=derive_seed(s.seed, 6)).to(device).train()
        self.net.amp_dtype = amp_dtype
        self.params = list(self.net.parameters())
        # fused: one kernel over all parameters (CPU and CUDA) instead of a loop of small ones, on
        # contiguous views of the input-major weights (DenseAdam)
        self.opt = DenseAdam(self.params, lr=0.0, betas=s.betas, eps=s.eps, weight_decay=0.0,
                             fused=device.type in ("cpu", "cuda"))
        self.pema = PowerEMA(self.net, s.ema_stds) if s.ema_stds else None
        self.fema = FixedEMA(self.net, s.fixed_ema_decay) if s.fixed_ema_decay else None
        self.ema_net = build_precond(cfg, C, W).to(device).eval().requires_grad_(False)
        self.net.data_covariance = self.ema_net.data_covariance = data_covariance(train_data)
        self.ema_net.amp_dtype = amp_dtype
        self.runner = CompiledOrEager(self.net.unet, s.compile, report.warn)
        self.net.runner = self.runner if self.runner.active else None
        # data-parallel: DDP averages the gradients of the ranks' parts of each global batch
        self.ddp = (torch.nn.parallel.DistributedDataParallel(self.net, device_ids=[device.index]
                                                              if device.type == "cuda" else None)
                    if self.ranks.active else None)
        self.gen = torch.Generator(device=device)
        self.nimg = self.step = self.nonfinite = 0
        self.lr = 0.0
        self.last_val_nimg = self.last_snapshot_nimg = -1
        self.acc = self._empty_acc()
        self.resumed_from = self._resume()
        self.order = DataOrder(N, self.seed)
        self.data = train_data.to(device, torch.float32).contiguous()
        self.labels = None if labels is None else labels.to(device, torch.float32)
        src, src_labels = (val_data, val_labels) if val_data is not None else (train_data, labels)
        pick = torch.randperm(src.shape[0], generator=torch.Generator().manual_seed(derive_seed(self.seed, 4)))
        pick = pick[:NUM_VAL]
        self.val_x = src[pick].to(device, torch.float32)
        self.val_labels = None if src_labels is None else src_labels[pick].to(device, torch.float32)
        g = torch.Generator().manual_seed(derive_seed(self.seed, 5))
        self.val_noise = torch.randn((len(s.val_sigmas), *self.val_x.shape), generator=g).to(device)
        # an amortized model trains on random observation sets of its template (docs/model.md §8.4) and is
        # validated on fixed ones too (val_*_cond), beside the unconditional validation
        self.template = ControlTemplate.from_dict(dataset_meta["control_template"]) if cfg.control else None
        self.net.control_template = self.template
        self.val_control = None
        self.normalization = Normalization.of(dataset_meta["normalization"]) if cfg.control else None
        if self.template is not None:
            gc = torch.Generator(device=device).manual_seed(derive_seed(self.seed, 7))
            self.val_control = draw_controls(self.val_x, self.template, self.normalization, generator=gc)
        sig = [f"{v:g}" for v in s.val_sigmas]
        columns = [
            "step",
            "nimg",
            "lr",
            "train_loss",
            "grad_norm",
            "val_raw",
            "val_ema",
            *[f"val_raw_sigma{v}" for v in sig],
            *[f"val_ema_sigma{v}" for v in sig],
            "samples_per_s",
            "nonfinite_steps",
            *(["val_raw_cond", "val_ema_cond"] if self.template is not None else []),
        ]
        self.metrics = MetricsWriter(run_dir / "metrics.csv", columns, self.resumed_from) if self.ranks.main else None
        self.meta = {"dataset": dataset_meta, "seed": self.seed}
        self.control_gen = torch.Generator(device=device)
        self.last_val = (math.nan, math.nan)

    @staticmethod
    def _empty_acc() -> dict:
        return {"loss": 0.0, "loss_n": 0, "grad": 0.0, "grad_n": 0, "time": 0.0, "images": 0}

    # --- checkpoint -----------------------------------------------------------------------------

    def _state(self) -> dict:
        N, C, W = self.shape
        return {
            "nimg": self.nimg,
            "step": self.step,
            "nonfinite": self.nonfinite,
            "seed": self.seed,
            "lr": self.lr,
            "model_config": self.cfg.to_dict(),
            "rows": C,
            "length": W,
            "label_dim": self.cfg.label_dim,
            "num_examples": N,
            "net": self.net.state_dict(),
            "optimizer": self.opt.state_dict(),
            "power_ema": self.pema.state_dict() if self.pema else None,
            "fixed_ema": self.fema.state_dict() if self.fema else None,
            "accum": dict(self.acc),
            "last_val_nimg": self.last_val_nimg,
            "last_snapshot_nimg": self.last_snapshot_nimg,
            "data_order": {"position": self.nimg, "num_examples": N},
            "torch_rng": torch.get_rng_state(),
        }

    def save_checkpoint(self) -> Path:
        path = self.run_dir / CHECKPOINT
        return save_checkpoint(path, self._state()) if self.ranks.main else path

    def _resume(self) -> int | None:
        path = self.run_dir / CHECKPOINT
        if not path.is_file():
            return None
        state = load_checkpoint(path, self.device)
        N, C, W = self.shape
        check_compatible(state, path, model_config=self.cfg.to_dict(), rows=C, length=W, label_dim=self.cfg.label_dim)
        for name, mine, theirs in (
            ("ema_stds", list(self.s.ema_stds), state["power_ema"]["stds"] if state["power_ema"] else []),
            ("fixed_ema_decay", self.s.fixed_ema_decay, state["fixed_ema"]["decay"] if state["fixed_ema"] else 0.0),
        ):
            if mine != theirs:
                raise ModelError(
                    f"checkpoint {path} tracks train.{name} = {theirs}, the settings ask for {mine}; "
                    "restore the setting, use another run directory, or --restart"
                )
        if state["seed"] != self.seed:
            self.report.warn(f"resuming with the checkpoint's seed {state['seed']} (settings say {self.seed})")
            self.seed = state["seed"]
        if state["num_examples"] != N:
            self.report.warn(f"the dataset has {N} examples, the checkpoint saw {state['num_examples']}")
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["optimizer"])
        if self.pema:
            self.pema.load_state_dict(state["power_ema"])
        if self.fema:
            self.fema.load_state_dict(state["fixed_ema"])
        self.nimg, self.step, self.nonfinite, self.lr = state["nimg"], state["step"], state["nonfinite"], state["lr"]
        self.acc = dict(state["accum"])
        self.last_val_nimg, self.last_snapshot_nimg = state["last_val_nimg"], state["last_snapshot_nimg"]
        self.report.info(f"resuming {self.run_dir} at {self.nimg} images")
        return self.nimg

    # --- one step -------------------------------------------------------------------------------

    def _forward_backward(self, x: torch.Tensor, lab: torch.Tensor | None) -> torch.Tensor:
        while True:
            self.gen.manual_seed(derive_seed(self.seed, 1, self.nimg))
            if self.cfg.dropout > 0:
                torch.manual_seed(derive_seed(self.seed, 2, self.nimg))
            self.opt.zero_grad(set_to_none=True)
            control = None
            if self.template is not None:
                self.control_gen.manual_seed(derive_seed(self.seed, 3, self.nimg))
                control = draw_controls(x, self.template, self.normalization, generator=self.control_gen)
            if self.net.runner is not None:
                force_weights(self.net.unet)  # Eq. (66) outside the compiled graph
            try:
                objective, lam_loss = edm_loss(
                    self.net,
                    x,
                    lab,
                    generator=self.gen,
                    P_mean=self.cfg.P_mean,
                    P_std=self.cfg.P_std,
                    uncertainty_weighting=self.cfg.uncertainty_weighting,
                    derivative_loss_weight=self.cfg.derivative_loss_weight,
                    label_dropout=self.cfg.label_dropout,
                    control=control,
                    rows=self.ranks.rows(x.shape[0]) if self.ddp is not None else None,
                    forward=self.ddp,
                )
                objective.backward()
                return lam_loss
            except Exception as exc:
                if self.net.runner is None:
                    raise
                self.runner.fail(exc)  # compiled graph failed: redo this step eagerly
                self.net.runner = None
                force_weights(self.net.unet, enabled=False)  # the eager layers force their weights again

    def train_step(self) -> tuple[float, float]:
        """One optimizer step; returns (mean λ-loss, gradient norm before clipping)."""
        s, B = self.s, self.s.batch_size
        idx = self.order.indices(self.nimg, B).to(self.device)
        x = self.data.index_select(0, idx)
        lab = None if self.labels is None else self.labels.index_select(0, idx)
        lam_loss = self._forward_backward(x, lab)
        grads = [p.grad for p in self.params if p.grad is not None]
        norm = torch.nn.utils.get_total_norm(grads)
        grad_norm, loss = float(norm), mean_across(float(lam_loss.mean()), self.ranks, self.device)
        with sigint_deferred():
            self.lr = learning_rate(
                self.nimg + B, lr_ref=s.lr_ref, lr_ref_nimg=s.lr_ref_nimg, lr_rampup_nimg=s.lr_rampup_nimg
            )
            if math.isfinite(grad_norm):
                if s.grad_clip and grad_norm > s.grad_clip:  # below the limit the scaling is 1: skip its pass
                    torch.nn.utils.clip_grads_with_norm_(self.params, s.grad_clip, norm)
                for group in self.opt.param_groups:
                    group["lr"] = self.lr
                self.opt.step()
            else:
                self.nonfinite += 1  # skipped: weights and Adam moments unchanged
            self.nimg += B
            self.step += 1
            if self.pema:
                self.pema.update(self.nimg, B)
            if self.fema:
                self.fema.update()
        return loss, grad_norm

    # --- validation, metrics, outputs -----------------------------------------------------------

    def _ema_params(self) -> dict | None:
        if self.pema:
            return self.pema.averaged(0)
        return self.fema.averaged() if self.fema else None

    def _load_ema_net(self, averaged: dict) -> torch.nn.Module:
        self.ema_net.load_state_dict({**self.net.state_dict(), **averaged}, strict=True)
        return self.ema_net

    def validate(self) -> None:
        """Fixed-σ validation of the raw and EMA weights (EMA: σ_rel = ema_stds[0], else the fixed EMA)."""
        s, a = self.s, self.acc
        self.net.eval()
        raw = fixed_sigma_loss(self.net, self.val_x, s.val_sigmas, self.val_noise, self.val_labels)
        self.net.train()
        averaged = self._ema_params()
        ema = [math.nan] * len(raw)
        if averaged is not None:
            ema = fixed_sigma_loss(
                self._load_ema_net(averaged), self.val_x, s.val_sigmas, self.val_noise, self.val_labels
            )
        self.last_val = (float(np.mean(raw)), float(np.mean(ema)))
        row = {
            "step": self.step,
            "nimg": self.nimg,
            "lr": self.lr,
            "train_loss": a["loss"] / a["loss_n"] if a["loss_n"] else math.nan,
            "grad_norm": a["grad"] / a["grad_n"] if a["grad_n"] else math.nan,
            "val_raw": self.last_val[0],
            "val_ema": self.last_val[1],
            "samples_per_s": a["images"] / a["time"] if a["time"] > 0 else math.nan,
            "nonfinite_steps": self.nonfinite,
        }
        for v, r, e in zip(s.val_sigmas, raw, ema, strict=True):
            row[f"val_raw_sigma{v:g}"], row[f"val_ema_sigma{v:g}"] = r, e
        if self.val_control is not None:
            row.update(self._validate_conditioned(averaged))
        if self.metrics is not None:
            self.metrics.write(row)
        self.last_val_nimg = self.nimg
        self.acc = self._empty_acc()

    def _validate_conditioned(self, averaged: dict | None) -> dict[str, float]:
        """The fixed-σ loss of an amortized model given fixed observation sets of its template (mean over σ)."""
        s = self.s
        self.net.eval()
        raw = fixed_sigma_loss(self.net, self.val_x, s.val_sigmas, self.val_noise, self.val_labels,
                               control=self.val_control)
        self.net.train()
        ema = [math.nan]
        if averaged is not None:
            ema = fixed_sigma_loss(self._load_ema_net(averaged), self.val_x, s.val_sigmas, self.val_noise,
                                   self.val_labels, control=self.val_control)
        return {"val_raw_cond": float(np.mean(raw)), "val_ema_cond": float(np.mean(ema))}

    def snapshot(self) -> None:
        if self.pema and self.last_snapshot_nimg != self.nimg and self.ranks.main:
            save_snapshots(self.run_dir, self.net, self.pema, self.nimg, self.meta)
            self.last_snapshot_nimg = self.nimg

    def write_models(self) -> list[Path]:
        out = [
            save_model(
                self.run_dir / "model.safetensors", self.net, {**self.meta, "nimg": self.nimg, "ema": {"kind": "none"}}
            )
        ]
        if self.pema:
            for k, (std, gamma) in enumerate(zip(self.pema.stds, self.pema.gammas, strict=True)):
                net = self._load_ema_net(self.pema.averaged(k))
                meta = {**self.meta, "nimg": self.nimg, "ema": {"kind": "power", "std": std, "gamma": gamma}}
                out.append(save_model(self.run_dir / ema_filename(std), net, meta))
        if self.fema:
            net = self._load_ema_net(self.fema.averaged())
            meta = {**self.meta, "nimg": self.nimg, "ema": {"kind": "fixed", "decay": self.fema.decay}}
            out.append(save_model(self.run_dir / f"ema-fixed-{self.fema.decay:g}.safetensors", net, meta))
        return out

    def run(self) -> dict:
        """Train to ``duration_nimg``, then validate, snapshot, checkpoint and write the model files."""
        s, B = self.s, self.s.batch_size
        start, start_nimg, smooth, speed = time.perf_counter(), self.nimg, math.nan, math.nan
        step_time = 0.0
        try:
            with self.report.progress("training", total=s.duration_nimg, unit="img") as bar:
                bar.update(completed=self.nimg)
                while self.nimg < s.duration_nimg:
                    before, t0 = self.nimg, time.perf_counter()
                    loss, grad_norm = self.train_step()
                    dt = time.perf_counter() - t0
                    step_time += dt
                    a = self.acc
                    a["time"], a["images"] = a["time"] + dt, a["images"] + B
                    if math.isfinite(loss):
                        a["loss"], a["loss_n"] = a["loss"] + loss, a["loss_n"] + 1
                        smooth = loss if math.isnan(smooth) else 0.95 * smooth + 0.05 * loss
                    if math.isfinite(grad_norm):
                        a["grad"], a["grad_n"] = a["grad"] + grad_norm, a["grad_n"] + 1
                    if self.nimg // s.val_every_nimg > before // s.val_every_nimg and self.ranks.main:
                        self.validate()
                    if self.nimg // s.ema_snapshot_every_nimg > before // s.ema_snapshot_every_nimg:
                        self.snapshot()
                    if self.nimg // s.checkpoint_every_nimg > before // s.checkpoint_every_nimg:
                        self.save_checkpoint()
                    speed = B / dt if math.isnan(speed) else 0.9 * speed + 0.1 * B / dt
                    bar.advance(B, loss=smooth, samples_per_s=speed)
        except KeyboardInterrupt:
            path = self.save_checkpoint()
            self.report.warn(f"interrupted at {self.nimg} images; checkpoint saved to {path}; run again to resume")
            raise
        if not same_across(self.net, self.ranks, self.device):
            raise ModelError("the training processes ended with different weights; report this as a bug")
        outputs: list[Path] = []
        if self.ranks.main:
            if self.last_val_nimg != self.nimg:
                self.validate()
            self.snapshot()
            self.save_checkpoint()
            outputs = self.write_models()
        self.net.runner = None
        done = self.nimg - start_nimg
        return {
            "run_dir": self.run_dir,
            "nimg": self.nimg,
            "steps": self.step,
            "resumed_from_nimg": self.resumed_from,
            "wall_s": time.perf_counter() - start,
            "samples_per_s": done / step_time if step_time else math.nan,
            "train_loss": smooth,
            "val_loss_raw": self.last_val[0],
            "val_loss_ema": self.last_val[1],
            "nonfinite_steps": self.nonfinite,
            "device": str(self.device),
            "amp": self.amp,
            "compiled": self.runner.active,
            "processes": self.ranks.world_size,
            "rank": self.ranks.rank,
            "outputs": outputs,
        }
