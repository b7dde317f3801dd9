"""VICReg, VICReg-exp/ctr (Garrido et al. 2023) and Barlow Twins."""

from __future__ import annotations

import math

import pytest
import torch

from jessl.methods import get
from lightly_oracle import BarlowTwinsLoss, VICRegLoss

Z1 = [[1.0, 0.0], [0.5, 2.0], [-1.0, 0.3]]
Z2 = [[0.2, 1.0], [1.5, -0.5], [0.0, 0.7]]


def _cols(rows):
    return [list(c) for c in zip(*rows)]


def _mean(xs):
    return sum(xs) / len(xs)


def _cov(rows, biased=False):
    """Covariance of the columns of `rows` (observations along rows), plain Python."""
    n, cols = len(rows), _cols(rows)
    cs = [[x - _mean(c) for x in c] for c in cols]
    return [[sum(a * b for a, b in zip(ci, cj)) / (n if biased else n - 1) for cj in cs] for ci in cs]


def _var_term(rows, eps=1e-4):
    cov = _cov(rows)
    return _mean([max(0.0, 1 - math.sqrt(cov[j][j] + eps)) for j in range(len(cov))])


def _cov_term(rows):
    cov = _cov(rows)
    d = len(cov)
    return sum(cov[i][j] ** 2 for i in range(d) for j in range(d) if i != j) / d


def _exp_term(rows, tau):
    cov = _cov(rows)
    d = len(cov)
    return _mean([math.log(sum(math.exp(cov[i][j] / tau) for j in range(d) if j != i)) for i in range(d)])


def _mse(a, b):
    return _mean([(x - y) ** 2 for ra, rb in zip(a, b) for x, y in zip(ra, rb)])


def _centred_transpose(rows):
    return _cols([[x - m for x, m in zip(r, map(_mean, _cols(rows)))] for r in rows])


def test_vicreg_hand_derived():
    expected = 25 * _mse(Z1, Z2) + 25 * 0.5 * (_var_term(Z1) + _var_term(Z2)) + _cov_term(Z1) + _cov_term(Z2)
    got = get("vicreg")([torch.tensor(Z1), torch.tensor(Z2)])
    assert got.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("tau", [1.0, 0.3])
def test_vicreg_exp_hand_derived(tau):
    exp = _exp_term(Z1, tau) + _exp_term(Z2, tau)
    expected = 25 * _mse(Z1, Z2) + 12.5 * (_var_term(Z1) + _var_term(Z2)) + 2.0 * exp
    got = get("vicreg_exp")([torch.tensor(Z1), torch.tensor(Z2)], temperature=tau, cov_coeff=2.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("tau", [1.0, 0.3])
def test_vicreg_ctr_hand_derived(tau):
    """Pinned reading of eq. 13: centre dimensions over the batch, then transpose (N×N covariance)."""
    t1, t2 = _centred_transpose(Z1), _centred_transpose(Z2)
    assert len(t1) == 2 and len(t1[0]) == 3  # D rows (observations) × N embeddings (variables)
    var = 0.5 * (_var_term(t1) + _var_term(t2))
    expected = 25 * _mse(Z1, Z2) + 25 * var + _exp_term(t1, tau) + _exp_term(t2, tau)
    got = get("vicreg_ctr")([torch.tensor(Z1), torch.tensor(Z2)], temperature=tau)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_vicreg_matches_lightly():
    g = torch.Generator().manual_seed(5)
    z1, z2 = torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)
    torch.testing.assert_close(get("vicreg")([z1, z2]), VICRegLoss()(z1, z2))
    hp = {"sim_coeff": 3.0, "std_coeff": 7.0, "cov_coeff": 0.5}
    expected = VICRegLoss(lambda_param=3.0, mu_param=7.0, nu_param=0.5)(z1, z2)
    torch.testing.assert_close(get("vicreg")([z1, z2], **hp), expected)


