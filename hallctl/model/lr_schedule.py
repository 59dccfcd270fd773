"""EDM2's inverse-square-root learning-rate schedule with linear warm-up (docs/model.md §4).

    α(t) = α_ref · min(t / t_ramp, 1) / √(max(t / t_ref, 1))

t is counted in training images (edm2's ``cur_nimg``), so changing the batch size does not rescale
the schedule. Reference: EDM2 (arXiv:2312.02696), Sec. 3 and App. B.
"""

from __future__ import annotations

import math

__all__ = ["learning_rate"]


def learning_rate(nimg: float, *, lr_ref: float, lr_ref_nimg: float, lr_rampup_nimg: float) -> float:
    """α(t) at t = ``nimg`` images (count the current batch, so the first step has α > 0).

    Args:
        nimg: t, images seen including the batch about to be applied.
        lr_ref: α_ref, the plateau learning rate.
        lr_ref_nimg: t_ref; α decays as 1/√t beyond it (0 = constant).
        lr_rampup_nimg: t_ramp, length of the linear warm-up (0 = none).
    """
    alpha = lr_ref
    if lr_ref_nimg > 0:
        alpha /= math.sqrt(max(nimg / lr_ref_nimg, 1.0))
    if lr_rampup_nimg > 0:
        alpha *= min(nimg / lr_rampup_nimg, 1.0)
    return alpha
