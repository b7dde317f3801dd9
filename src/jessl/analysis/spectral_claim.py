"""Claim 1 of Balestriero & LeCun 2022 measured: SSL optima in the linear regime are spectral embeddings.

(a) `linear_regime`: on a tiny problem with a known augmentation graph G, a linear encoder f(x) = Wx
    trained by gradient descent (float64) on the local (VICReg-style) and the global (SimCLR-style,
    squared) criterion of `spectral` against their closed forms: the relative loss gap and the
    principal angles between the learned and the closed-form subspaces.
    These are the closed forms verified (of the project's own smooth stand-ins), not the paper's statement.
(a') `trained_losses`: the paper's statement proper: linear encoders trained with the project's real VICReg
    and SimCLR losses (`jessl.methods`) against the closed-form subspace (largest principal angle), for
    several toy seeds and sizes.
(b) `graph_alignment`: the closed-form embeddings of raw digit pixels for graphs G that agree with the
    labels (augmented views of one image; two images of one class) or not (random or wrong-class
    pairs), scored by the pipeline's linear probe; `invariance_sweep`: the paper's advice (small invariance
    weight on graphs misaligned with the labels) as the local closed form's probe accuracy over the
    invariance weight, beside the global (SimCLR-sq) form. Graphs are sparse (2n edges for 2n views), and
    `max_images` subsamples, so a CIFAR-10-sized split never builds a dense 2n×2n matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy import sparse
from scipy.linalg import subspace_angles

from . import spectral

PAIRINGS = ("augmentation", "same_class", "random", "other_class")
COLUMNS = ["part", "criterion", "graph", "k", "seed", "samples", "dim", "invariance_weight", "closed_form_loss",
           "trained_loss", "rel_gap", "max_angle_deg", "steps", "linear_top1"]
REAL_LOSSES = ("vicreg", "simclr")  # the project's losses, default hyper-parameters (jessl.methods.registry)


def toy_problem(samples: int, dim: int, views: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """X (views·samples × dim, view-major, standardised) and its augmentation graph G: each sample is a
    correlated Gaussian point, each view adds noise whose scale grows along the coordinates."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(dim, dim, generator=g, dtype=torch.float64)
    s = torch.randn(samples, dim, generator=g, dtype=torch.float64) @ mix
    noise = torch.linspace(0.1, 1.5, dim, dtype=torch.float64)
    x = torch.cat([s + noise * torch.randn(samples, dim, generator=g, dtype=torch.float64) for _ in range(views)])
    return (x - x.mean(0)) / x.std(), spectral.augmentation_graph(samples, views)


def train_linear(loss: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, k: int, seed: int,
                 lr: float, max_steps: int, tol: float = 1e-10) -> tuple[torch.Tensor, float, int]:
    """Full-batch gradient descent (heavy-ball momentum 0.9, float64) on `loss`(XW) from a small random W,
    until the gradient norm is below `tol` or `max_steps`: (W, final loss, steps taken)."""
    g = torch.Generator().manual_seed(seed)
    w = (0.1 * torch.randn(x.shape[1], k, generator=g, dtype=torch.float64)).requires_grad_()
    opt = torch.optim.SGD([w], lr=lr, momentum=0.9)
    step = 0
    for step in range(1, max_steps + 1):
        opt.zero_grad()
        value = loss(x @ w)
        if not torch.isfinite(value):
            raise FloatingPointError(f"gradient descent diverged at step {step} (loss {value.item()}); lower lr")
        value.backward()
        if w.grad.norm() < tol:
            break
        opt.step()
    with torch.no_grad():
        return w.detach(), float(loss(x @ w)), step


def max_angle_deg(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """The largest principal angle (degrees) between the column spaces of `a` and `b`."""
    return float(np.degrees(subspace_angles(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)).max()))


