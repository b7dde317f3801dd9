"""Claim 4 of Li et al. 2021 measured: along an SSL-HSIC training run, InfoNCE and SSL-HSIC's objective,
evaluated on the same fixed batches of views, move together.

The paper's analytical statement (abstract): InfoNCE's bound "implicitly approximates SSL-HSIC (with a
slightly different regularizer)". It is an approximation, not an inequality between the two numbers:
- `infonce_expansion` computes the approximation itself: the second-order (cumulant) expansion of InfoNCE's
  log-sum-exp, log(2N−1) − [s⁺ − mean s] + ½ var s, whose bracket is HSIC(Z, Y) of the kernel ẑᵀẑ'/τ (the
  identity-label dependence) and whose variance term is the "slightly different regulariser" (INFERENCE: the
  paper's own derivation was not read; this is the expansion its abstract describes);
- `objectives` scores every checkpoint on the objective the run trained (a run with a target: its online
  predictions and EMA target projections, the official hiddens) and on the same batches with the second
  view's images shuffled (`null`: the identity dependence removed, the training trend kept);
- `correlations` across checkpoints, true pairs and shuffled ones, so "moves together" is measured against
  two curves that merely fall together.
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

COLUMNS = ["method", "seed", "epoch", "infonce", "infonce_approx", "approx_dependence", "approx_variance",
           "ssl_hsic", "hsic_zy", "sqrt_hsic_zz", "ssl_hsic_null", "pearson_ssl_hsic", "spearman_ssl_hsic",
           "pearson_neg_hsic_zy", "spearman_neg_hsic_zy", "pearson_ssl_hsic_null", "pearson_approx"]


def infonce_expansion(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> dict[str, float]:
    """InfoNCE (NT-Xent over the 2N anchors, as `methods.contrastive.simclr`) and its second-order expansion.

    With s_ak = ẑ_aᵀẑ_k/τ over the 2N−1 others k ≠ a and p(a) the positive:
    ℓ(a) = −s_{a,p(a)} + log Σ_k exp s_ak = log(2N−1) − [s_{a,p(a)} − mean_k s_ak] + log mean_k exp(s_ak − mean_k s_ak)
    ≈ log(2N−1) − [s_{a,p(a)} − mean_k s_ak] + ½ var_k s_ak (exact when every s_ak is equal; error O(τ⁻³)).
    Returns the mean over anchors of InfoNCE, the approximation, the dependence term (the bracket) and the
    variance term (½ var)."""
    u = torch.nn.functional.normalize(torch.cat([z1, z2]).double(), dim=1)
    n2 = u.shape[0]
    s = u @ u.T / temperature
    off = ~torch.eye(n2, dtype=torch.bool)
    others = s[off].view(n2, n2 - 1)
    pos = s[torch.arange(n2), (torch.arange(n2) + n2 // 2) % n2]
    exact = (torch.logsumexp(others, dim=1) - pos).mean()
    dependence = (pos - others.mean(1)).mean()
    variance = 0.5 * others.var(1, unbiased=False).mean()
    return {"infonce": float(exact), "infonce_approx": float(np.log(n2 - 1) - dependence + variance),
            "approx_dependence": float(dependence), "approx_variance": float(variance)}


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


def derangement(n: int, seed: int) -> torch.Tensor:
    """A seeded permutation of range(n) with no fixed point (a cyclic shift of a random order)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    out = torch.empty(n, dtype=torch.long)
    out[order] = order.roll(1)
    return out


@torch.no_grad()
def objectives(checkpoint: str | Path, batches: Sequence[Sequence[torch.Tensor]], *, temperature: float,
               gamma: float, scale: float, null_seed: int = 0) -> dict[str, float]:
    """Mean over `batches` of InfoNCE (`simclr`) with its expansion (`infonce_expansion`) and of SSL-HSIC (exact
    IMQ kernel) with its terms HSIC(Z, Y) and √HSIC(Z, Z), on the hiddens the run trained: the two online
    projections, or with a target (`checkpoint.load_heads`) the online predictions p and the target projections
    t ([p1, p2, t2, t1]; InfoNCE on p1, p2). `ssl_hsic_null`: SSL-HSIC with every hidden but the first taken
    from another image."""
    from ..checkpoint import load_backbone, load_heads, load_projector

    backbone, projector, heads = load_backbone(checkpoint), load_projector(checkpoint), load_heads(checkpoint)
    sums: dict[str, float] = {}

    def add(key: str, value: float) -> None:
        sums[key] = sums.get(key, 0.0) + value

    def hsic(online: list[torch.Tensor], target: list[torch.Tensor] | None, g: float) -> float:
        return float(ssl_hsic(online, target, gamma=g, kernel="imq", scale=scale, estimator="exact"))

    for i, v in enumerate(batches):
        z = [projector(backbone(x)) for x in v]
        online, target = (z, None) if heads is None else ([heads[0](zi) for zi in z], [heads[1](x) for x in v])
        dep = -hsic(online, target, 0.0)
        add("infonce", float(simclr(online[0], online[1], temperature=temperature)))
        for key, value in infonce_expansion(online[0], online[1], temperature).items():
            if key != "infonce":
                add(key, value)
        add("ssl_hsic", hsic(online, target, gamma))
        add("hsic_zy", dep)
        add("sqrt_hsic_zz", hsic(online, target, 1.0) + dep)
        # every hidden but the first from other images (independent derangements: [p1, p2∘π1, t2∘π2, t1∘π3])
        d = [derangement(len(v[1]), 3 * (null_seed + i) + j) for j in range(3)]
        add("ssl_hsic_null", hsic([online[0], online[1][d[0]]], None if target is None else
                                  [target[0][d[2]], target[1][d[1]]], gamma))
    return {k: val / len(batches) for k, val in sums.items()}


def correlations(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Correlations across rows (checkpoints) of InfoNCE with the SSL-HSIC objective and with −HSIC(Z, Y)
    (Pearson and Spearman), and Pearson with the shuffled-pair objective (`null`) and with the expansion.
    NaN when fewer than 3 rows or a series is flat."""
    nce = np.array([r["infonce"] for r in rows])
    out = {}
    series = {"ssl_hsic": ("ssl_hsic", 1), "neg_hsic_zy": ("hsic_zy", -1), "ssl_hsic_null": ("ssl_hsic_null", 1),
              "approx": ("infonce_approx", 1)}
    for key, (col, sign) in series.items():
        y = sign * np.array([r[col] for r in rows], dtype=float)
        flat = len(rows) < 3 or np.ptp(nce) == 0 or np.ptp(y) == 0
        out[f"pearson_{key}"] = float("nan") if flat else float(stats.pearsonr(nce, y)[0])
        if key in ("ssl_hsic", "neg_hsic_zy"):
            out[f"spearman_{key}"] = float("nan") if flat else float(stats.spearmanr(nce, y)[0])
    return out


def effect(rows: Sequence[dict[str, Any]]) -> float:
    """The claim's per-run effect: Pearson(InfoNCE, SSL-HSIC) − Pearson(InfoNCE, SSL-HSIC on shuffled pairs)
    across the run's checkpoints (> 0: they move together beyond what the shared training trend gives)."""
    c = correlations(rows)
    return c["pearson_ssl_hsic"] - c["pearson_ssl_hsic_null"]
