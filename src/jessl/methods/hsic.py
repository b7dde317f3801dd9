"""SSL-HSIC (Li et al. 2021): −HSIC(Z, Y) + γ·√HSIC(Z, Z), Y the image identity."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from .dist import full_precision, gather, world
from .hptypes import Count, NonNegative, Positive

Kernel = Literal["imq", "gaussian"]
Estimator = Literal["exact", "rff"]
RADIUS_GRID = (1e-12, 100.0, 10000)  # the official code's grid for the IMQ spectral radius


def log_bessel_k(nu: float, r: np.ndarray) -> np.ndarray:
    """log K_ν(r) for half-integer or integer ν ≥ 0, stable where K_ν(r) overflows float64.

    Upward recurrence K_{μ+1} = K_{μ−1} + (2μ/r) K_μ carried on the ratio ρ_μ = K_{μ+1}/K_μ,
    started from K_{1/2}, K_{3/2} (closed form) or from scipy's scaled K_0, K_1.
    """
    r = np.asarray(r, dtype=np.float64)
    mu = nu - math.floor(nu)
    if mu == 0.5:
        log_k = 0.5 * np.log(np.pi / (2 * r)) - r
        rho = 1.0 + 1.0 / r
    elif mu == 0.0:
        from scipy import special

        log_k = np.log(special.k0e(r)) - r
        rho = special.k1e(r) / special.k0e(r)
    else:
        raise ValueError(f"nu must be an integer or half-integer, got {nu}")
    while mu < nu:
        log_k = log_k + np.log(rho)
        mu += 1.0
        rho = 1.0 / rho + 2.0 * mu / r
    return log_k


@lru_cache(maxsize=8)
def imq_radius_distribution(dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid and probabilities p(r) ∝ r^ν K_ν(r), ν = (dim−1)/2: the radial law of the spectral
    measure of the IMQ kernel 1/√(1+‖x‖²) in ℝ^dim (official `imq_rff_features`, which fixes
    dim = 256; here dim is the embedding's actual dimension)."""
    r = np.linspace(*RADIUS_GRID)
    nu = (dim - 1) / 2
    logp = nu * np.log(r) + log_bessel_k(nu, r)
    p = np.exp(logp - logp.max())
    return r, p / p.sum()


