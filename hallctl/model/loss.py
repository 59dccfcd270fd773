"""The EDM training loss with EDM2's learned uncertainty weighting (docs/model.md §2).

    L(θ, φ) = E_{σ, x, ε} [ λ(σ) · mean_{c,w}(D_θ(x + σε; σ) − x)² / e^{u_φ(σ)} + u_φ(σ) ]

with ln σ ~ N(P_mean, P_std²) and λ(σ) = (σ² + σ_d²)/(σ σ_d)² (per row λ(σ_r), with σ_r = σ/√W on
the constant rows: ``Precond.loss_weight``). The optional derivative loss
(upstream hall_diffusion) replaces the mean squared error e² by
[e² + h (Δe)² + h² (Δ²e)²]/(1 + h + h²) with Δ the forward difference along z.

References: EDM (arXiv:2206.00364) Sec. 5 and Table 1; EDM2 (arXiv:2312.02696) Sec. 5 / App. B.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from hallctl.model.precond import Precond

__all__ = ["derivative_mse", "edm_loss", "fixed_sigma_loss", "lambda_weight", "sample_sigma"]


def lambda_weight(sigma: Tensor, sigma_data: float) -> Tensor:
    """λ(σ) = (σ² + σ_d²)/(σ σ_d)², the EDM loss weight (λ c_out² = 1)."""
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


def sample_sigma(batch: int, P_mean: float, P_std: float, *, generator: torch.Generator,
                 device: torch.device | str) -> Tensor:
    """σ per example with ln σ ~ N(P_mean, P_std²), shape (B,)."""
    return (torch.randn(batch, generator=generator, device=device) * P_std + P_mean).exp()


def derivative_mse(e: Tensor, h: float) -> Tensor:
    """Per-example [mean e² + h mean (Δe)² + h² mean (Δ²e)²]/(1 + h + h²) over (c, w); h = 0 → mean e²."""
    mse = e.square().mean(dim=(1, 2))
    if h == 0:
        return mse
    d1 = e.diff(dim=-1)
    d2 = d1.diff(dim=-1)
    extra = h * d1.square().mean(dim=(1, 2)) + h**2 * d2.square().mean(dim=(1, 2))
    return (mse + extra) / (1 + h + h**2)


def edm_loss(
    precond: Precond,
    x: Tensor,
    labels: Tensor | None = None,
    *,
    generator: torch.Generator,
    P_mean: float = -1.2,
    P_std: float = 1.2,
    uncertainty_weighting: bool = True,
    derivative_loss_weight: float = 0.0,
    label_dropout: float = 0.0,
    control: Tensor | None = None,
    rows: slice | None = None,
    forward: Any = None,
) -> tuple[Tensor, Tensor]:
    """One Monte-Carlo estimate of the training objective on a batch.

    Args:
        precond: the denoiser D_θ (in training mode).
        x: clean batch, (B, C, W), normalized to standard deviation σ_d.
        labels: (B, P) labels ℓ or None.
        generator: the source of σ, ε and the label-dropout mask (same device as ``x``).
        P_mean, P_std: the log-normal noise-level distribution.
        uncertainty_weighting: divide by e^{u_φ(σ)} and add u_φ(σ) (EDM2).
        derivative_loss_weight: h of the derivative loss; 0 = plain mean squared error.
        label_dropout: per-example probability of replacing ℓ by zeros.
        control: (B, 3C, W) control signals of an amortized model (its own dropout is in the draw), or None.
        rows: train on these rows of the batch only, after drawing σ, ε and the label mask for the whole
            batch (one rank of data-parallel training: the draws equal the single-process ones).
        forward: the callable that evaluates ``precond`` (its DistributedDataParallel wrapper), or None.

    Returns:
        (objective, lam_loss): the scalar to minimize (batch mean; may be negative with
        uncertainty weighting) and the detached per-example unweighted λ-loss
        mean(λ(σ_r)·(D − x)²), shape (B,), for logging.
    """
    B = x.shape[0]
    sigma = sample_sigma(B, P_mean, P_std, generator=generator, device=x.device)
    noise = torch.randn(x.shape, generator=generator, device=x.device)
    if labels is not None and label_dropout > 0:
        keep = torch.rand(B, 1, generator=generator, device=x.device) >= label_dropout
        labels = labels * keep
    if rows is not None:
        x, sigma, noise = x[rows], sigma[rows], noise[rows]
        labels = None if labels is None else labels[rows]
        control = None if control is None else control[rows]
    noisy = x + sigma.reshape(-1, 1, 1) * noise
    net = forward or precond
    D = net(noisy, sigma, labels) if control is None else net(noisy, sigma, labels, control)
    e = (D - x) * precond.loss_weight(sigma).sqrt()  # λ(σ_r) per row (= λ(σ) without constant rows)
    per_example = derivative_mse(e, derivative_loss_weight)
    lam_loss = per_example if derivative_loss_weight == 0 else e.square().mean(dim=(1, 2))
    if uncertainty_weighting:
        u = precond.logvar(sigma)
        per_example = per_example / u.exp() + u
    return per_example.mean(), lam_loss.detach()


@torch.no_grad()
def fixed_sigma_loss(
    precond: Precond,
    x: Tensor,
    sigmas: tuple[float, ...],
    noise: Tensor,
    labels: Tensor | None = None,
    batch_size: int = 256,
    control: Tensor | None = None,
) -> list[float]:
    """Unweighted λ-loss at each fixed σ with fixed noise, for comparable validation curves.

    Args:
        precond: the denoiser (evaluated as given; put it in eval mode first).
        x: validation samples, (N, C, W).
        sigmas: the σ grid (docs/model.md §6: {0.01, 0.05, 0.2, 0.5, 1, 2, 5}).
        noise: fixed ε, (len(sigmas), N, C, W).
        labels: (N, P) or None.
        batch_size: evaluation chunk size.
        control: (N, 3C, W) fixed control signals of an amortized model, or None.

    Returns:
        mean over examples of λ(σ)·mean(D − x)², one value per σ.
    """
    out = []
    for k, s in enumerate(sigmas):
        total = torch.zeros((), dtype=torch.float64, device=x.device)
        for i in range(0, x.shape[0], batch_size):
            xb = x[i : i + batch_size]
            lb = None if labels is None else labels[i : i + batch_size]
            noisy = xb + s * noise[k, i : i + batch_size]
            D = precond(noisy, s, lb) if control is None else precond(noisy, s, lb, control[i : i + batch_size])
            lam = precond.loss_weight(torch.full((xb.shape[0],), s, device=x.device))
            total += ((D - xb).square() * lam).mean(dim=(1, 2)).sum().double()
        out.append(float(total.cpu() / x.shape[0]))
    return out
