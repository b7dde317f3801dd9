"""Claim 4 of Li et al. 2021 measured: along an SSL-HSIC training run, InfoNCE and SSL-HSIC's objective,
evaluated on the same fixed batches of views, move together.

The paper's analytical statement (abstract): InfoNCE's bound "implicitly approximates SSL-HSIC (with a
slightly different regularizer)". It is an approximation, not an inequality between the two numbers,
so what is measured here is their correlation across checkpoints (Pearson and Spearman), for the
objective and for its dependence term −HSIC(Z, Y) alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from ..config import AugmentConfig
from ..data.augment import views
from ..methods.contrastive import simclr
from ..methods.hsic import ssl_hsic

COLUMNS = ["method", "epoch", "infonce", "ssl_hsic", "hsic_zy", "sqrt_hsic_zz", "pearson_ssl_hsic",
           "spearman_ssl_hsic", "pearson_neg_hsic_zy", "spearman_neg_hsic_zy"]


def eval_batches(images: np.ndarray, cfg: AugmentConfig, batch_size: int, num_batches: int,
                 seed: int) -> list[list[torch.Tensor]]:
    """Fixed pairs of augmented views of the first `num_batches`·`batch_size` images (seeded, CPU)."""
    need = batch_size * num_batches
    if len(images) < need:
        raise ValueError(f"eval batches: {num_batches} batches of {batch_size} need {need} images, the split has "
                         f"{len(images)}; lower batch_size or num_batches")
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.ascontiguousarray(images[:need]))
    return [views(x[i * batch_size:(i + 1) * batch_size], cfg, 2, gen) for i in range(num_batches)]


@torch.no_grad()
def objectives(checkpoint: str | Path, batches: Sequence[Sequence[torch.Tensor]], *, temperature: float,
               gamma: float, scale: float) -> dict[str, float]:
    """Mean over `batches` of InfoNCE (NT-Xent, `simclr`) and of SSL-HSIC (exact IMQ kernel, the two
    online projections), with its terms HSIC(Z, Y) and √HSIC(Z, Z), for the encoder in `checkpoint`."""
    from ..checkpoint import load_backbone, load_projector

    backbone, projector = load_backbone(checkpoint), load_projector(checkpoint)
    sums = {"infonce": 0.0, "ssl_hsic": 0.0, "hsic_zy": 0.0, "sqrt_hsic_zz": 0.0}
    for v in batches:
        z = [projector(backbone(x)) for x in v]
        dep = -float(ssl_hsic(z, gamma=0.0, kernel="imq", scale=scale, estimator="exact"))
        reg = float(ssl_hsic(z, gamma=1.0, kernel="imq", scale=scale, estimator="exact")) + dep
        sums["infonce"] += float(simclr(z[0], z[1], temperature=temperature))
        sums["ssl_hsic"] += float(ssl_hsic(z, gamma=gamma, kernel="imq", scale=scale, estimator="exact"))
        sums["hsic_zy"] += dep
        sums["sqrt_hsic_zz"] += reg
    return {k: v / len(batches) for k, v in sums.items()}


def correlations(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Pearson and Spearman correlation across rows of InfoNCE with the SSL-HSIC objective and with −HSIC(Z, Y)."""
    nce = np.array([r["infonce"] for r in rows])
    out = {}
    for key, other in (("ssl_hsic", [r["ssl_hsic"] for r in rows]), ("neg_hsic_zy", [-r["hsic_zy"] for r in rows])):
        y = np.array(other)
        if len(rows) < 3 or np.ptp(nce) == 0 or np.ptp(y) == 0:
            out[f"pearson_{key}"] = out[f"spearman_{key}"] = float("nan")
            continue
        out[f"pearson_{key}"] = float(stats.pearsonr(nce, y)[0])
        out[f"spearman_{key}"] = float(stats.spearmanr(nce, y)[0])
    return out
