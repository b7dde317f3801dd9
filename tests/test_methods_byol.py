"""BYOL: loss (official sum of the two directions) and the EMA target schedule/update."""

from __future__ import annotations

import math

import pytest
import torch

from jessl.methods import get
from jessl.methods.byol import byol, ema_momentum, ema_update
from lightly_oracle import NegativeCosineSimilarity


def test_hand_derived():
    p = [torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([[0.0, 2.0], [3.0, 4.0]])]
    t = [torch.tensor([[1.0, 1.0], [0.0, -1.0]]), torch.tensor([[2.0, 0.0], [1.0, 0.0]])]
    # (p1, t2): cos = 1 and 1/√2; (p2, t1): cos = 1/√2 and −4/5.
    d12 = ((2 - 2 * 1) + (2 - 2 / math.sqrt(2))) / 2
    d21 = ((2 - 2 / math.sqrt(2)) + (2 + 2 * 0.8)) / 2
    assert get("byol")([], p, t).item() == pytest.approx(d12 + d21, rel=1e-6)


def test_matches_lightly_up_to_constant():
    g = torch.Generator().manual_seed(11)
    p1, p2, t1, t2 = (torch.randn(8, 16, generator=g) for _ in range(4))
    neg_cos = NegativeCosineSimilarity()
    expected = 4 + 2 * (neg_cos(p1, t2) + neg_cos(p2, t1))  # Σ (2 − 2cos) = 2·2 + 2·Σ(−cos)
    torch.testing.assert_close(byol([p1, p2], [t1, t2]), expected)


def test_targets_get_no_gradient():
    p = [torch.randn(4, 3, requires_grad=True) for _ in range(2)]
    t = [torch.randn(4, 3, requires_grad=True) for _ in range(2)]
    byol(p, t).backward()
    assert all(x.grad is not None and x.grad.abs().sum() > 0 for x in p)
    assert all(x.grad is None for x in t)


def test_ema_momentum_schedule():
    assert ema_momentum(0, 100, 0.99) == pytest.approx(0.99)
    assert ema_momentum(50, 100, 0.99) == pytest.approx(0.995)
    assert ema_momentum(100, 100, 0.99) == pytest.approx(1.0)
    assert ema_momentum(250, 100, 0.99) == pytest.approx(1.0)  # k clamped at K
    assert ema_momentum(25, 100, 0.996) == pytest.approx(1 - 0.004 * (math.cos(math.pi / 4) + 1) / 2)


def test_ema_update():
    torch.manual_seed(0)
    online = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    target = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    online(torch.randn(8, 3))  # moves the online BatchNorm statistics
    before = [p.detach().clone() for p in target.parameters()]
    ema_update(target, online, 0.9)
    for xi, old, theta in zip(target.parameters(), before, online.parameters()):
        torch.testing.assert_close(xi, 0.9 * old + 0.1 * theta)
    for bt, bo in zip(target.buffers(), online.buffers()):
        torch.testing.assert_close(bt, bo)
    assert not any(p.requires_grad is False for p in target.parameters())


def test_foreach_ema_update_is_bit_identical_to_the_per_tensor_loop():
    from jessl.models import EmaTarget, Encoder

    torch.manual_seed(0)
    online = Encoder("resnet_tiny", [16, 8], predictor_hidden=8)
    target = EmaTarget(online, 0.99)
    reference = EmaTarget(online, 0.99)
    for step in range(3):
        online(torch.randn(4, 3, 12, 12))  # moves the BatchNorm statistics
        with torch.no_grad():
            for p in online.parameters():
                p.add_(torch.randn_like(p) * 0.1)
        target.step(online, step, 10)
        m = ema_momentum(step, 10, 0.99)
        with torch.no_grad():
            for net, src in ((reference.backbone, online.backbone), (reference.projector, online.projector)):
                for xi, theta in zip(net.parameters(), src.parameters()):
                    xi.lerp_(theta, 1.0 - m)
                for bt, bo in zip(net.buffers(), src.buffers()):
                    bt.copy_(bo)
    for a, b in zip(target.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)
