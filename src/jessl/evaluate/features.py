"""Frozen features of a `.beton`: a backbone's pooled output, or the raw pixels (baseline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data.augment import to_float
from ..data.beton import BetonLoader


@torch.no_grad()
def extract(backbone: nn.Module | None, beton: str | Path, batch_size: int = 512, workers: int = 1):
    """(features N×F float32, labels N) in file order; `backbone=None` gives the flattened pixels."""
    feats, labels = [], []
    for images, y in BetonLoader(beton, batch_size, workers=workers):
        x = to_float(images)
        f = x.flatten(1) if backbone is None else backbone(x)
        feats.append(f.float().numpy().copy())
        labels.append(y.numpy().copy())
    return np.concatenate(feats), np.concatenate(labels)
