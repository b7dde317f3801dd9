"""The networks a method trains: the online encoder and, for BYOL-style methods, its EMA target."""

from __future__ import annotations

import copy

import torch
from torch import nn

from .heads import mlp
from .resnet import build_backbone


class Encoder(nn.Module):
    """Backbone → projector (→ predictor, online network of target methods only)."""

    def __init__(self, backbone: str, projector: list[int], predictor_hidden: int | None = None,
                 stem: str = "cifar", projector_bn: bool = True) -> None:
        super().__init__()
        self.backbone = build_backbone(backbone, stem)
        self.projector = mlp(self.backbone.out_dim, projector, bn=projector_bn)
        self.predictor = mlp(projector[-1], [predictor_hidden, projector[-1]]) if predictor_hidden else None

    def forward(self, x: torch.Tensor, features: bool = False):
        """Projection z, or (z, predictor(z)) when there is a predictor (one forward, as DDP requires);
        with `features`, (that, backbone features h) — what the online probe trains on, taken from the
        output rather than a hook, so the compiled graph has no side effects."""
        h = self.backbone(x)
        z = self.projector(h)
        out = z if self.predictor is None else (z, self.predictor(z))
        return (out, h) if features else out


class EmaTarget(nn.Module):
    """The target network of BYOL-style methods: an EMA of the online backbone + projector (no predictor).

    ξ ← m·ξ + (1−m)·θ after every step, with m following BYOL's cosine schedule from `base` to 1
    (Grill et al. 2020, §3.2); BatchNorm statistics are copied. Never receives gradients.
    """

    def __init__(self, online: Encoder, base: float) -> None:
        super().__init__()
        self.backbone = copy.deepcopy(online.backbone).requires_grad_(False)
        self.projector = copy.deepcopy(online.projector).requires_grad_(False)
        self.base = base

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.backbone(x))

    @torch.no_grad()
    def step(self, online: Encoder, step: int, total_steps: int) -> None:
        from ..methods.byol import ema_momentum, ema_update

        m = ema_momentum(step, total_steps, self.base)
        ema_update(self.backbone, online.backbone, m)
        ema_update(self.projector, online.projector, m)
