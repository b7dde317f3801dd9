"""Dimension-contrastive (covariance) losses: VICReg, VICReg-exp/ctr, Barlow Twins."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .dist import full_precision, gather
from .hptypes import NonNegative, Positive

BN_EPS = 1e-5  # torch.nn.BatchNorm1d's default, as in the official Barlow Twins code


def off_diagonal(m: torch.Tensor) -> torch.Tensor:
    """The off-diagonal entries of a square matrix, flattened."""
    d = m.shape[0]
    return m.flatten()[:-1].view(d - 1, d + 1)[:, 1:].flatten()


def covariance(z: torch.Tensor) -> torch.Tensor:
    """Unbiased covariance C(z) of the columns of z (rows are observations), as in VICReg."""
    zc = z - z.mean(dim=0)
    return zc.T @ zc / (z.shape[0] - 1)


def variance_term(z: torch.Tensor, eps: float) -> torch.Tensor:
    """VICReg's hinge on the standard deviation of each (centred) dimension, mean over dims."""
    std = torch.sqrt(z.var(dim=0) + eps)
    return F.relu(1.0 - std).mean()


def covariance_term(z: torch.Tensor) -> torch.Tensor:
    """VICReg's covariance criterion: Σ_{i≠j} C(z)_ij² / D with C the unbiased covariance."""
    return off_diagonal(covariance(z)).pow(2).sum() / z.shape[1]


def exp_covariance_term(z: torch.Tensor, temperature: float) -> torch.Tensor:
    """c_exp of Garrido et al. 2023, eq. 11: (1/d) Σ_i log Σ_{j≠i} exp(C(z)_ij / τ).

    A per-row log-sum-exp over the off-diagonal covariance, averaged over rows (not the single
    global log-sum-exp over both branches of a public "VICRegExp" file of unknown provenance).
    """
    logits = covariance(z) / temperature
    eye = torch.eye(logits.shape[0], dtype=torch.bool, device=logits.device)
    return torch.logsumexp(logits.masked_fill(eye, float("-inf")), dim=1).mean()


def _vicreg(
    z1: torch.Tensor,
    z2: torch.Tensor,
    sim_coeff: float,
    std_coeff: float,
    cov_coeff: float,
    eps: float,
    cov_term: Callable[[torch.Tensor], torch.Tensor],
    transposed: bool = False,
) -> torch.Tensor:
    """λ·MSE(z1, z2) (local) + μ·½[v(x)+v(y)] + ν·[c(x)+c(y)] on the gathered x, y."""
    z1, z2 = z1.float(), z2.float()
    inv = F.mse_loss(z1, z2)
    x, y = gather(z1), gather(z2)
    if transposed:  # Garrido et al. eq. 13 with Table 1's dimension centering first
        x, y = (x - x.mean(dim=0)).T, (y - y.mean(dim=0)).T
    var = 0.5 * (variance_term(x, eps) + variance_term(y, eps))
    cov = cov_term(x) + cov_term(y)
    return sim_coeff * inv + std_coeff * var + cov_coeff * cov


@full_precision
def vicreg(
    z1: torch.Tensor,
    z2: torch.Tensor,
    sim_coeff: NonNegative = 25.0,
    std_coeff: NonNegative = 25.0,
    cov_coeff: NonNegative = 1.0,
    eps: Positive = 1e-4,
) -> torch.Tensor:
    """VICReg (Bardes et al. 2022, eq. 6) as the official code computes it.

    λ·MSE(z1, z2) on the local batch + μ·½[v(z1)+v(z2)] + ν·[c(z1)+c(z2)] on the
    gathered batch: variance averaged over the branches, covariance summed (official
    `main_vicreg.py`; solo-learn sums the variance, doubling μ).
    """
    return _vicreg(z1, z2, sim_coeff, std_coeff, cov_coeff, eps, covariance_term)


@full_precision
def vicreg_exp(
    z1: torch.Tensor,
    z2: torch.Tensor,
    sim_coeff: NonNegative = 25.0,
    std_coeff: NonNegative = 25.0,
    cov_coeff: NonNegative = 1.0,
    eps: Positive = 1e-4,
    temperature: Positive = 1.0,
    transposed: bool = False,
) -> torch.Tensor:
    """VICReg-exp / VICReg-ctr (Garrido et al. 2023, eqs. 11–13).

    VICReg with its covariance criterion replaced by c_exp (eq. 11–12), keeping the official
    VICReg conventions (MSE invariance, ½ per-branch variance, unbiased C, ε). τ is not given
    in the paper's main text; 1.0 is a guess, as are the 25/25/1 weights for this criterion.

    ``transposed=True`` is VICReg-ctr (eq. 13): variance and c_exp act on Kᵀ, i.e. on the
    embeddings as variables (per-embedding variance over its D coordinates, an N×N covariance,
    prefactor 1/N). The paper is ambiguous about centring; pinned here: centre each dimension
    over the (gathered) batch first (Table 1, "dimension centering"), then transpose.
    """
    return _vicreg(
        z1, z2, sim_coeff, std_coeff, cov_coeff, eps,
        lambda z: exp_covariance_term(z, temperature), transposed,
    )  # fmt: skip


@full_precision
def barlow_twins(
    z1: torch.Tensor, z2: torch.Tensor, lambda_param: NonNegative = 0.0051, scale_loss: Positive = 1.0
) -> torch.Tensor:
    """Barlow Twins (Zbontar et al. 2021, eq. 1) as the current official code computes it.

    Each view is standardised per dimension over the gathered batch (BatchNorm without affine:
    biased variance, ε=1e-5, i.e. the official SyncBatchNorm statistics), c = z̃1ᵀz̃2 / N, and
    loss = scale_loss · [Σ_i (1−c_ii)² + λ Σ_{i≠j} c_ij²]. The official code has no scale-loss since commit
    046eec3 (λ=0.0051, scale 1, the default); solo-learn's recipes multiply the loss by `scale_loss` 0.1,
    which matters under LARS (the trust ratio sees the gradient's norm against the weight decay).
    """
    x, y = gather(z1.float()), gather(z2.float())
    x = F.batch_norm(x, None, None, training=True, eps=BN_EPS)
    y = F.batch_norm(y, None, None, training=True, eps=BN_EPS)
    c = x.T @ y / x.shape[0]
    on = (1.0 - torch.diagonal(c)).pow(2).sum()
    return scale_loss * (on + lambda_param * off_diagonal(c).pow(2).sum())
