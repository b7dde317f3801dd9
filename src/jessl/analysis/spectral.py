"""Closed-form optima of VICReg-style objectives in the linear regime (Balestriero & LeCun 2022).

INFERENCE, not the paper's theorem text (which was not available): with Z = XW, the invariance
(1/N) Σ_ij G_ij ‖Z_i − Z_j‖² = (2/N) tr(Wᵀ Xᵀ L X W), L = diag(G1) − G the Laplacian of the
augmentation graph G, minimised under the whitening constraint Cov(Z) = Wᵀ Xᵀ H X W/(N−1) = I
(H = I − 11ᵀ/N), is the generalised eigenproblem Xᵀ L X w = λ Xᵀ H X w/(N−1) whose K smallest
eigenvectors give W (Locality Preserving Projections with H in place of the degree matrix).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy import linalg, sparse

Graph = torch.Tensor | np.ndarray | sparse.sparray | sparse.spmatrix  # dense, or sparse (n×n with O(n) edges)


def augmentation_graph(num_samples: int, num_views: int = 2) -> torch.Tensor:
    """G for a view-major stack of ``num_views`` views: G_ij = 1 iff i ≠ j are views of one sample."""
    ids = torch.arange(num_samples * num_views) % num_samples
    g = (ids[:, None] == ids[None, :]).double()
    return g - torch.eye(len(ids), dtype=torch.float64)


def invariance(z: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
    """(1/N) Σ_ij G_ij ‖z_i − z_j‖², the invariance term of VICReg in graph form."""
    d2 = (z[:, None, :] - z[None, :, :]).square().sum(-1)
    return (graph.to(z.dtype) * d2).sum() / z.shape[0]


def linear_closed_form(
    x: torch.Tensor | Sequence[torch.Tensor], k: int, graph: Graph | None = None
) -> tuple[torch.Tensor, float]:
    """W (D×K) minimising `invariance(XW, G)` subject to Cov(XW) = I, and the minimum value.

    ``x`` is X (N×D) with its graph G, or a list of views (each B×D) paired sample by sample,
    in which case G is `augmentation_graph`. The minimum is (2/N) Σ of the K smallest λ of
    Xᵀ L X w = λ Xᵀ H X w/(N−1) (needs Xᵀ H X full rank). Computed in float64.
    """
    if not isinstance(x, torch.Tensor):
        graph = augmentation_graph(x[0].shape[0], len(x)) if graph is None else graph
        x = torch.cat(list(x))
    if graph is None:
        raise ValueError("linear_closed_form: give the augmentation graph G or a list of views")
    xs, g = _np(x), _graph(graph)
    n = xs.shape[0]
    xc = xs - xs.mean(0)
    evals, evecs = linalg.eigh(laplacian_form(xs, g), xc.T @ xc / (n - 1), subset_by_index=[0, k - 1])
    return torch.from_numpy(evecs), float(2.0 * evals.sum() / n)


# --- the two families as unconstrained criteria, and their closed-form optima ------------------------
# INFERENCE (own derivations; the paper's theorem text was not available, see module docstring): the
# paper ties non-contrastive criteria to local spectral methods (Laplacian Eigenmaps / LPP) and
# contrastive ones to global ones (MDS). The two criteria below are the smooth forms for which a
# closed form exists in the linear regime Z = XW:
#   local  (VICReg with its variance and covariance terms as one quadratic penalty ‖Cov(Z) − I‖²_F)
#   global (the spectral contrastive loss of HaoChen et al. 2021, i.e. SimCLR with the log-sum-exp
#           replaced by a square: the squared-similarity variant, not InfoNCE itself).


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def _graph(g: Graph) -> np.ndarray | sparse.csr_array:
    """G as float64: a scipy sparse array stays sparse (a pair graph of 2n views has 2n edges, so the CIFAR-10
    train split's 100k views need a few MB, not the 80 GB of a dense 2n×2n matrix)."""
    if sparse.issparse(g):
        return sparse.csr_array(g, dtype=np.float64)
    return _np(g) if isinstance(g, torch.Tensor) else np.asarray(g, dtype=np.float64)


def laplacian_form(x: np.ndarray, g: np.ndarray | sparse.csr_array) -> np.ndarray:
    """XᵀLX = Xᵀdiag(G1)X − XᵀGX without forming L (D×D; G dense or sparse)."""
    deg = np.asarray(g.sum(axis=1)).ravel()
    return x.T @ (deg[:, None] * x) - x.T @ (g @ x)


def covariance(z: torch.Tensor) -> torch.Tensor:
    """Cov(Z) = (Z − Z̄)ᵀ(Z − Z̄)/(N − 1)."""
    zc = z - z.mean(0)
    return zc.T @ zc / (z.shape[0] - 1)


def local_loss(z: torch.Tensor, graph: torch.Tensor, beta: float) -> torch.Tensor:
    """VICReg-style local criterion: `invariance`(Z, G) + β‖Cov(Z) − I‖²_F (the invariance as (2/N)tr(ZᵀLZ))."""
    g = graph.to(z.dtype)
    lap = torch.diag(g.sum(1)) - g
    eye = torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
    return 2.0 * (z * (lap @ z)).sum() / z.shape[0] + beta * (covariance(z) - eye).square().sum()


def global_loss(z: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
    """SimCLR-style global criterion (spectral contrastive loss, HaoChen et al. 2021, eq. 5):
    −2 E_{(i,j)∈G}[z_iᵀz_j] + E_{i,j}[(z_iᵀz_j)²] = (1/N²)‖ZZᵀ − cG‖²_F − const, c = N/ḡ, ḡ the mean degree."""
    n = z.shape[0]
    g = graph.to(z.dtype)
    gram = z @ z.T
    return gram.square().sum() / n**2 - 2.0 * (g * gram).sum() / g.sum()


def _check(x: np.ndarray, g: np.ndarray | sparse.csr_array, k: int) -> None:
    n, d = x.shape
    asym = abs(g - g.T).max() if g.shape == (n, n) else 1.0
    if g.shape != (n, n) or asym > 1e-12 or np.any(g.diagonal() != 0) or g.sum() <= 0:
        raise ValueError(f"graph must be a symmetric {n}×{n} matrix with a zero diagonal and at least one edge, "
                         f"got shape {g.shape}")
    if not 1 <= k <= d:
        raise ValueError(f"k must be in [1, {d}] (the input dimension), got {k}")


def local_closed_form(x: torch.Tensor, graph: Graph, k: int, beta: float,
                      ridge: float = 0.0) -> tuple[torch.Tensor, float, np.ndarray]:
    """W (D×K) minimising `local_loss`(XW, G, β), the minimum, and the generalised eigenvalues μ.

    With A = (2/N)XᵀLX and B = Cov(X) (+ ridge·I), the substitution V = B^{1/2}W turns the loss into
    β‖VVᵀ − (I − B^{-1/2}AB^{-1/2}/(2β))‖²_F + const, minimised over rank-K PSD VVᵀ by Eckart–Young:
    W = [u_1 … u_K]·diag(√max(0, 1 − μ_k/(2β))) with A u = μ B u (K smallest μ, uᵀBu = 1) — the
    generalised eigenproblem of LPP / Laplacian Eigenmaps — and the minimum is
    Σ_k μ_k − μ_k²/(4β) (β where μ_k ≥ 2β). As β → ∞ it is `linear_closed_form`.
    """
    xs, g = _np(x), _graph(graph)
    _check(xs, g, k)
    n, d = xs.shape
    a = 2.0 * laplacian_form(xs, g) / n
    xc = xs - xs.mean(0)
    b = xc.T @ xc / (n - 1) + ridge * np.eye(d)
    mu, u = linalg.eigh(a, b)
    t = np.clip(1.0 - mu[:k] / (2 * beta), 0.0, None)
    value = float(np.where(t > 0, mu[:k] - mu[:k] ** 2 / (4 * beta), beta).sum())
    return torch.from_numpy(u[:, :k] * np.sqrt(t)), value, mu


def global_closed_form(x: torch.Tensor, graph: Graph, k: int,
                       rcond: float = 1e-10) -> tuple[torch.Tensor, float, np.ndarray]:
    """W (D×K) minimising `global_loss`(XW, G), the minimum, and the eigenvalues θ of c·UᵀGU.

    With X = USVᵀ (thin SVD) and M = SVᵀW, ‖XWWᵀXᵀ − cG‖²_F = ‖MMᵀ − cUᵀGU‖²_F + const, so by
    Eckart–Young MMᵀ is the best rank-K PSD approximation of cUᵀGU (classical MDS of the similarity cG
    restricted to the span of the data): W = V S⁻¹ Q_K diag(√max(θ_k, 0)) for the K largest θ, and the
    minimum is −Σ_k max(θ_k, 0)²/N². Equivalently XᵀGX w = θ' XᵀX w.
    """
    xs, g = _np(x), _graph(graph)
    _check(xs, g, k)
    n = xs.shape[0]
    c = n * n / g.sum()
    u, s, vt = linalg.svd(xs, full_matrices=False)
    keep = s > rcond * s[0]
    u, s, vt = u[:, keep], s[keep], vt[keep]
    if k > len(s):
        raise ValueError(f"k={k} exceeds the rank {len(s)} of X")
    theta, q = linalg.eigh(c * u.T @ (g @ u))
    theta, q = theta[::-1], q[:, ::-1]
    m = q[:, :k] * np.sqrt(np.clip(theta[:k], 0.0, None))
    w = vt.T @ (m / s[:, None])
    return torch.from_numpy(np.ascontiguousarray(w)), float(-(np.clip(theta[:k], 0, None) ** 2).sum() / n**2), theta
