"""SimCLR / NT-Xent and its variants (DCL, SimCLR-abs/sq, few negatives)."""

from __future__ import annotations

import math

import pytest
import torch

from jessl.methods import get
from jessl.methods.contrastive import simclr
from lightly_oracle import DCLLoss, NTXentLoss

Z1 = [[1.0, 0.0], [0.6, 0.8], [-2.0, 1.0]]
Z2 = [[3.0, 1.0], [0.0, -1.0], [-1.0, -1.0]]


def _cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def _reference(z1, z2, tau, phi=None, transform_positive=False, decoupled=False):
    """Per-anchor InfoNCE from the formula, with plain Python."""
    f = {None: lambda s: s, "abs": abs, "sq": lambda s: s * s}[phi]
    u = z1 + z2
    n = len(z1)
    total = 0.0
    for a in range(2 * n):
        p = (a + n) % (2 * n)
        s_pos = _cos(u[a], u[p])
        terms = [math.exp(f(_cos(u[a], u[k])) / tau) for k in range(2 * n) if k not in (a, p)]
        if not decoupled:
            terms.append(math.exp((f(s_pos) if transform_positive else s_pos) / tau))
        total += -s_pos / tau + math.log(sum(terms))
    return total / (2 * n)


VARIANTS = [
    ("simclr", {}, {}),
    ("dcl", {"decoupled": True}, {}),
    ("simclr_abs", {"phi": "abs"}, {"transform_positive": False}),
    ("simclr_abs", {"phi": "abs", "transform_positive": True}, {"transform_positive": True}),
    ("simclr_sq", {"phi": "sq"}, {"transform_positive": False}),
    ("simclr_sq", {"phi": "sq", "transform_positive": True}, {"transform_positive": True}),
]


@pytest.mark.parametrize(("name", "ref_kwargs", "hp"), VARIANTS)
@pytest.mark.parametrize("tau", [0.5, 0.2])
def test_hand_derived(name, ref_kwargs, hp, tau):
    got = get(name)([torch.tensor(Z1), torch.tensor(Z2)], temperature=tau, **hp)
    assert got.item() == pytest.approx(_reference(Z1, Z2, tau, **ref_kwargs), rel=1e-6)


def test_simclr_single_number():
    # z1 = z2 = (e1, e2): positives s = 1, negatives s = 0; each anchor: −1/τ + log(e^{1/τ} + 2).
    e = torch.eye(2)
    assert simclr(e, e, temperature=0.5).item() == pytest.approx(-2 + math.log(math.exp(2) + 2), rel=1e-6)
    # DCL drops the positive from the denominator: −1/τ + log 2.
    assert get("dcl")([e, e], temperature=0.5).item() == pytest.approx(-2 + math.log(2), rel=1e-6)


@pytest.mark.parametrize("tau", [0.5, 0.1])
def test_simclr_matches_lightly(tau):
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
    expected = NTXentLoss(temperature=tau)(z1, z2)
    torch.testing.assert_close(get("simclr")([z1, z2], temperature=tau), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_dcl_matches_lightly(tau):
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
    torch.testing.assert_close(get("dcl")([z1, z2], temperature=tau), DCLLoss(temperature=tau)(z1, z2))
    assert get("dcl").hparams["temperature"] == DCLLoss().temperature == 0.1


def test_phi_prefers_orthogonal_negatives():
    """SimCLR pushes negatives to be opposite; SimCLR-abs/sq to be orthogonal, as L_c asks (§3)."""
    e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    orthogonal, opposite = torch.stack([e1, e2]), torch.stack([e1, -e1])

    def loss(name, z):
        return get(name)([z, z]).item()

    assert loss("simclr", opposite) < loss("simclr", orthogonal)
    for name in ("simclr_abs", "simclr_sq"):
        assert loss(name, orthogonal) < loss(name, opposite)


def test_all_negatives_is_default():
    g = torch.Generator().manual_seed(3)
    z1, z2 = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    torch.testing.assert_close(simclr(z1, z2, num_negatives=8), simclr(z1, z2))


@pytest.mark.parametrize("k", [1, 2])
def test_few_negatives_equal_similarities(k):
    # Orthonormal embeddings: every negative has s = 0, so any draw gives −1/τ + log(e^{1/τ} + k).
    e = torch.eye(3)
    torch.manual_seed(0)
    assert simclr(e, e, temperature=0.5, num_negatives=k).item() == pytest.approx(
        -2 + math.log(math.exp(2) + k), rel=1e-6
    )


def test_single_negative_is_random_and_seeded():
    g = torch.Generator().manual_seed(4)
    z1, z2 = torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)

    def draw(seed):
        torch.manual_seed(seed)
        return simclr(z1, z2, num_negatives=1)

    torch.testing.assert_close(draw(0), draw(0))
    assert draw(0) != draw(1)
    # One negative per anchor, a subset of the full denominator: lower than the full loss.
    assert draw(0) < simclr(z1, z2)


def test_single_negative_uniform():
    """With one negative, each anchor's negative is uniform among its 2N−2 and independent."""
    # Anchors 0 and 2 (both e1) choose between e2 (s=0) and −e1 (s=−1); anchors 1 and 3 see two
    # equal negatives, so the batch loss takes 3 values with probabilities 1/4, 1/2, 1/4.
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])

    def anchor(s):
        return -1 + math.log(math.e + math.exp(s))

    rest = math.log(2) + math.log(1 + math.exp(-1))
    totals = [(anchor(a) + anchor(b) + rest) / 4 for a, b in ((-1, -1), (-1, 0), (0, 0))]
    torch.manual_seed(0)
    draws = torch.tensor([simclr(z1, z2, temperature=1.0, num_negatives=1).item() for _ in range(400)])
    counts = [int((draws - t).abs().lt(1e-5).sum()) for t in totals]
    assert sum(counts) == 400
    assert abs(counts[0] - 100) < 35 and abs(counts[1] - 200) < 40 and abs(counts[2] - 100) < 35
