"""Figures: accuracy per method (bars) and pretraining loss curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..io import atomic_path  # noqa: E402

# Fixed metadata so the same numbers give the same PNG bytes.
PNG_META = {"Software": None}


def _save(fig, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, metadata=PNG_META, bbox_inches="tight")
    plt.close(fig)


def accuracy_bars(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Grouped bars of linear / few-label / k-NN top-1 per method, one panel per dataset."""
    datasets = sorted({r["dataset"] for r in rows})
    fig, axes = plt.subplots(1, len(datasets), figsize=(max(6, 1.2 * len(rows) / len(datasets) + 3), 4),
                             squeeze=False, layout="constrained")
    metrics = [("linear_top1", "linear"), ("fewshot_top1", "few-label"), ("knn_top1", "k-NN")]
    for ax, ds in zip(axes[0], datasets, strict=True):
        rs = [r for r in rows if r["dataset"] == ds]
        x = np.arange(len(rs))
        for j, (key, label) in enumerate(metrics):
            ax.bar(x + (j - 1) * 0.27, [r[key] for r in rs], 0.27, label=label,
                   yerr=[r.get(f"{key}_std", 0) for r in rs])
        ax.set_xticks(x, [r["method"] for r in rs], rotation=30, ha="right")
        lows = [r[k] for r in rs for k, _ in metrics]
        ax.set_ylim(max(0, min(lows) - 10), 100)
        ax.set_ylabel("top-1 accuracy (%)")
        ax.set_title(ds)
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
        ax.plot(np.arange(1, len(h) + 1), h, marker=".")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle("pretraining loss")
    _save(fig, path)