def linear_regime(*, samples: int, dim: int, k: int, views: int, beta: float, seed: int, lr: float,
                  max_steps: int) -> list[dict[str, Any]]:
    """(a): per criterion, the closed-form and the trained loss, their relative gap and the largest angle."""
    x, graph = toy_problem(samples, dim, views, seed)
    forms = {
        "local (VICReg, quadratic variance)": (lambda z: spectral.local_loss(z, graph, beta),
                                               spectral.local_closed_form(x, graph, k, beta)),
        "global (SimCLR, squared / spectral contrastive)": (lambda z: spectral.global_loss(z, graph),
                                                            spectral.global_closed_form(x, graph, k)),
    }
    rows = []
    for name, (loss, (w_star, v_star, _)) in forms.items():
        w, v, steps = train_linear(loss, x, k, seed + 1, lr, max_steps)
        rows.append({"part": "a_linear", "criterion": name, "graph": "augmentation", "k": k,
                     "closed_form_loss": v_star, "trained_loss": v,
                     "rel_gap": abs(v - v_star) / abs(v_star), "max_angle_deg": max_angle_deg(w, w_star),
                     "steps": steps})
    return rows


def pairing(labels: np.ndarray, kind: str, seed: int) -> np.ndarray:
    """π: image i is paired with image π(i): itself (`augmentation`), another image of its class
    (`same_class`), any other image (`random`) or an image of another class (`other_class`)."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    if kind == "augmentation":
        return np.arange(n)
    if kind == "random":
        return (np.arange(n) + rng.integers(1, n, size=n)) % n
    if kind not in ("same_class", "other_class"):
        raise ValueError(f"pairing must be one of {PAIRINGS}, got {kind!r}")
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        pool = np.flatnonzero((labels == labels[i]) if kind == "same_class" else (labels != labels[i]))
        pool = pool[pool != i]
        out[i] = pool[rng.integers(len(pool))]
    return out


def pair_graph(pi: np.ndarray) -> sparse.csr_array:
    """G over the stack [view 1 of every image; view 2 of every image]: an edge between view 1 of i and
    view 2 of π(i) (symmetric, zero diagonal; sparse: 2n stored entries)."""
    n = len(pi)
    g = sparse.coo_array((np.ones(n), (np.arange(n), n + np.asarray(pi))), shape=(2 * n, 2 * n)).tocsr()
    return ((g + g.T) > 0).astype(np.float64)


def trained_losses(*, sizes: list[dict[str, int]], seeds: list[int], lr: float, steps: int,
                   losses: tuple[str, ...] = REAL_LOSSES) -> list[dict[str, Any]]:
    """(a'): for each toy size ({samples, dim, k}), seed and real loss, a linear encoder z = xW (float32, full
    batch, Adam) trained with the project's loss on the two views, and the largest principal angle between W
    and the closed-form subspace (`spectral.linear_closed_form`, the hard-constraint local form; on a pair graph
    with centred X the global form spans the same subspace)."""
    from ..methods import registry

    rows = []
    for size in sizes:
        for seed in seeds:
            x, _ = toy_problem(size["samples"], size["dim"], 2, seed)
            x1, x2 = x[:size["samples"]], x[size["samples"]:]
            w_star, _ = spectral.linear_closed_form([x1, x2], size["k"])
            for name in losses:
                method = registry.get(name)
                gen = torch.Generator().manual_seed(seed + 1)
                w = (0.1 * torch.randn(size["dim"], size["k"], generator=gen)).requires_grad_()
                opt = torch.optim.Adam([w], lr=lr)
                a, b = x1.float(), x2.float()
                for _ in range(steps):
                    opt.zero_grad()
                    value = method([a @ w, b @ w])
                    value.backward()
                    opt.step()
                rows.append({"part": "a_trained", "criterion": name, "graph": "augmentation", "k": size["k"],
                             "seed": seed, "samples": size["samples"], "dim": size["dim"],
                             "trained_loss": float(value.detach()), "steps": steps,
                             "max_angle_deg": max_angle_deg(w.detach(), w_star)})
    return rows


def subsample(n: int, max_images: int | None, seed: int) -> np.ndarray:
    """Sorted indices of at most `max_images` of `n` images (all of them when `max_images` is None or ≥ n)."""
    if max_images is None or max_images >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_images, replace=False))


def _fit_views(x1: torch.Tensor, x2: torch.Tensor, ridge: float) -> tuple[torch.Tensor, float, float]:
    """The stacked views scaled to unit std, the scale, and the ridge relative to the mean variance."""
    x = torch.cat([x1, x2]).double()
    scale = float(x.std())
    x = x / scale
    return x, scale, ridge * float(torch.trace(spectral.covariance(x))) / x.shape[1]


def graph_alignment(*, x1: torch.Tensor, x2: torch.Tensor, train_x: torch.Tensor, train_y: np.ndarray,
                    test_x: torch.Tensor, test_y: np.ndarray, k: int, seed: int, probe_c: float,
                    ridge: float, max_images: int | None = None) -> list[dict[str, Any]]:
    """(b): for each pairing, the local and the global closed form fitted on the two augmented views
    (x1, x2: flattened pixels of the train images; at most `max_images` of them, seeded) and their linear
    probe (%) on train/test pixels."""
    from ..evaluate.linear_probe import linear_probe

    keep = subsample(len(train_y), max_images, seed)
    x, scale, ridge = _fit_views(x1[keep], x2[keep], ridge)
    rows = [{"part": "b_digits", "criterion": "raw pixels (no embedding)", "graph": "-", "k": x.shape[1],
             "linear_top1": linear_probe(train_x.numpy(), train_y, test_x.numpy(), test_y, c=probe_c)}]
    for kind in PAIRINGS:
        graph = pair_graph(pairing(train_y[keep], kind, seed))
        forms = {"local (VICReg / Laplacian eigenmaps)": spectral.local_closed_form(x, graph, k, float("inf"), ridge),
                 "global (SimCLR-sq / MDS)": spectral.global_closed_form(x, graph, k)}
        for name, (w, _, _) in forms.items():
            w = w / scale
            acc = linear_probe((train_x.double() @ w).numpy(), train_y, (test_x.double() @ w).numpy(), test_y,
                               c=probe_c)
            rows.append({"part": "b_digits", "criterion": name, "graph": kind, "k": k, "linear_top1": acc})
    return rows


def invariance_sweep(*, x1: torch.Tensor, x2: torch.Tensor, train_x: torch.Tensor, train_y: np.ndarray,
                     test_x: torch.Tensor, test_y: np.ndarray, k: int, seeds: list[int], weights: list[float],
                     graphs: tuple[str, ...], probe_c: float, ridge: float,
                     max_images: int | None = None) -> list[dict[str, Any]]:
    """The paper's advice on misaligned graphs: per graph and pairing seed, the linear probe (%) of the local
    closed form with invariance weight w (`local_loss` scaled by w: β = 1/w; a dimension whose generalised
    eigenvalue μ ≥ 2/w collapses) for each w in `weights`, and of the global (SimCLR-sq) form, all at `k` dims."""
    from ..evaluate.linear_probe import linear_probe

    rows = []
    for seed in seeds:
        keep = subsample(len(train_y), max_images, seed)
        x, scale, r = _fit_views(x1[keep], x2[keep], ridge)
        for kind in graphs:
            graph = pair_graph(pairing(train_y[keep], kind, seed))
            forms = [(f"local (VICReg), w={w:g}", w, spectral.local_closed_form(x, graph, k, 1.0 / w, r)[0])
                     for w in weights]
            forms.append(("global (SimCLR-sq)", None, spectral.global_closed_form(x, graph, k)[0]))
            for name, w, proj in forms:
                proj = proj / scale
                acc = linear_probe((train_x.double() @ proj).numpy(), train_y, (test_x.double() @ proj).numpy(),
                                   test_y, c=probe_c)
                rows.append({"part": "c_invariance", "criterion": name.split(",")[0], "graph": kind, "k": k,
                             "seed": seed, "invariance_weight": w, "linear_top1": acc})
    return rows
