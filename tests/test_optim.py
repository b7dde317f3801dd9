"""LARS against the published update rule, and the warm-up + cosine learning-rate schedule."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from jessl.optim import LARS, build_optimizer, lr_at, param_groups


# --- an independent reference for LARS --------------------------------------------------------
# You et al. 2017, in the form of the official Barlow Twins (main.py) and VICReg (main_vicreg.py) code,
# with their filters on (biases and norm parameters are exactly the 1-D tensors there):
#   d = g + wd·w for a weight, d = g for a bias/norm parameter;
#   for a weight, d ← d·q with q = η‖w‖/‖d‖ (q = 1 when ‖w‖ = 0 or ‖d‖ = 0);
#   μ ← m·μ + d (μ starts at 0); w ← w − lr·μ.
# clip_lr is LARC's clipping as solo-learn applies it: q ← min(q/lr, 1).
def reference_lars_step(weights, grads, buffers, lr, wd, momentum, eta, clip_lr=False):
    new_weights, new_buffers, clipped = [], [], 0
    for w, g, mu in zip(weights, grads, buffers, strict=True):
        if w.dim() == 1:
            d = g.clone()
        else:
            d = g + wd * w
            w_norm = math.sqrt(float((w * w).sum()))
            d_norm = math.sqrt(float((d * d).sum()))
            q = eta * w_norm / d_norm if (w_norm > 0 and d_norm > 0) else 1.0
            if clip_lr:
                clipped += q / lr > 1
                q = min(q / lr, 1.0)
            d = d * q
        mu = momentum * mu + d
        new_weights.append(w - lr * mu)
        new_buffers.append(mu)
    return new_weights, new_buffers, clipped


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 5), nn.LayerNorm(5),
                         nn.Linear(5, 3)).double()


def _batch(step: int):
    g = torch.Generator().manual_seed(100 + step)
    return torch.randn(16, 6, generator=g, dtype=torch.float64), torch.randint(0, 3, (16,), generator=g)


@pytest.mark.parametrize(("wd", "momentum", "eta", "clip_lr", "lrs"), [
    (1e-4, 0.9, 1e-3, False, [0.5, 1.0, 2.0, 1.5, 0.7, 0.3]),
    (0.05, 0.5, 0.02, False, [0.5, 1.0, 2.0, 1.5, 0.7, 0.3]),
    (0.0, 0.0, 1e-3, False, [0.5, 1.0, 2.0, 1.5, 0.7, 0.3]),
    (1e-4, 0.9, 0.02, True, [0.01, 0.02, 0.05, 0.1, 0.03, 0.005]),  # clipping bites on some steps, not all
], ids=["solo-defaults", "strong-decay", "no-momentum", "clip_lr"])
def test_lars_matches_the_published_rule_over_six_steps(wd, momentum, eta, clip_lr, lrs):
    model = _model()
    params = list(model.parameters())
    assert {p.dim() for p in params} == {1, 2}  # both branches of the rule are exercised
    initial = [p.detach().clone() for p in params]
    weights = list(initial)
    buffers = [torch.zeros_like(w) for w in weights]
    opt = build_optimizer(model, name="lars", lr=0.0, weight_decay=wd, momentum=momentum, eta=eta, clip_lr=clip_lr,
                          exclude_bias_n_norm=True)
    clipped = 0
    for step, lr in enumerate(lrs):
        x, y = _batch(step)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        grads = [p.grad.detach().clone() for p in params]
        for group in opt.param_groups:  # the loop sets group["lr"] every step, like pretrain does
            group["lr"] = lr
        opt.step()
        weights, buffers, n = reference_lars_step(weights, grads, buffers, lr, wd, momentum, eta, clip_lr)
        clipped += n
        for p, w in zip(params, weights, strict=True):
            torch.testing.assert_close(p.detach(), w, rtol=1e-6, atol=1e-12)
    # the parameters did move (the comparison is not between two frozen models)
    assert all(not torch.equal(p.detach(), w0) for p, w0 in zip(params, initial, strict=True))
    if clip_lr:
        assert 0 < clipped < 3 * len(lrs)  # 3 weight matrices: some steps clipped, some not


def test_lars_without_exclusion_adapts_and_decays_every_parameter():
    """exclude_bias_n_norm: false is the official code with its filters off: one rule for all tensors."""
    b = nn.Linear(1, 3).double()
    with torch.no_grad():
        b.weight.zero_()  # ‖w‖ = 0: ratio 1, only the bias is interesting
        b.bias.copy_(torch.tensor([1.0, -2.0, 3.0]))
    b.weight.grad = torch.zeros_like(b.weight)
    b.bias.grad = torch.tensor([0.5, 0.25, -1.0], dtype=torch.float64)
    w0, g = b.bias.detach().clone(), b.bias.grad.clone()
    build_optimizer(b, name="lars", lr=0.1, weight_decay=0.5, momentum=0.9, eta=0.01).step()
    d = g + 0.5 * w0
    torch.testing.assert_close(b.bias.detach(), w0 - 0.1 * 0.01 * w0.norm() / d.norm() * d)


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
    m = nn.BatchNorm1d(3).double()
    with torch.no_grad():
        m.bias.copy_(torch.tensor([1.0, -2.0, 3.0]))
    m.bias.grad = torch.tensor([0.5, 0.25, -1.0], dtype=torch.float64)
    m.weight.grad = torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)
    build_optimizer(m, name="lars", lr=0.1, weight_decay=10.0, momentum=0.9, eta=1e-3, exclude_bias_n_norm=True).step()
    torch.testing.assert_close(m.bias.detach(), torch.tensor([0.95, -2.025, 3.1], dtype=torch.float64))
    torch.testing.assert_close(m.weight.detach(), torch.tensor([0.9, 1.0, 1.1], dtype=torch.float64))


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


class _Odd(nn.Module):
    """A 1-D parameter that is neither a bias nor in a norm layer (a learned gain), and a 2-D one in a norm:
    grouping goes by module type and attribute, not by shape."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(4))
        self.conv = nn.Conv2d(2, 4, 3, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.inorm = nn.InstanceNorm2d(4, affine=True)
        self.gn = nn.GroupNorm(2, 4)
        self.ln = nn.LayerNorm([4, 3])  # a 2-D weight, still a norm parameter
        self.rms = nn.RMSNorm(3)
        self.lin = nn.Linear(3, 2)


def test_param_groups_split_by_module_type():
    m = _Odd()
    decayed, plain = param_groups(m, weight_decay=0.3, exclude_bias_n_norm=True)
    names = {id(p): n for n, p in m.named_parameters()}
    assert sorted(names[id(p)] for p in decayed["params"]) == ["conv.weight", "gain", "lin.weight"]
    assert sorted(names[id(p)] for p in plain["params"]) == sorted(
        ["bn.weight", "bn.bias", "inorm.weight", "inorm.bias", "gn.weight", "gn.bias", "ln.weight", "ln.bias",
         "rms.weight", "lin.bias"])
    assert (decayed["weight_decay"], decayed["lars_adapt"]) == (0.3, True)
    assert (plain["weight_decay"], plain["lars_adapt"]) == (0.0, False)
    (everything,) = param_groups(m, weight_decay=0.3, exclude_bias_n_norm=False)
    assert len(everything["params"]) == len(list(m.parameters())) and everything["weight_decay"] == 0.3
    shared = nn.Sequential(m.lin, m.lin)  # a parameter shared by two modules is listed once
    assert sum(len(g["params"]) for g in param_groups(shared, 0.1, True)) == 2


@pytest.mark.parametrize("name", ["adamw", "sgd", "lars"])
@pytest.mark.parametrize("exclude", [True, False])
def test_every_optimiser_leaves_norm_and_bias_undecayed_when_asked(name, exclude):
    """Gradients are zero, so any change comes from weight decay alone."""
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(0.5)
    for p in m.parameters():
        p.grad = torch.zeros_like(p)
    opt = build_optimizer(m, name=name, lr=0.1, weight_decay=0.5, momentum=0.9, exclude_bias_n_norm=exclude)
    opt.step()
    weight, bias, bn_w, bn_b = m[0].weight, m[0].bias, m[1].weight, m[1].bias
    if name != "lars":  # LARS: a zero gradient plus decay is a pure-decay step; checked for the weight only
        assert bool((weight < 0.5).all())
    for p in (bias, bn_w, bn_b):
        assert torch.equal(p.detach(), torch.full_like(p, 0.5)) == exclude


def test_build_optimizer():
    model = nn.Linear(3, 2)
    lars = build_optimizer(model, name="lars", lr=0.3, weight_decay=1e-4, momentum=0.8, eta=0.02, clip_lr=True)
    assert isinstance(lars, LARS)
    g = lars.param_groups[0]
    assert (g["momentum"], g["weight_decay"], g["eta"], g["clip_lr"]) == (0.8, 1e-4, 0.02, True)
    assert isinstance(build_optimizer(model, name="adamw", lr=1e-3, weight_decay=1e-4, momentum=0.9),
                      torch.optim.AdamW)
    assert isinstance(build_optimizer(model, name="sgd", lr=1e-1, weight_decay=1e-4, momentum=0.9), torch.optim.SGD)
    with pytest.raises(ValueError, match="unknown optimiser 'adam'; allowed: adamw, sgd, lars"):
        build_optimizer(model, name="adam", lr=1e-3, weight_decay=0.0, momentum=0.9)


# --- the learning-rate schedule -----------------------------------------------------------------
def closed_form(step, total, warmup, peak, start, end):
    """Linear warm-up from `start` reaching `peak` at step warmup − 1, then a half cosine to `end` at `total`."""
    if step < warmup:
        return start + (peak - start) * (step + 1) / warmup
    t = min(step, total) - warmup
    return end + (peak - end) * (1 + math.cos(math.pi * t / (total - warmup))) / 2


@pytest.mark.parametrize(("start", "end"), [(0.0, 0.0), (3e-5, 0.0), (0.01, 0.002)])
def test_lr_at_matches_the_closed_form(start, end):
    peak, warmup, total = 0.8, 10, 110
    for step in (0, 1, 4, 9, 10, 11, 35, 60, 85, 109, 110, 150):
        got = lr_at(step, total=total, warmup=warmup, peak=peak, start=start, end=end)
        assert got == pytest.approx(closed_form(step, total, warmup, peak, start, end), rel=1e-12, abs=1e-15)
    # the landmarks, by hand: the first step, the peak, half-way through the cosine, the end
    assert lr_at(0, total=total, warmup=warmup, peak=peak, start=start, end=end) == pytest.approx(
        start + (peak - start) / 10)
    assert lr_at(9, total=total, warmup=warmup, peak=peak, start=start, end=end) == pytest.approx(peak)
    assert lr_at(60, total=total, warmup=warmup, peak=peak, start=start, end=end) == pytest.approx((peak + end) / 2)
    assert lr_at(total, total=total, warmup=warmup, peak=peak, start=start, end=end) == pytest.approx(end)


def test_lr_warmup_is_linear_and_the_decay_monotone():
    peak, warmup, total, start, end = 0.8, 10, 100, 0.05, 1e-3
    lrs = [lr_at(s, total=total, warmup=warmup, peak=peak, start=start, end=end) for s in range(total)]
    diffs = [b - a for a, b in zip(lrs[:warmup], lrs[1:warmup])]
    assert diffs == pytest.approx([(peak - start) / warmup] * (warmup - 1))
    assert all(b < a for a, b in zip(lrs[warmup:], lrs[warmup + 1:]))  # strictly decreasing
    assert end < lrs[-1] < 2 * end + 1e-3  # the last step the loop takes is just above the end


def test_the_default_schedule_is_the_earlier_one_with_min_lr_a_thousandth():
    """Before min_lr existed the cosine ended at 0.001·lr (the embedded profile now says min_lr: 2.0e-6)."""
    peak, warmup, total, r = 0.002, 24, 288, 1e-3
    for step in (0, 5, 23, 24, 100, 287):
        old = peak * (step + 1) / warmup if step < warmup else peak * (
            r + (1 - r) * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))))
        assert lr_at(step, total=total, warmup=warmup, peak=peak, end=r * peak) == pytest.approx(old, rel=1e-12)


