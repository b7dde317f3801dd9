"""FroSSL: the official multiview definition, checked by hand and against lightly."""

from __future__ import annotations

import math

import pytest
import torch

from jessl.methods import get
from jessl.methods.frossl import frossl
from lightly_oracle import FroSSLLoss


def _reference(views, w=1.0):
    """Σ_v [log‖C̃_v‖_F² + w·V·D·MSE(Ẑ_v, Z̄)] with plain Python (the D×D Gram: same Frobenius norm)."""
    v_count, n, d = len(views), len(views[0]), len(views[0][0])
    normed = []
    for z in views:
        norms = [math.sqrt(sum(z[i][j] ** 2 for i in range(n))) for j in range(d)]
        normed.append([[z[i][j] / norms[j] for j in range(d)] for i in range(n)])
    mean = [[sum(z[i][j] for z in normed) / v_count for j in range(d)] for i in range(n)]
    total = 0.0
    for z in normed:
        c = [[sum(z[k][a] * z[k][b] for k in range(n)) for b in range(d)] for a in range(d)]
        tr = sum(c[a][a] for a in range(d))
        total += math.log(sum((c[a][b] / tr) ** 2 for a in range(d) for b in range(d)))
        mse = sum((z[i][j] - mean[i][j]) ** 2 for i in range(n) for j in range(d)) / (n * d)
        total += w * v_count * d * mse
    return total


@pytest.mark.parametrize("shape", [(3, 2), (2, 3)])  # N > D (D×D Gram) and N < D (N×N Gram)
@pytest.mark.parametrize("num_views", [2, 3])
def test_hand_derived(shape, num_views):
    g = torch.Generator().manual_seed(9)
    views = [torch.randn(*shape, dtype=torch.float64, generator=g) for _ in range(num_views)]
    lists = [v.tolist() for v in views]
    got = get("frossl")([v.float() for v in views], invariance_weight=0.7)
    assert got.item() == pytest.approx(_reference(lists, 0.7), rel=1e-5)


@pytest.mark.parametrize(("n", "d"), [(16, 8), (8, 16)])
@pytest.mark.parametrize("num_views", [2, 4])
@pytest.mark.parametrize("w", [1.0, 2.0])
def test_matches_lightly(n, d, num_views, w):
    g = torch.Generator().manual_seed(10)
    views = [torch.randn(n, d, generator=g) for _ in range(num_views)]
    torch.testing.assert_close(frossl(views, invariance_weight=w), FroSSLLoss(invariance_weight=w)(views))


def test_needs_two_views():
    with pytest.raises(ValueError, match="at least 2 views"):
        frossl([torch.randn(4, 3)])
