"""BYOL (Grill et al. 2020): regression of an online prediction onto an EMA target projection."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .dist import full_precision


def _unit(x: torch.Tensor) -> torch.Tensor:
    """x·rsqrt(max(‖x‖², 1e-12)), the official L2 normalisation."""
    return x * torch.rsqrt(x.square().sum(dim=1, keepdim=True).clamp_min(1e-12))


@full_precision
def byol(p: Sequence[torch.Tensor], t: Sequence[torch.Tensor]) -> torch.Tensor:
    """BYOL loss (Grill et al. 2020, eqs. 2–4), official scale.

    Σ_{i≠j} mean_batch ‖p̂_i − t̂_j‖² = Σ_{i≠j} mean_batch (2 − 2cos(p_i, t_j)): the two
    directions are summed, not averaged (range [0, 8] for two views). The targets are
    detached here as well, so only the online predictions receive gradients.
    """
    ps = [_unit(x.float()) for x in p]
    ts = [_unit(x.detach().float()) for x in t]
    loss = ps[0].new_zeros(())
    for i, pi in enumerate(ps):
        for j, tj in enumerate(ts):
            if i != j:
                loss = loss + (2.0 - 2.0 * (pi * tj).sum(dim=1)).mean()
    return loss


def ema_momentum(step: int, total_steps: int, base: float) -> float:
    """Target EMA rate τ_k = 1 − (1 − τ_base)(cos(πk/K) + 1)/2, k clamped at K (Grill et al. §3.2)."""
    k = min(step, total_steps)
    return 1.0 - (1.0 - base) * (math.cos(math.pi * k / total_steps) + 1.0) / 2.0


@torch.no_grad()
def ema_update(target: torch.nn.Module, online: torch.nn.Module, momentum: float) -> None:
    """ξ ← m·ξ + (1−m)·θ for the parameters; buffers (e.g. BatchNorm statistics) are copied. One
    `torch._foreach_*` call each (not a kernel per tensor)."""
    xi, theta = list(target.parameters()), [p.detach() for p in online.parameters()]
    bt, bo = list(target.buffers()), list(online.buffers())
    if len(xi) != len(theta) or len(bt) != len(bo):
        raise ValueError("ema_update: the target and the online network differ in structure")
    if xi:
        torch._foreach_lerp_(xi, theta, 1.0 - momentum)
    if bt:
        torch._foreach_copy_(bt, bo)
