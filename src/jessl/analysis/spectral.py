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
from scipy import linalg


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
    x: torch.Tensor | Sequence[torch.Tensor], k: int, graph: torch.Tensor | None = None
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
    xs = x.detach().double().cpu().numpy()
    g = graph.detach().double().cpu().numpy()
    n = xs.shape[0]
    lap = np.diag(g.sum(1)) - g
    xc = xs - xs.mean(0)
    evals, evecs = linalg.eigh(xs.T @ lap @ xs, xc.T @ xc / (n - 1), subset_by_index=[0, k - 1])
    return torch.from_numpy(evecs), float(2.0 * evals.sum() / n)
