"""The linear-regime closed form (analysis/spectral.py) against a linear encoder trained by gradient descent."""

from __future__ import annotations

import pytest
import torch

from jessl.analysis.spectral import augmentation_graph, invariance, linear_closed_form


def _problem(seed=0, n=40, d=5):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g, dtype=torch.float64)
    s = torch.randn(n, d, generator=g, dtype=torch.float64) @ mix
    noise = torch.tensor([0.05, 0.3, 1.0, 0.5, 2.0], dtype=torch.float64)  # augmentation strength per dim
    x1 = s + noise * torch.randn(n, d, generator=g, dtype=torch.float64)
    x2 = s + noise * torch.randn(n, d, generator=g, dtype=torch.float64)
    return x1, x2


def _whiten(z):
    zc = z - z.mean(0)
    chol = torch.linalg.cholesky(zc.T @ zc / (z.shape[0] - 1))
    return torch.linalg.solve_triangular(chol, zc.T, upper=False).T


def test_augmentation_graph():
    g = augmentation_graph(2, 3)
    assert g.shape == (6, 6) and torch.equal(g, g.T) and g.diagonal().abs().sum() == 0
    assert g[0].tolist() == [0, 0, 1, 0, 1, 0]


def test_closed_form_is_feasible_and_attains_its_value():
    x1, x2 = _problem()
    w, value = linear_closed_form([x1, x2], k=2)
    x, graph = torch.cat([x1, x2]), augmentation_graph(40)
    z = x @ w
    zc = z - z.mean(0)
    torch.testing.assert_close(zc.T @ zc / (z.shape[0] - 1), torch.eye(2, dtype=torch.float64))
    assert invariance(z, graph).item() == pytest.approx(value, rel=1e-9)
    # Same answer from an explicit graph; any other whitened projection does no better.
    assert linear_closed_form(x, 2, graph)[1] == pytest.approx(value, rel=1e-12)
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        other = _whiten(x @ torch.randn(5, 2, generator=g, dtype=torch.float64))
        assert invariance(other, graph).item() >= value - 1e-9


def test_gradient_descent_reaches_closed_form():
    """min_V invariance(whiten(XV)) by Adam (whitening as a hard constraint) → the closed form."""
    x1, x2 = _problem()
    x, graph = torch.cat([x1, x2]), augmentation_graph(40)
    w_star, value = linear_closed_form([x1, x2], k=2)
    v = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).requires_grad_()
    opt = torch.optim.Adam([v], lr=0.05)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 1500, eta_min=1e-4)
    for _ in range(1500):
        opt.zero_grad()
        loss = invariance(_whiten(x @ v), graph)
        loss.backward()
        opt.step()
        sched.step()
    trained = invariance(_whiten(x @ v.detach()), graph).item()
    assert trained == pytest.approx(value, rel=1e-4)

    def projector(z):  # orthogonal projector onto the span of the centred embeddings
        q, _ = torch.linalg.qr(z - z.mean(0))
        return q @ q.T

    torch.testing.assert_close(projector(x @ v.detach()), projector(x @ w_star), atol=1e-3, rtol=0)


def test_spectral_is_analysis_not_a_method():
    """The closed form is a computation behind a claim, not a training loss: not in methods/, not registered."""
    import importlib.util
    import pkgutil

    import jessl.methods
    from jessl.methods import METHODS

    assert importlib.util.find_spec("jessl.analysis.spectral") is not None
    assert "spectral" not in {m.name for m in pkgutil.iter_modules(jessl.methods.__path__)}
    for method in METHODS.values():
        fn = getattr(method.fn, "func", method.fn)  # the imported loss, functools.partial unwrapped
        assert not fn.__module__.startswith("jessl.analysis"), method.name
