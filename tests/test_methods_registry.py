"""Registry, and properties every registered loss must have: gradients, bf16, permutation invariance."""

from __future__ import annotations

import inspect

import pytest
import torch

from jessl.methods import METHODS, get
from jessl.methods.registry import UnknownMethodError

HSIC = {"gamma": 3.0, "kernel": "imq", "scale": 1.0, "estimator": "rff", "num_features": 512}
EXPECTED_HPARAMS = {
    "simclr": {"temperature": 0.5, "num_negatives": None},
    "dcl": {"temperature": 0.1, "num_negatives": None},
    "simclr_abs": {"temperature": 0.5, "num_negatives": None},
    "simclr_sq": {"temperature": 0.5, "num_negatives": None},
    "vicreg": {"sim_coeff": 25.0, "std_coeff": 25.0, "cov_coeff": 1.0, "eps": 1e-4},
    "vicreg_exp": {"sim_coeff": 25.0, "std_coeff": 25.0, "cov_coeff": 1.0, "eps": 1e-4, "temperature": 1.0},
    "vicreg_ctr": {"sim_coeff": 25.0, "std_coeff": 25.0, "cov_coeff": 1.0, "eps": 1e-4, "temperature": 1.0},
    "barlow_twins": {"lambda_param": 0.0051, "scale_loss": 1.0},
    "frossl": {"invariance_weight": 1.0},
    "byol": {},
    "ssl_hsic": HSIC,
    "ssl_hsic_notarget": HSIC,
}


def test_every_method_is_registered_with_its_hparams():
    assert set(METHODS) == set(EXPECTED_HPARAMS)
    for name, method in METHODS.items():
        assert get(name) is method and method.name == name
        assert method.hparams == EXPECTED_HPARAMS[name]
        signature = inspect.signature(method.fn).parameters  # the imported loss
        for key, default in method.hparams.items():  # hparams are the loss's keyword defaults
            assert signature[key].default == default
        assert set(method.bound) <= set(signature)


def test_unknown_method_lists_known_ones():
    with pytest.raises(UnknownMethodError) as err:
        get("simsiam")
    assert "simsiam" in str(err.value)
    assert all(name in str(err.value) for name in METHODS)


def _inputs(method, views, seed=0, dtype=torch.float32, requires_grad=True):
    g = torch.Generator().manual_seed(seed)
    z = [torch.randn(12, 6, generator=g, dtype=dtype).requires_grad_(requires_grad) for _ in range(views)]
    t = [torch.randn(12, 6, generator=g, dtype=dtype).requires_grad_(requires_grad) for _ in range(views)]
    return z, t


def _call(method, z, t):
    torch.manual_seed(0)  # the RFF draw of ssl_hsic
    if method.needs_target:
        return method([zi.detach() for zi in z], p=z, t=t)
    return method(z)


@pytest.mark.parametrize("name", sorted(EXPECTED_HPARAMS))
def test_gradients_flow_to_the_online_branches_only(name):
    method = get(name)
    views = 3 if method.inputs == "views" else 2
    z, t = _inputs(method, views)
    loss = _call(method, z, t)
    assert loss.dtype == torch.float32 and loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    for zi in z:
        assert zi.grad is not None and torch.isfinite(zi.grad).all() and zi.grad.abs().sum() > 0
    if method.needs_target:
        assert all(ti.grad is None for ti in t)


@pytest.mark.parametrize("name", sorted(EXPECTED_HPARAMS))
def test_bf16_autocast(name):
    method = get(name)
    views = 3 if method.inputs == "views" else 2
    torch.manual_seed(1)
    layer = torch.nn.Linear(8, 6)
    xs = [torch.randn(12, 8) for _ in range(2 * views)]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        outs = [layer(x) for x in xs]
        assert outs[0].dtype == torch.bfloat16
        z, t = outs[:views], [o.detach() for o in outs[views:]]
        torch.manual_seed(0)
        loss = method(z, p=z, t=t) if method.needs_target else method(z)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(layer.weight.grad).all() and layer.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", sorted(EXPECTED_HPARAMS))
def test_invariant_to_permuting_the_batch(name):
    method = get(name)
    views = 3 if method.inputs == "views" else 2
    z, t = _inputs(method, views, seed=2, requires_grad=False)
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(3))
    permuted = _call(method, [zi[perm] for zi in z], [ti[perm] for ti in t])
    torch.testing.assert_close(permuted, _call(method, z, t), rtol=1e-5, atol=1e-5)


def test_check_views():
    get("frossl").check_views(4)
    with pytest.raises(ValueError, match="exactly 2"):
        get("simclr").check_views(3)