def test_barlow_twins_hand_derived():
    def standardise(rows):
        cov = _cov(rows, biased=True)
        means = list(map(_mean, _cols(rows)))
        scale = [math.sqrt(cov[j][j] + 1e-5) for j in range(len(cov))]
        return [[(x - m) / s for x, m, s in zip(r, means, scale)] for r in rows]

    a, b = standardise(Z1), standardise(Z2)
    n, d = len(a), len(a[0])
    c = [[sum(a[k][i] * b[k][j] for k in range(n)) / n for j in range(d)] for i in range(d)]
    on = sum((1 - c[i][i]) ** 2 for i in range(d))
    off = sum(c[i][j] ** 2 for i in range(d) for j in range(d) if i != j)
    got = get("barlow_twins")([torch.tensor(Z1), torch.tensor(Z2)])
    assert got.item() == pytest.approx(on + 0.0051 * off, rel=1e-5)


@pytest.mark.parametrize("lam", [0.0051, 0.1])
def test_barlow_twins_matches_lightly(lam):
    g = torch.Generator().manual_seed(6)
    z1, z2 = torch.randn(32, 8, generator=g), torch.randn(32, 8, generator=g)
    expected = BarlowTwinsLoss(lambda_param=lam)(z1, z2)
    torch.testing.assert_close(get("barlow_twins")([z1, z2], lambda_param=lam), expected)
    assert get("barlow_twins").hparams == {"lambda_param": 0.0051, "scale_loss": 1.0}


def test_barlow_twins_scale_loss_multiplies_the_whole_loss():
    """solo-learn's `scale_loss` (0.1 in its CIFAR/ImageNet-100 recipes) scales both terms; 1.0 is the official loss."""
    g = torch.Generator().manual_seed(8)
    z1, z2 = torch.randn(32, 8, generator=g), torch.randn(32, 8, generator=g)
    plain = get("barlow_twins")([z1, z2], lambda_param=0.0051)
    torch.testing.assert_close(get("barlow_twins")([z1, z2], lambda_param=0.0051, scale_loss=0.1), 0.1 * plain)


def test_gram_covariance_identity():
    """Garrido et al. Theorem 3.3: ‖KᵀK‖_F² = ‖KKᵀ‖_F², hence L_nc + Σ_j‖K_j,·‖⁴ = L_c + Σ_i‖K_·,i‖⁴."""
    g = torch.Generator().manual_seed(7)
    k = torch.randn(5, 9, dtype=torch.float64, generator=g)  # M=5 dims × N=9 embeddings (columns)
    gram, cov = k.T @ k, k @ k.T
    assert torch.linalg.matrix_norm(gram).square().item() == pytest.approx(
        torch.linalg.matrix_norm(cov).square().item(), rel=1e-12
    )
    l_c = (gram - torch.diag(torch.diag(gram))).square().sum()
    l_nc = (cov - torch.diag(torch.diag(cov))).square().sum()
    rows4, cols4 = k.norm(dim=1).pow(4).sum(), k.norm(dim=0).pow(4).sum()
    torch.testing.assert_close(l_nc + rows4, l_c + cols4)
    # With unit-norm rows and columns (a square orthogonal K), L_nc = L_c + N − M = L_c = 0.
    q, _ = torch.linalg.qr(torch.randn(4, 4, dtype=torch.float64, generator=g))
    qg, qc = q.T @ q, q @ q.T
    off_g = (qg - torch.diag(torch.diag(qg))).square().sum()
    off_c = (qc - torch.diag(torch.diag(qc))).square().sum()
    assert off_g.item() == pytest.approx(off_c.item(), abs=1e-12)


def test_exp_criterion_is_per_row():
    """c_exp is the mean of per-row LSEs (eq. 11), not one global LSE over all off-diagonal entries."""
    from jessl.methods.covariance import covariance, exp_covariance_term

    g = torch.Generator().manual_seed(8)
    z = torch.randn(20, 4, generator=g)
    c = covariance(z)
    rows = [torch.logsumexp(torch.cat([c[i, :i], c[i, i + 1 :]]), 0) for i in range(4)]
    torch.testing.assert_close(exp_covariance_term(z, 1.0), torch.stack(rows).mean())
    global_lse = torch.logsumexp(c[~torch.eye(4, dtype=torch.bool)], 0)
    assert not torch.isclose(exp_covariance_term(z, 1.0), global_lse)
