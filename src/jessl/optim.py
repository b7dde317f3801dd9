"""Optimisers, their parameter groups, and the warm-up + cosine learning-rate schedule shared by every method."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

# Normalisation layers, decided by type (their weight is a scale, not a feature map): every BatchNorm /
# InstanceNorm (`_NormBase`), LayerNorm, GroupNorm, RMSNorm.
NORM_TYPES: tuple[type[nn.Module], ...] = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)


def param_groups(model: nn.Module, weight_decay: float, exclude_bias_n_norm: bool) -> list[dict[str, Any]]:
    """The parameter groups of every optimiser: with `exclude_bias_n_norm`, biases (a module's `bias`) and
    all parameters of normalisation layers (`NORM_TYPES`) form a second group with weight decay 0 and
    `lars_adapt: False` (no LARS trust ratio), as in the official BYOL / Barlow Twins / VICReg setups.
    Empty groups are left out; a parameter shared by several modules is listed once."""
    excluded: set[int] = set()
    if exclude_bias_n_norm:
        for module in model.modules():
            for name, p in module.named_parameters(recurse=False):
                if isinstance(module, NORM_TYPES) or name == "bias":
                    excluded.add(id(p))
    params = list(model.parameters())  # deduplicated by torch
    groups = [
        {"params": [p for p in params if id(p) not in excluded], "weight_decay": weight_decay, "lars_adapt": True},
        {"params": [p for p in params if id(p) in excluded], "weight_decay": 0.0, "lars_adapt": False},
    ]
    return [g for g in groups if g["params"]]


class LARS(torch.optim.Optimizer):
    """SGD with momentum and a layer-wise trust ratio (You et al. 2017, eq. 6), in the form of the
    official Barlow Twins / VICReg code: d = g + λw; in a group with `lars_adapt`, d ← d·η‖w‖/‖d‖
    (ratio 1 when either norm is 0); μ ← m·μ + d; w ← w − lr·μ.

    `clip_lr` (LARC, as in solo-learn): the ratio becomes min(ratio/lr, 1), so a layer's effective rate
    lr·ratio never exceeds lr. Which parameters skip decay and ratio is the groups' business
    (`param_groups`), not the optimiser's.
    """

    def __init__(self, params, lr: float, weight_decay: float = 0.0, momentum: float = 0.9, eta: float = 1e-3,
                 clip_lr: bool = False):
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, eta=eta, clip_lr=clip_lr,
                        lars_adapt=True)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102
        """One step per parameter group with `torch._foreach_*` (a few kernels per group, not per
        parameter); the trust ratios of a group are computed together from `_foreach_norm`. Momentum
        buffers are allocated once, at a parameter's first step."""
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            lr, grads = group["lr"], [p.grad for p in params]
            d = torch._foreach_add(grads, params, alpha=group["weight_decay"]) if group["weight_decay"] else grads
            if group["lars_adapt"]:
                w_norm = torch.stack(torch._foreach_norm(params))
                d_norm = torch.stack(torch._foreach_norm(d))
                ratio = torch.where((w_norm > 0) & (d_norm > 0), group["eta"] * w_norm / d_norm,
                                    torch.ones_like(w_norm))
                if group["clip_lr"] and lr > 0:
                    ratio = torch.clamp(ratio / lr, max=1.0)
                d = torch._foreach_mul(d, list(ratio.unbind()))
            bufs = []
            for p in params:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                bufs.append(state["momentum_buffer"])
            torch._foreach_mul_(bufs, group["momentum"])
            torch._foreach_add_(bufs, d)
            torch._foreach_add_(params, bufs, alpha=-lr)


OPTIMISERS = ("adamw", "sgd", "lars")


def build_optimizer(model: nn.Module, *, name: str, lr: float, weight_decay: float, momentum: float,
                    eta: float = 1e-3, clip_lr: bool = False,
                    exclude_bias_n_norm: bool = False) -> torch.optim.Optimizer:
    """The optimiser `name` over `param_groups(model, …)` (the same grouping for every optimiser)."""
    if name not in OPTIMISERS:
        raise ValueError(f"unknown optimiser {name!r}; allowed: {', '.join(OPTIMISERS)}")
    groups = param_groups(model, weight_decay, exclude_bias_n_norm)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, weight_decay=weight_decay, momentum=momentum)
    return LARS(groups, lr=lr, weight_decay=weight_decay, momentum=momentum, eta=eta, clip_lr=clip_lr)


def lr_at(step: int, *, total: int, warmup: int, peak: float, start: float = 0.0, end: float = 0.0) -> float:
    """The rate at optimisation `step` of `total`: over the first `warmup` steps it rises linearly from
    `start` and reaches `peak` at the last warm-up step (start + (peak − start)(step + 1)/warmup), then
    decays by a half cosine from `peak` to `end` at `total` (Loshchilov & Hutter 2017), held beyond."""
    if step < warmup:
        return start + (peak - start) * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return end + (peak - end) * 0.5 * (1 + math.cos(math.pi * progress))
