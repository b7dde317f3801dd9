"""Figures (PNG, matplotlib): accuracy per method, pretraining loss, convergence, spectrum, transfer.

Colour-blind-safe colours (Okabe & Ito 2008) with line styles/markers when there are more series than
colours; titled, labelled axes with units; fixed PNG metadata so the same numbers give the same bytes.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..io import atomic_path  # noqa: E402
from .tables import PROBES  # noqa: E402 (the probes and their labels)

PNG_META = {"Software": None}
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def _save(fig, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, metadata=PNG_META, bbox_inches="tight")
    plt.close(fig)


def _nothing(path: str | Path, what: str) -> None:
    """A figure that says what is not configured (an empty plot would look like a failure)."""
    fig, ax = plt.subplots(figsize=(6, 2), layout="constrained")
    ax.axis("off")
    ax.text(0.5, 0.5, what, ha="center", va="center", fontsize=11, wrap=True)
    _save(fig, path)


def styles(names: list[str]) -> dict[str, dict[str, Any]]:
    """A distinct (colour, line style, marker) per name, colours first."""
    combos = itertools.product(["-", "--", ":"], OKABE_ITO)
    markers = itertools.cycle(["o", "s", "^", "D", "v", "P", "X", "*"])
    return {n: {"color": c, "linestyle": ls, "marker": next(markers)} for n, (ls, c) in zip(names, combos)}


def accuracy_bars(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Grouped bars of linear / few-label / k-NN top-1 per method, one panel per dataset."""
    datasets = sorted({r["dataset"] for r in rows})
    fig, axes = plt.subplots(1, len(datasets), figsize=(max(6, 1.2 * len(rows) / len(datasets) + 3), 4),
                             squeeze=False, layout="constrained")
    for ax, ds in zip(axes[0], datasets, strict=True):
        rs = [r for r in rows if r["dataset"] == ds]
        x = np.arange(len(rs))
        for j, (key, label) in enumerate(PROBES):
            ax.bar(x + (j - 1) * 0.27, [r[key] for r in rs], 0.27, label=label, color=OKABE_ITO[j],
                   yerr=[r.get(f"{key}_std", 0) for r in rs])
        ax.set_xticks(x, [r["method"] for r in rs], rotation=30, ha="right")
        low = max(0, min(r[k] for r in rs for k, _ in PROBES) - 10)
        ax.set_ylim(low, 100)
        ax.set_ylabel("top-1 accuracy (%)" + (f" — axis starts at {low:.0f} %" if low > 0 else ""))
        ax.set_title(f"{ds}: frozen-backbone probes on the test split")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(loc="lower right", fontsize=8)
    _save(fig, path)