@lru_cache(maxsize=8)
def _imq_radii(dim: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """`imq_radius_distribution` as float64 tensors on `device`, sent once."""
    return tuple(torch.from_numpy(a).to(device) for a in imq_radius_distribution(dim))


def draw_rff(
    dim: int, num_features: int, kernel: Kernel, scale: float, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frequencies w (F×dim) and phases b (F), drawn on `device` from its default generator (seeded by the
    loop's `torch.manual_seed` each epoch; on the CPU the same numbers as drawing there and copying),
    broadcast from rank 0."""
    f64 = dict(dtype=torch.float64, device=device)
    if kernel == "imq":
        u = F.normalize(torch.randn(num_features, dim, **f64), dim=1)
        grid, p = _imq_radii(dim, torch.device(device))
        idx = torch.multinomial(p, num_features, replacement=True)
        w = u * grid[idx, None]
    elif kernel == "gaussian":
        w = torch.randn(num_features, dim, **f64)
    else:
        raise ValueError(f"kernel must be 'imq' or 'gaussian', got {kernel!r}")
    b = 2 * math.pi * torch.rand(num_features, **f64)
    w, b = (w / scale).float(), b.float()
    if world()[1] > 1:
        dist.broadcast(w, 0)
        dist.broadcast(b, 0)
    return w, b


def kernel_matrix(z: torch.Tensor, kernel: Kernel, scale: float) -> torch.Tensor:
    """IMQ k = c/√(c²+‖z−z'‖²) or Gaussian k = exp(−‖z−z'‖²/(2c²)), c = ``scale``."""
    d2 = (z[:, None, :] - z[None, :, :]).square().sum(-1)
    if kernel == "imq":
        return scale / torch.sqrt(scale**2 + d2)
    if kernel == "gaussian":
        return torch.exp(-d2 / (2 * scale**2))
    raise ValueError(f"kernel must be 'imq' or 'gaussian', got {kernel!r}")


def _hsic_exact(z: torch.Tensor, b: int, m: int, kernel: Kernel, scale: float):
    n = b * m
    k = kernel_matrix(z, kernel, scale)
    same = (torch.arange(n)[:, None] % b == torch.arange(n)[None, :] % b).to(k.device)
    hsic_xy = (k * same).sum() / (b * m * (m - 1)) - k.sum() / n**2
    kc = k - k.mean(0, keepdim=True) - k.mean(1, keepdim=True) + k.mean()
    return hsic_xy, (kc * k).sum() / n**2


def _hsic_rff(z: torch.Tensor, b: int, m: int, kernel: Kernel, scale: float, num_features: int):
    n = b * m
    feats = []
    for _ in range(2):  # two independent draws make the HSIC(Z, Z) product unbiased
        w, ph = draw_rff(z.shape[1], num_features, kernel, scale, z.device)
        feats.append(math.sqrt(2.0 / num_features) * torch.cos(z @ w.T + ph))
    phi1, phi2 = feats
    per_image = phi1.view(m, b, -1).sum(0)
    hsic_xy = per_image.square().sum() / (b * m * (m - 1)) - phi1.sum(0).square().sum() / n**2
    c1, c2 = phi1 - phi1.mean(0), phi2 - phi2.mean(0)
    if n < num_features:  # ‖C1ᵀC2‖_F² = Σ (C1C1ᵀ)∘(C2C2ᵀ)
        hsic_xx = ((c1 @ c1.T) * (c2 @ c2.T)).sum() / n**2
    else:
        hsic_xx = (c1.T @ c2).square().sum() / n**2
    return hsic_xy, hsic_xx


@full_precision
def ssl_hsic(
    views: Sequence[torch.Tensor],
    targets: Sequence[torch.Tensor] | None = None,
    /,
    gamma: NonNegative = 3.0,
    kernel: Kernel = "imq",
    scale: Positive = 1.0,
    estimator: Estimator = "rff",
    num_features: Count = 512,
) -> torch.Tensor:
    """SSL-HSIC (Li et al. 2021, eq. 7): −HSIC(Z, Y) + γ·√HSIC(Z, Z), biased estimator.

    Z stacks M "views" per image, each L2-normalised and gathered across processes: with a
    target network (``targets`` given) the official hiddens [p_1, p_2, t_2, t_1] (M = 4,
    targets detached), otherwise the online projections only. HSIC(Z, Y) with the
    identity-label kernel is Σ_i Σ_{v,v'} k(z_i^v, z_i^v')/(BM(M−1)) − Σ k/(BM)² (the v=v'
    terms included, as in the official code); HSIC(Z, Z) = tr(KHKH)/(BM)².

    ``estimator="exact"`` uses the kernel matrix; ``"rff"`` the linear-time random Fourier
    features √(2/F)·cos(zwᵀ/c + b) with two independent draws for HSIC(Z, Z) (official). The
    kernel scale c is a fixed hyper-parameter here (the official code learns it on the side).
    """
    hidden = list(views) + ([t.detach() for t in reversed(targets)] if targets is not None else [])
    m = len(hidden)
    if m < 2:
        raise ValueError(f"ssl_hsic needs at least 2 views, got {m}")
    z = torch.cat([gather(F.normalize(h.float(), dim=1)) for h in hidden])
    b = z.shape[0] // m
    if estimator == "exact":
        hsic_xy, hsic_xx = _hsic_exact(z, b, m, kernel, scale)
    elif estimator == "rff":
        hsic_xy, hsic_xx = _hsic_rff(z, b, m, kernel, scale, num_features)
    else:
        raise ValueError(f"estimator must be 'exact' or 'rff', got {estimator!r}")
    return gamma * torch.sqrt(hsic_xx) - hsic_xy
