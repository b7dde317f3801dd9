"""FroSSL (Skean et al. 2024): Frobenius-norm entropy regulariser + multiview invariance."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .dist import full_precision, gather
from .hptypes import NonNegative


@full_precision
def frossl(views: Sequence[torch.Tensor], invariance_weight: NonNegative = 1.0) -> torch.Tensor:
    """FroSSL, the official multiview definition (Skean et al. 2024, eqs. 3 and 6).

    Ẑ_v = Z_v with each dimension L2-normalised over the batch (dim 0, no centring),
    C̃_v = C_v / tr(C_v) with C_v the smaller of ẐᵀẐ and ẐẐᵀ (trace detached, as in the
    official code), loss = Σ_v [log‖C̃_v‖_F² + w·V·D·MSE(Ẑ_v, mean_v Ẑ_v)], any V ≥ 2.
    Views are gathered across processes (with gradients), so every process computes the
    full-batch loss.
    """
    if len(views) < 2:
        raise ValueError(f"frossl needs at least 2 views, got {len(views)}")
    zs = [F.normalize(gather(z.float()), dim=0) for z in views]
    n, d = zs[0].shape
    mean = torch.stack(zs).mean(dim=0)
    loss = zs[0].new_zeros(())
    for z in zs:
        c = z.T @ z if n > d else z @ z.T
        c = c / torch.trace(c).detach()
        loss = loss + torch.log(c.square().sum()) + invariance_weight * len(zs) * d * F.mse_loss(z, mean)
    return loss