def loss_curves(histories: dict[str, list[float]], path: str | Path) -> None:
    """Pretraining loss per epoch, one panel per run (losses live on different scales)."""
    names = [n for n, h in histories.items() if h]
    cols = min(4, max(1, len(names)))
    rows = max(1, -(-len(names) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False, layout="constrained")
    for ax, name in zip(axes.flat, names, strict=False):
        h = histories[name]
        ax.plot(np.arange(1, len(h) + 1), h, marker=".", color=OKABE_ITO[0])
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (method's own units)", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle("pretraining loss (mean over each epoch's batches)")
    _save(fig, path)


def convergence(rows: list[dict[str, Any]], path: str | Path,
                untrained: dict[str, dict[str, float]] | None = None) -> None:
    """Accuracy of the kept checkpoints vs epoch, one line per method; a panel per dataset × probe;
    `untrained[dataset][probe]` (random_init) drawn as a grey reference line."""
    datasets = sorted({r["dataset"] for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    if not rows:
        return _nothing(path, "no kept checkpoints: set pretrain.keep_epochs in params.yaml (e.g. [25, 50, 75])")
    style = styles(methods)
    fig, axes = plt.subplots(len(datasets), 3, figsize=(13, 3.8 * len(datasets)), squeeze=False,
                             layout="constrained")
    for i, ds in enumerate(datasets):
        for j, (key, label) in enumerate(PROBES):
            ax = axes[i][j]
            for m in methods:
                pts = sorted({(r["epoch"], r[key]) for r in rows if r["dataset"] == ds and r["method"] == m})
                if pts:
                    by_epoch: dict[int, list[float]] = {}
                    for e, v in pts:
                        by_epoch.setdefault(e, []).append(v)
                    xs = sorted(by_epoch)
                    ax.plot(xs, [np.mean(by_epoch[e]) for e in xs], label=m, markersize=4, **style[m])
            if untrained and ds in untrained:
                ax.axhline(untrained[ds][key], color="grey", linestyle="--", linewidth=1, label="untrained backbone")
            ax.set_title(f"{ds}: {label} probe")
            ax.set_xlabel("pretraining epoch")
            ax.set_ylabel("top-1 accuracy (%)")
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.grid(alpha=0.3)
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    fig.suptitle("convergence: frozen-backbone probes of checkpoints kept during pretraining")
    _save(fig, path)


def spectrum(entries: list[dict[str, Any]], path: str | Path) -> None:
    """Covariance eigenvalues λ_i/λ_1 (log scale) of the features and of the projections, a line per method."""
    datasets = sorted({e["dataset"] for e in entries})
    methods = list(dict.fromkeys(e["method"] for e in entries))
    style = styles(methods)
    fig, axes = plt.subplots(len(datasets), 2, figsize=(12, 4.2 * len(datasets)), squeeze=False,
                             layout="constrained")
    for i, ds in enumerate(datasets):
        for j, part in enumerate(("features", "projector")):
            ax = axes[i][j]
            for e in entries:
                spec = e.get(part)
                if (e["dataset"] != ds or not spec or e["method"] == "raw_pixels"
                        or e["seed"] != min(x["seed"] for x in entries)):
                    continue  # raw pixels (hundreds of dims) are in table 3; one seed per method
                eig = np.asarray(spec["eigenvalues"], dtype=float)
                if eig.size and eig[0] > 0:
                    rel = eig / eig[0]
                    shown = rel > 1e-12  # exact zeros have no place on a log axis
                    ax.plot(np.arange(1, len(rel) + 1)[shown], rel[shown], label=e["method"], linewidth=1.3,
                            **{**style[e["method"]], "marker": None})
            ax.set_yscale("log")
            ax.axhline(1e-6, color="grey", linewidth=0.8, linestyle="--")
            ax.set_title(f"{ds}: {'backbone features' if part == 'features' else 'projector output'}")
            ax.set_xlabel("eigenvalue index (largest first)")
            ax.set_ylabel("eigenvalue / largest (log)")
            ax.grid(alpha=0.3, which="both")
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    fig.suptitle("spectrum of the training-split embeddings (dashed: collapse threshold 1e-6; < 1e-12 not drawn)")
    _save(fig, path)


def transfer_bars(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Linear, few-label and k-NN top-1 on each transfer target, bars per method (axis from 0)."""
    from .tables import transfer_pairs

    pairs = transfer_pairs(rows)
    if not pairs:
        return _nothing(path, "no transfer configured: set `transfer:` in params.yaml (source: [targets])")
    fig, axes = plt.subplots(1, len(pairs), figsize=(max(6.0, 0.55 * len(rows) + 2) * len(pairs), 4),
                             squeeze=False, layout="constrained")
    for ax, pair in zip(axes[0], pairs, strict=True):
        rs = [r for r in rows if f"{pair}_knn_top1" in r]
        x = np.arange(len(rs))
        for j, (key, label) in enumerate(PROBES):
            ax.bar(x + (j - 1) * 0.27, [r[f"{pair}_{key}"] for r in rs], 0.27, label=label, color=OKABE_ITO[j])
        ax.set_xticks(x, [r["method"] for r in rs], rotation=30, ha="right")
        ax.set_ylim(0, 100)
        ax.set_ylabel("top-1 accuracy on the target's test split (%)")
        src, tgt = pair.split("_to_")
        ax.set_title(f"pretrained on {src} (frozen) → probed on {tgt}")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(loc="lower right", fontsize=8)
    _save(fig, path)
