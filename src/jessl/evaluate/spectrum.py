"""Spectrum of embeddings: covariance eigenvalues, RankMe (Garrido et al. 2023, eq. 1), collapsed dimensions."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

COLLAPSE_RATIO = 1e-6  # an eigenvalue below this fraction of the largest counts as a collapsed dimension


def rankme(z, eps: float = 1e-7) -> float:
    """exp(entropy) of the singular values normalised to sum 1 (plus ε), computed in float64."""
    s = torch.linalg.svdvals(torch.as_tensor(np.asarray(z), dtype=torch.float64))
    p = s / s.sum() + eps
    return float(torch.exp(-(p * p.log()).sum()))


def eigenvalues(z) -> np.ndarray:
    """Eigenvalues of the (unbiased) covariance of the rows of `z`, largest first, float64, ≥ 0."""
    x = np.asarray(z, dtype=np.float64)
    x = x - x.mean(axis=0)
    cov = x.T @ x / max(len(x) - 1, 1)
    return np.clip(np.linalg.eigvalsh(cov)[::-1], 0.0, None)


def collapsed_dims(eigs: np.ndarray, ratio: float = COLLAPSE_RATIO) -> int:
    """How many dimensions carry (almost) no variance: eigenvalue < `ratio` × the largest."""
    eigs = np.asarray(eigs)
    if len(eigs) == 0 or eigs[0] <= 0:
        return int(len(eigs))
    return int((eigs < ratio * eigs[0]).sum())


def summary(z) -> dict[str, Any]:
    """Eigenvalues, RankMe and collapsed-dimension count of one embedding matrix (N × D)."""
    eigs = eigenvalues(z)
    return {"dim": int(np.asarray(z).shape[1]), "rankme": round(rankme(z), 4),
            "collapsed": collapsed_dims(eigs), "eigenvalues": [float(f"{e:.6g}") for e in eigs]}
