"""Claim 4's measurement: InfoNCE's second-order expansion (the paper's approximation), the shuffled-pair null,
and a target run scored on the hiddens it trained."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jessl.analysis import hsic_infonce as hi
from jessl.methods.contrastive import simclr


def test_expansion_matches_the_projects_infonce_and_its_terms_add_up():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    e = hi.infonce_expansion(z1, z2, temperature=0.5)
    assert e["infonce"] == pytest.approx(float(simclr(z1, z2, temperature=0.5)), rel=1e-5)
    assert e["infonce_approx"] == pytest.approx(math.log(15) - e["approx_dependence"] + e["approx_variance"])


def test_expansion_is_exact_when_every_similarity_is_equal():
    z = torch.ones(6, 3)  # every pair has cosine 1: no variance, the log-sum-exp is log(2N−1) + s
    e = hi.infonce_expansion(z, z, temperature=0.3)
    assert e["approx_variance"] == pytest.approx(0.0, abs=1e-12)
    assert e["approx_dependence"] == pytest.approx(0.0, abs=1e-12)
    assert e["infonce"] == pytest.approx(math.log(11)) and e["infonce_approx"] == pytest.approx(e["infonce"])


def test_expansion_error_is_third_order_in_the_inverse_temperature():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(10, 4, generator=g), torch.randn(10, 4, generator=g)
    err = [abs(e["infonce"] - e["infonce_approx"]) for e in (hi.infonce_expansion(z1, z2, t) for t in (20.0, 40.0))]
    assert err[0] / err[1] == pytest.approx(8.0, rel=0.1)  # halving 1/τ divides the error by 2³


def test_derangement_moves_every_index_and_is_seeded():
    for n in (2, 5, 64):
        d = hi.derangement(n, seed=n)
        assert sorted(d.tolist()) == list(range(n)) and bool((d != torch.arange(n)).all())
    assert torch.equal(hi.derangement(9, 3), hi.derangement(9, 3))


def test_effect_is_the_correlation_beyond_the_shuffled_null():
    """Known answer: the true-pair objective follows InfoNCE exactly (r = 1), the null is anti-trended (r = −1)."""
    rows = [{"infonce": x, "ssl_hsic": 2 * x + 1, "hsic_zy": -x, "ssl_hsic_null": -x, "infonce_approx": x}
            for x in (3.0, 2.0, 1.5, 1.0)]
    assert hi.effect(rows) == pytest.approx(2.0)
    c = hi.correlations(rows[:2])
    assert all(np.isnan(v) for v in c.values())  # fewer than 3 checkpoints: no correlation


def test_target_run_keeps_and_scores_its_predictor_and_target(tmp_path, small_betons):
    from jessl import checkpoint
    from jessl.config import validate
    from jessl.pretrain import pretrain

    p = validate({"datasets": {"digits": {}}, "methods": {"ssl_hsic": {}}, "model": {"projector": [32, 32]},
                  "pretrain": {"epochs": 1, "batch_size": 64}})
    final = tmp_path / "final.pt"
    pretrain(small_betons[0], final, p.run_config("ssl_hsic"), seed=0, threads=1)
    predictor, target = checkpoint.load_heads(final)
    x = torch.rand(4, 3, 16, 16)
    with torch.no_grad():
        assert target(x).shape == (4, 32) and predictor(target(x)).shape == (4, 32)
    batches = [[torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(s)) for s in (0, 1)]]
    out = hi.objectives(final, batches, temperature=0.5, gamma=3.0, scale=1.0)
    assert out["ssl_hsic"] == pytest.approx(3.0 * out["sqrt_hsic_zz"] - out["hsic_zy"], rel=1e-4)
    assert out["ssl_hsic_null"] != out["ssl_hsic"] and math.isfinite(out["infonce_approx"])
