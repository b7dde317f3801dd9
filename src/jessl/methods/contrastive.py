"""Sample-contrastive losses: InfoNCE / NT-Xent (SimCLR) and its variants.

All variants share one function, `simclr`; the registry binds the variant's parameters
(``decoupled`` for DCL, ``phi`` for SimCLR-abs/sq) and, for DCL, its default temperature.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from .dist import full_precision, gather, world
from .hptypes import Count, Positive

Phi = Literal["abs", "sq"] | None


def _phi(s: torch.Tensor, phi: Phi) -> torch.Tensor:
    if phi is None:
        return s
    if phi == "abs":
        return s.abs()
    if phi == "sq":
        return s.square()
    raise ValueError(f"phi must be None, 'abs' or 'sq', got {phi!r}")


@full_precision
def simclr(
    z1: torch.Tensor,
    z2: torch.Tensor,
    temperature: Positive = 0.5,
    num_negatives: Count | None = None,
    phi: Phi = None,
    transform_positive: bool = False,
    decoupled: bool = False,
) -> torch.Tensor:
    """NT-Xent of SimCLR (Chen et al. 2020, eq. 1), averaged over the 2N anchors.

    For anchor a with positive p(a): ℓ(a) = −s(a,p(a))/τ + log Σ_{k≠a} exp(s(a,k)/τ),
    the 2N−2 negatives coming from both views (lightly's `NTXentLoss` convention; the
    official TF code reports twice this value). Under torch.distributed the keys are
    gathered from every process with gradients and the anchors stay local, so the mean
    over processes of the local losses is the full-batch loss.

    Variants (bound by the registry):
    - ``num_negatives=k``: each anchor keeps k negatives drawn uniformly without replacement
      among its 2N−2 (torch's global RNG); k=1 is the "single negative" of Bordes et al. 2023.
    - ``decoupled``: DCL (Yeh et al. 2022, eq. 6), the positive is dropped from the denominator.
    - ``phi``: SimCLR-abs / SimCLR-sq of Garrido et al. 2023 (§3), φ(s)=|s| or s² applied to the
      negative cosine similarities in the denominator. The paper's definition (supp. §D) was not
      available: this is an INFERENCE; ``transform_positive`` says whether the positive's
      denominator term is also exp(φ(s)/τ) (the numerator always keeps s).
    """
    if z1.shape != z2.shape:
        raise ValueError(f"simclr: the two views differ in shape: {tuple(z1.shape)} vs {tuple(z2.shape)}")
    n = z1.shape[0]
    rank, _ = world()
    u1, u2 = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)
    k1, k2 = gather(u1), gather(u2)
    big_n = k1.shape[0]
    sim = torch.cat([u1, u2]) @ torch.cat([k1, k2]).T  # (2n, 2B) cosine similarities
    local = torch.arange(n, device=z1.device) + rank * n
    self_idx = torch.cat([local, local + big_n])
    pos_idx = torch.cat([local + big_n, local])
    rows = torch.arange(2 * n, device=z1.device)
    pos = sim[rows, pos_idx]
    excluded = torch.zeros_like(sim, dtype=torch.bool)
    excluded[rows, self_idx] = True
    excluded[rows, pos_idx] = True
    if num_negatives is not None:
        if not 1 <= num_negatives <= 2 * big_n - 2:
            raise ValueError(f"num_negatives must be in [1, {2 * big_n - 2}], got {num_negatives}")
        scores = torch.rand(sim.shape, device=sim.device).masked_fill(excluded, 2.0)
        keep = scores.topk(num_negatives, dim=1, largest=False).indices
        excluded = torch.ones_like(excluded).scatter_(1, keep, False)
    neg = (_phi(sim, phi) / temperature).masked_fill(excluded, float("-inf"))
    if not decoupled:
        pos_den = _phi(pos, phi) if transform_positive else pos
        neg = torch.cat([pos_den[:, None] / temperature, neg], dim=1)
    return (torch.logsumexp(neg, dim=1) - pos / temperature).mean()
