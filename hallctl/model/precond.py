"""EDM preconditioning around the U-Net, and EDM2's learned uncertainty head (docs/model.md §2).

    D_θ(y; σ) = c_skip(σ) · y + c_out(σ) · F_θ(c_in(σ) · y; c_noise(σ))

**Constant rows.** A scalar row holds one value s repeated at all W points (docs/model.md §1.3), so its
noisy version y_r = s + σε carries s only through its mean ȳ_r = s + (σ/√W) ε̄; the deviations
from the mean are pure noise. Such a row enters the network as its mean, and its four functions
are evaluated at its effective noise level σ_r = σ/√W instead of σ:

    D_r = c_skip(σ_r) · ȳ_r + c_out(σ_r) · mean_z F_r,      input c_in(σ_r) · ȳ_r,

with the loss weight λ(σ_r) = 1/c_out(σ_r)² on that row, so the network's target keeps unit
variance there too. At initialization (F = 0) D_r = c_skip(σ_r) ȳ_r is already the best
estimate of a lone Gaussian scalar, and D_r follows ȳ_r with slope ≈ 1 until σ ≈ √W σ_d, as
the exact denoiser does; with the per-σ functions a small network would have to learn that
averaging itself, and its Jacobian along the row (which guidance relies on, §8.2) stays too small.

References: Karras et al., "Elucidating the Design Space of Diffusion-Based Generative Models"
(EDM, arXiv:2206.00364), Table 1; EDM2 (arXiv:2312.02696), Sec. 5 / App. B (uncertainty u_φ(σ)).
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import Tensor, nn

from hallctl.model.layers import MPConv, MPFourier
from hallctl.model.unet import UNet

__all__ = ["Precond", "c_in", "c_noise", "c_out", "c_skip"]

LOGVAR_CHANNELS = 128


# EDM Table 1: the four preconditioning functions, σ_d = sigma_data.
def c_skip(sigma: Tensor, sigma_data: float) -> Tensor:
    """c_skip = σ_d² / (σ² + σ_d²)."""
    return sigma_data**2 / (sigma**2 + sigma_data**2)


def c_out(sigma: Tensor, sigma_data: float) -> Tensor:
    """c_out = σ σ_d / √(σ² + σ_d²)."""
    return sigma * sigma_data / (sigma**2 + sigma_data**2).sqrt()


def c_in(sigma: Tensor, sigma_data: float) -> Tensor:
    """c_in = 1 / √(σ² + σ_d²)."""
    return 1 / (sigma**2 + sigma_data**2).sqrt()


def c_noise(sigma: Tensor) -> Tensor:
    """c_noise = ¼ ln σ."""
    return sigma.log() / 4


class Precond(nn.Module):
    """The denoiser D_θ(y; σ) in float32 around a U-Net F_θ (possibly run under autocast).

    Attributes:
        unet: the raw network F_θ.
        sigma_data: σ_d, the standard deviation the data were normalized to.
        config: the ModelConfig it was built from (set by ``build_precond``).
        rows, length: C and W of one sample.
        amp_dtype: None (float32) or the autocast dtype for F_θ (e.g. torch.bfloat16).
        runner: None, or a callable standing in for ``unet`` in training mode (the trainer's
            compiled U-Net); not a submodule, so it never enters the state dict.
        data_covariance: the training data's covariance (``hallctl.model.moments``), saved with the
            model for guidance; not part of the state dict.
    """

    def __init__(self, unet: UNet, sigma_data: float, *, rows: int, length: int,
                 constant_rows: tuple[int, ...] = (),
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.unet = unet
        self.sigma_data = float(sigma_data)
        self.rows, self.length = rows, length
        self.constant_rows = tuple(sorted({int(r) for r in constant_rows}))
        mask = torch.zeros(rows, 1, dtype=torch.bool)
        mask[list(self.constant_rows)] = True
        # σ_r / σ per row: 1 for profiles, 1/√W for constant rows (not saved: it follows the config)
        self.register_buffer("constant_mask", mask, persistent=False)
        self.register_buffer("noise_factor", torch.where(mask, length**-0.5, 1.0), persistent=False)
        self.config = None
        self.amp_dtype: torch.dtype | None = None
        self.runner = None
        self.data_covariance = None  # hallctl.model.moments.DataCovariance of the training data, or None
        self.control_template = None  # hallctl.model.control.ControlTemplate of an amortized model, or None
        self.logvar_fourier = MPFourier(LOGVAR_CHANNELS, generator=generator)
        self.logvar_linear = MPConv(LOGVAR_CHANNELS, 1, None, generator=generator)

    def _sigma(self, sigma: Tensor | float, batch: int, device: torch.device) -> Tensor:
        sigma = torch.as_tensor(sigma, dtype=torch.float32, device=device).reshape(-1)
        return sigma.expand(batch) if sigma.numel() == 1 else sigma

    def row_sigma(self, sigma: Tensor) -> Tensor:
        """σ_r per example and row, shape (B, C, 1): σ, or σ/√W on constant rows."""
        return sigma.reshape(-1, 1, 1) * self.noise_factor

    def row_means(self, x: Tensor) -> Tensor:
        """x with every constant row replaced by its mean over z."""
        if not self.constant_rows:
            return x
        return torch.where(self.constant_mask, x.mean(dim=-1, keepdim=True), x)

    def loss_weight(self, sigma: Tensor) -> Tensor:
        """λ(σ_r) = 1/c_out(σ_r)² per example and row, shape (B, C, 1)."""
        s = self.row_sigma(sigma)
        return (s**2 + self.sigma_data**2) / (s * self.sigma_data) ** 2

    def forward(self, x: Tensor, sigma: Tensor | float, labels: Tensor | None = None,
                control: Tensor | None = None) -> Tensor:
        """D_θ(x; σ).

        Args:
            x: noisy samples y, (B, C, W).
            sigma: σ, a float, shape () or (B,).
            labels: (B, P) label vector ℓ (normalized like the data), or None.
            control: (B or 1, 3C, W) control signal of an amortized model (``hallctl.model.control``), or
                None (no observation: the prior).

        Returns:
            D (B, C, W) in float32.
        """
        x = self.row_means(x.float())
        sigma = self._sigma(sigma, x.shape[0], x.device)
        s = self.row_sigma(sigma) if self.constant_rows else sigma.reshape(-1, 1, 1)
        sd = self.sigma_data
        amp = self.amp_dtype
        ctx = torch.autocast(x.device.type, dtype=amp) if amp is not None else nullcontext()
        with ctx:
            unet = self.runner if (self.runner is not None and self.training) else self.unet
            F_x = unet(c_in(s, sd) * x, c_noise(sigma), labels, control) if control is not None else \
                unet(c_in(s, sd) * x, c_noise(sigma), labels)
        return c_skip(s, sd) * x + c_out(s, sd) * self.row_means(F_x.float())

    def logvar(self, sigma: Tensor | float) -> Tensor:
        """u_φ(σ) = MP-linear(MP-Fourier₁₂₈(c_noise)): the learned log-variance, shape (B,)."""
        sigma = torch.as_tensor(sigma, dtype=torch.float32, device=self.logvar_fourier.freqs.device)
        with torch.autocast(sigma.device.type, enabled=False):
            return self.logvar_linear(self.logvar_fourier(c_noise(sigma.reshape(-1)))).reshape(-1)

    def extra_repr(self) -> str:
        return (f"rows={self.rows}, length={self.length}, sigma_data={self.sigma_data}, "
                f"constant_rows={list(self.constant_rows)}")