@pytest.mark.parametrize(("total", "warmup"), [(1, 0), (1, 1), (0, 0), (5, 0), (3, 3), (2, 5)])
def test_lr_degenerate_lengths_do_not_divide_by_zero(total, warmup):
    base = 0.3
    lrs = [lr_at(s, total=total, warmup=warmup, peak=base) for s in range(max(total, 1))]
    assert all(math.isfinite(v) and 0 < v <= base for v in lrs)
    if warmup == 0:
        assert lrs[0] == pytest.approx(base)  # no warm-up: start at the base rate


class PerParameterLARS(LARS):
    """The earlier per-parameter loop of `LARS.step`, kept as the reference of its `_foreach_` form."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr = group["lr"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                if group["lars_adapt"]:
                    w_norm, d_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(d)
                    ratio = torch.where((w_norm > 0) & (d_norm > 0), group["eta"] * w_norm / d_norm,
                                        torch.ones_like(w_norm))
                    if group["clip_lr"] and lr > 0:
                        ratio = torch.clamp(ratio / lr, max=1.0)
                    d = d * ratio
                buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                buf.mul_(group["momentum"]).add_(d)
                p.add_(buf, alpha=-lr)


@pytest.mark.parametrize("clip_lr", [False, True])
def test_foreach_lars_is_bit_identical_to_the_per_parameter_loop_and_allocates_its_buffers_once(clip_lr):
    from jessl.models import Encoder

    models = []
    for cls in (LARS, PerParameterLARS):
        torch.manual_seed(0)
        model = Encoder("resnet_tiny", [32, 16])
        opt = cls(param_groups(model, 1e-4, True), lr=0.3, weight_decay=1e-4, momentum=0.9, eta=0.02,
                  clip_lr=clip_lr)
        bufs = None
        for step in range(4):
            x = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(step))
            opt.zero_grad()
            model(x).square().sum().backward()
            opt.param_groups[0]["lr"] = opt.param_groups[1]["lr"] = 0.3 / (step + 1)
            opt.step()
            now = [id(s["momentum_buffer"]) for s in opt.state.values()]
            assert bufs is None or now == bufs  # the same tensors every step
            bufs = now
        models.append(model)
    for a, b in zip(models[0].state_dict().values(), models[1].state_dict().values()):
        assert torch.equal(a, b)
