"""SSL-HSIC: exact-kernel value by hand, RFF estimator converging to it, the IMQ spectral law."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch

from jessl.methods import get
from jessl.methods.hsic import imq_radius_distribution, log_bessel_k, ssl_hsic

V1 = [[1.0, 0.0], [0.6, 0.8]]
V2 = [[0.0, 1.0], [-0.8, 0.6]]


def _reference(views, gamma=3.0, c=1.0, kernel="imq"):
    """−HSIC(Z,Y) + γ√HSIC(Z,Z) with explicit matrices in plain Python (views already unit-norm)."""
    m, b = len(views), len(views[0])
    z = [row for v in views for row in v]
    n = len(z)

    def k(x, y):
        d2 = sum((p - q) ** 2 for p, q in zip(x, y))
        return c / math.sqrt(c * c + d2) if kernel == "imq" else math.exp(-d2 / (2 * c * c))

    kk = [[k(x, y) for y in z] for x in z]
    same = sum(kk[i][j] for i in range(n) for j in range(n) if i % b == j % b)
    hsic_xy = same / (b * m * (m - 1)) - sum(map(sum, kk)) / n**2
    h = [[(i == j) - 1 / n for j in range(n)] for i in range(n)]

    def mm(a, bb):
        return [[sum(a[i][t] * bb[t][j] for t in range(n)) for j in range(n)] for i in range(n)]

    khkh = mm(mm(kk, h), mm(kk, h))
    hsic_xx = sum(khkh[i][i] for i in range(n)) / n**2
    return gamma * math.sqrt(hsic_xx) - hsic_xy


@pytest.mark.parametrize("kernel", ["imq", "gaussian"])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_exact_hand_derived(kernel, scale):
    got = get("ssl_hsic_notarget")(
        [torch.tensor(V1), torch.tensor(V2)], estimator="exact", kernel=kernel, scale=scale
    )
    assert got.item() == pytest.approx(_reference([V1, V2], c=scale, kernel=kernel), rel=1e-5)


def test_embeddings_are_normalised():
    scaled = [3 * torch.tensor(V1), 0.5 * torch.tensor(V2)]
    got = ssl_hsic(scaled, estimator="exact")
    assert got.item() == pytest.approx(_reference([V1, V2]), rel=1e-5)


def test_target_hiddens_are_p1_p2_t2_t1():
    g = torch.Generator().manual_seed(12)
    p1, p2, t1, t2 = (torch.randn(3, 2, generator=g) for _ in range(4))
    with_target = get("ssl_hsic")([], [p1, p2], [t1, t2], estimator="exact")
    ref = _reference([torch.nn.functional.normalize(x, dim=1).tolist() for x in (p1, p2, t2, t1)])
    assert with_target.item() == pytest.approx(ref, rel=1e-5)


@pytest.mark.parametrize(
    ("nu", "r"), [(0.5, 0.3), (3.0, 2.0), (7.5, 1e-3), (127.5, 0.5), (127.5, 60.0), (127.5, 1e-12)]
)
def test_log_bessel_k(nu, r):
    expected = float(mpmath.log(mpmath.besselk(nu, r)))
    assert log_bessel_k(nu, np.array([r]))[0] == pytest.approx(expected, rel=1e-9)


def test_imq_radius_distribution():
    r, p = imq_radius_distribution(256)
    assert p.shape == r.shape == (10000,) and np.isfinite(p).all() and p.sum() == pytest.approx(1.0)
    assert np.all(np.diff(p) <= 0)  # r^ν K_ν(r) decreases in r


@pytest.mark.parametrize("kernel", ["imq", "gaussian"])
def test_rff_converges_to_exact(kernel):
    g = torch.Generator().manual_seed(13)
    views = [torch.randn(6, 8, generator=g) for _ in range(2)]
    views = [views[0], views[0] + 0.5 * torch.randn(6, 8, generator=g)]
    exact = ssl_hsic(views, estimator="exact", kernel=kernel).item()

    def error(num_features):
        errs = []
        for seed in range(4):
            torch.manual_seed(seed)
            errs.append(abs(ssl_hsic(views, kernel=kernel, num_features=num_features).item() - exact))
        return sum(errs) / len(errs)

    small, large = error(32), error(32768)
    assert large < small / 8
    assert large < 0.01 * abs(exact) + 2e-3


def test_rff_is_seeded():
    views = [torch.randn(5, 4), torch.randn(5, 4)]
    torch.manual_seed(3)
    a = ssl_hsic(views)
    torch.manual_seed(3)
    b = ssl_hsic(views)
    torch.manual_seed(4)
    c = ssl_hsic(views)
    assert a == b and a != c
