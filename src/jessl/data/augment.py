"""Batched SSL augmentations in torch, on whatever device trains.

Random parameters are drawn on the CPU from an explicit, seeded `torch.Generator` and then
moved to the device, so the same seed gives the same views on every machine (FFCV's own random
crops ignore the seed).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..config import AugmentConfig

MEAN, STD = 0.5, 0.25


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 N×H×W×3 → normalised float N×3×H×W (the evaluation transform)."""
    return (images.permute(0, 3, 1, 2).float() / 255.0 - MEAN) / STD


def _uniform(gen: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen)


def augment(images: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """One random view of each image: resized crop, optional flip, brightness/contrast, noise."""
    n = images.shape[0]
    device = images.device
    x = images.permute(0, 3, 1, 2).float() / 255.0

    area = _uniform(gen, n, *cfg.crop_scale)
    log_ratio = _uniform(gen, n, math.log(cfg.crop_ratio[0]), math.log(cfg.crop_ratio[1]))
    ratio = log_ratio.exp()
    w = (area * ratio).sqrt().clamp(max=1.0)
    h = (area / ratio).sqrt().clamp(max=1.0)
    cx = (2 * torch.rand(n, generator=gen) - 1) * (1 - w)
    cy = (2 * torch.rand(n, generator=gen) - 1) * (1 - h)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0) if cfg.flip else torch.ones(n)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = w * flip, cx
    theta[:, 1, 1], theta[:, 1, 2] = h, cy
    grid = F.affine_grid(theta.to(device), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    bright = _uniform(gen, n, 1 - cfg.brightness, 1 + cfg.brightness).to(device).view(n, 1, 1, 1)
    contrast = _uniform(gen, n, 1 - cfg.contrast, 1 + cfg.contrast).to(device).view(n, 1, 1, 1)
    x = x * bright
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * contrast + mean
    if cfg.noise_std > 0:
        x = x + cfg.noise_std * torch.randn(x.shape, generator=gen).to(device)
    return (x.clamp(0, 1) - MEAN) / STD


def views(images: torch.Tensor, cfg: AugmentConfig, num_views: int, gen: torch.Generator) -> list[torch.Tensor]:
    """`num_views` independent augmentations of the same batch."""
    return [augment(images, cfg, gen) for _ in range(num_views)]
