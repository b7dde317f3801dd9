"""LARS against the published update rule, and the warm-up + cosine learning-rate schedule."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from jessl.optim import LARS, build_optimizer, lr_at


# --- an independent reference for LARS --------------------------------------------------------
# You et al. 2017, in the form of the official VICReg / Barlow Twins code: for a weight (not a bias or
# a norm parameter) the decayed gradient d = g + wd·w is scaled by the trust ratio η‖w‖/‖d‖ (1 when
# either norm is 0); biases and norm parameters (1-D) take d = g as is. Then μ ← m·μ + d, w ← w − lr·μ.
def reference_lars_step(weights, grads, buffers, lr, wd, momentum, eta):
    new_weights, new_buffers = [], []
    for w, g, mu in zip(weights, grads, buffers, strict=True):
        if w.dim() == 1:
            d = g.clone()
        else:
            d = g + wd * w
            w_norm = math.sqrt(float((w * w).sum()))
            d_norm = math.sqrt(float((d * d).sum()))
            ratio = eta * w_norm / d_norm if (w_norm > 0 and d_norm > 0) else 1.0
            d = d * ratio
        mu = momentum * mu + d
        new_weights.append(w - lr * mu)
        new_buffers.append(mu)
    return new_weights, new_buffers


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).double()


def _batch(step: int):
    g = torch.Generator().manual_seed(100 + step)
    return torch.randn(16, 6, generator=g, dtype=torch.float64), torch.randint(0, 3, (16,), generator=g)


@pytest.mark.parametrize(("wd", "momentum", "eta"), [(1e-4, 0.9, 1e-3), (0.05, 0.5, 0.02), (0.0, 0.0, 1e-3)])
def test_lars_matches_the_published_rule_over_several_steps(wd, momentum, eta):
    model = _model()
    params = list(model.parameters())
    assert {p.dim() for p in params} == {1, 2}  # both branches of the rule are exercised
    initial = [p.detach().clone() for p in params]
    weights = list(initial)
    buffers = [torch.zeros_like(w) for w in weights]
    opt = LARS(params, lr=0.0, weight_decay=wd, momentum=momentum, eta=eta)
    lrs = [0.5, 1.0, 2.0, 1.5, 0.7, 0.3]  # the loop sets group["lr"] every step, like pretrain does
    for step, lr in enumerate(lrs):
        x, y = _batch(step)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        grads = [p.grad.detach().clone() for p in params]
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        weights, buffers = reference_lars_step(weights, grads, buffers, lr, wd, momentum, eta)
        for p, w in zip(params, weights, strict=True):
            torch.testing.assert_close(p.detach(), w, rtol=1e-12, atol=1e-14)
    # the parameters did move (the comparison is not between two frozen models)
    assert all(not torch.equal(p.detach(), w0) for p, w0 in zip(params, initial, strict=True))


def test_lars_trust_ratio_makes_the_weight_step_independent_of_gradient_scale():
    w0 = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    g = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    steps = []
    for scale in (1e-3, 1.0, 1e3):
        p = nn.Parameter(w0.clone())
        p.grad = g * scale
        LARS([p], lr=1.0, weight_decay=0.0, momentum=0.9, eta=0.01).step()
        steps.append(w0 - p.detach())
    for s in steps[1:]:
        torch.testing.assert_close(s, steps[0])
    # first step: lr·η·‖w‖ in norm, along the gradient
    assert steps[0].norm().item() == pytest.approx(0.01 * w0.norm().item(), rel=1e-12)


def test_lars_bias_and_norm_parameters_skip_decay_and_ratio():
    b = nn.Parameter(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    b.grad = torch.tensor([0.5, 0.25, -1.0], dtype=torch.float64)
    LARS([b], lr=0.1, weight_decay=10.0, momentum=0.9, eta=1e-3).step()
    torch.testing.assert_close(b.detach(), torch.tensor([0.95, -2.025, 3.1], dtype=torch.float64))


def test_lars_zero_norms_use_a_ratio_of_one():
    w = nn.Parameter(torch.zeros(3, 2, dtype=torch.float64))  # ‖w‖ = 0: plain (decayed) gradient step
    w.grad = torch.full((3, 2), 2.0, dtype=torch.float64)
    v = nn.Parameter(torch.ones(3, 2, dtype=torch.float64))  # ‖g + wd·w‖ = 0: no step, no NaN
    v.grad = torch.full((3, 2), -0.5, dtype=torch.float64)
    LARS([w, v], lr=0.1, weight_decay=0.5, momentum=0.9).step()
    torch.testing.assert_close(w.detach(), torch.full((3, 2), -0.2, dtype=torch.float64))
    torch.testing.assert_close(v.detach(), torch.ones(3, 2, dtype=torch.float64))


def test_lars_skips_parameters_without_gradient():
    frozen = nn.Parameter(torch.ones(2, 2))
    LARS([frozen], lr=1.0, weight_decay=0.1).step()
    assert torch.equal(frozen.detach(), torch.ones(2, 2))


def test_build_optimizer():
    params = list(nn.Linear(3, 2).parameters())
    lars = build_optimizer(params, "lars", lr=0.3, weight_decay=1e-4, momentum=0.8)
    assert isinstance(lars, LARS)
    assert lars.param_groups[0]["momentum"] == 0.8 and lars.param_groups[0]["weight_decay"] == 1e-4
    assert isinstance(build_optimizer(params, "adamw", 1e-3, 1e-4, 0.9), torch.optim.AdamW)
    assert isinstance(build_optimizer(params, "sgd", 1e-1, 1e-4, 0.9), torch.optim.SGD)
    with pytest.raises(ValueError, match="unknown optimiser 'adam'; allowed: adamw, sgd, lars"):
        build_optimizer(params, "adam", 1e-3, 0.0, 0.9)


# --- the learning-rate schedule -----------------------------------------------------------------
def test_lr_warmup_is_linear_from_near_zero():
    base, warmup, total = 0.8, 10, 100
    lrs = [lr_at(s, total, warmup, base) for s in range(warmup)]
    assert 0 < lrs[0] <= base / warmup  # the first step already moves, by at most base/warmup
    diffs = [b - a for a, b in zip(lrs, lrs[1:])]
    assert diffs == pytest.approx([base / warmup] * (warmup - 1))
    assert lrs[-1] == pytest.approx(base)  # end of warm-up: the base rate


def test_lr_cosine_decay_after_warmup():
    base, warmup, total, r = 0.8, 10, 110, 1e-3
    assert lr_at(warmup, total, warmup, base, r) == pytest.approx(base)
    assert lr_at(warmup + 50, total, warmup, base, r) == pytest.approx(base * (r + (1 - r) / 2))  # half-way
    assert lr_at(warmup + 25, total, warmup, base, r) == pytest.approx(
        base * (r + (1 - r) * 0.5 * (1 + math.cos(math.pi / 4)))
    )
    after = [lr_at(s, total, warmup, base, r) for s in range(warmup, total)]
    assert all(b < a for a, b in zip(after, after[1:]))  # strictly decreasing
    last = lr_at(total - 1, total, warmup, base, r)  # the last step the loop takes
    assert r * base < last < 2 * r * base
    assert lr_at(total, total, warmup, base, r) == pytest.approx(r * base)  # the end: final_ratio·base
    assert lr_at(total + 40, total, warmup, base, r) == pytest.approx(r * base)  # clamped beyond the end


@pytest.mark.parametrize(("total", "warmup"), [(1, 0), (1, 1), (0, 0), (5, 0), (3, 3), (2, 5)])
def test_lr_degenerate_lengths_do_not_divide_by_zero(total, warmup):
    base = 0.3
    lrs = [lr_at(s, total, warmup, base) for s in range(max(total, 1))]
    assert all(math.isfinite(v) and 0 < v <= base for v in lrs)
    if warmup == 0:
        assert lrs[0] == pytest.approx(base)  # no warm-up: start at the base rate
