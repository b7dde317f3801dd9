"""Spectrum of the embeddings: RankMe (Garrido et al. 2023, eq. 1), an effective rank."""

from __future__ import annotations

import numpy as np
import torch


def rankme(z, eps: float = 1e-7) -> float:
    """exp(entropy) of the singular values normalised to sum 1 (plus ε), computed in float64."""
    s = torch.linalg.svdvals(torch.as_tensor(np.asarray(z), dtype=torch.float64))
    p = s / s.sum() + eps
    return float(torch.exp(-(p * p.log()).sum()))
