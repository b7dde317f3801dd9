"""Frozen features of a `.beton`: a backbone's pooled output, or the raw pixels (baseline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data.augment import to_float
from ..data.beton import read_all


@torch.no_grad()
def extract(backbone: nn.Module | None, beton: str | Path, batch_size: int = 512):
    """(features N×F float32, labels N) in file order; `backbone=None` gives the flattened pixels."""
    images, labels = read_all(beton)
    feats = []
    for start in range(0, len(images), batch_size):
        x = to_float(torch.from_numpy(images[start : start + batch_size]))
        f = x.flatten(1) if backbone is None else backbone(x)
        feats.append(f.float().numpy())
    return np.concatenate(feats), labels
