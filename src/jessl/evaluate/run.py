"""One evaluation job: frozen features once, then every probe on them (and, if asked, their spectrum).

What each number measures: the backbone is frozen (weights loaded, eval mode, no gradients); the probes
are fitted on the `train_beton` split only, and the `test_beton` split is used only to score them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import load_backbone, load_online_probe, load_projector
from ..config import EvaluateConfig
from . import per_image
from .features import extract
from .knn import knn_correct
from .linear_probe import few_label_correct, fraction_indices, linear_correct, linear_probe, validation_top1
from .spectrum import rankme
from .spectrum import summary as spectrum_summary


def probes(trx: np.ndarray, try_: np.ndarray, tex: np.ndarray, tey: np.ndarray,
           cfg: EvaluateConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Linear, few-label, k-NN (and label-fraction) top-1 (%) on the test split; RankMe of the test features;
    and the per-test-image scores of the linear, few-label and k-NN probes (`per_image`'s format)."""
    linear = linear_correct(trx, try_, tex, tey, cfg.linear_c)
    few_mean, few_std, few = few_label_correct(trx, try_, tex, tey, cfg.few_shot_per_class, cfg.few_shot_repeats,
                                               cfg.linear_c)
    knn = knn_correct(trx, try_, tex, tey, cfg.knn_k, cfg.knn_temperature)
    metrics = {
        "linear_top1": round(100.0 * float(linear.mean()), 2),
        "fewshot_top1": round(few_mean, 2),
        "fewshot_std": round(few_std, 2),
        "knn_top1": round(100.0 * float(knn.mean()), 2),
        "rankme": round(rankme(tex), 2),
        "feature_dim": int(trx.shape[1]),
        "n_train": int(len(trx)),
        "n_test": int(len(tex)),
    }
    for pct in cfg.label_fractions:
        idx = fraction_indices(try_, pct, seed=0)
        metrics[f"linear_{pct:g}pct_top1"] = round(linear_probe(trx[idx], try_[idx], tex, tey, cfg.linear_c), 2)
    scores = {"n": int(len(tex)), "linear_top1": per_image.encode(linear, 1),
              "fewshot_top1": per_image.encode(few, cfg.few_shot_repeats), "knn_top1": per_image.encode(knn, 1)}
    return metrics, scores


def evaluate(train_beton: str | Path, test_beton: str | Path, checkpoint: str | Path | None,
             cfg: EvaluateConfig, expected_arch: str | None = None,
             spectrum: bool = False, online: bool = True,
             validation: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """(probe metrics, per-test-image scores (`per_image`'s format), spectrum of the train-split features and
    projections — or None unless asked).

    With `validation` ({fraction, seed}), `val_linear_top1` is the linear probe on a validation split carved
    from the train split (`linear_probe.validation_split`): what a selection reads, never the test split.

    With `online` (the data is the one the checkpoint was pretrained on) and a checkpoint that trained an
    online probe (`pretrain.online_probe`), `online_top1` is that probe's top-1 (%) on the test split: a
    classifier fitted during pretraining on augmented views, not one of the frozen-feature probes."""
    backbone = None if checkpoint is None else load_backbone(checkpoint, expected_arch)
    trx, try_ = extract(backbone, train_beton, cfg.batch_size)
    tex, tey = extract(backbone, test_beton, cfg.batch_size)
    metrics, scores = probes(trx, try_, tex, tey, cfg)
    if validation is not None:
        metrics["val_linear_top1"] = round(validation_top1(trx, try_, validation["fraction"], validation["seed"],
                                                           cfg.linear_c), 2)
    head = load_online_probe(checkpoint) if checkpoint is not None and online else None
    if head is not None:
        with torch.no_grad():
            pred = head(torch.from_numpy(tex)).argmax(1).numpy()
        metrics["online_top1"] = round(100.0 * float((pred == tey).mean()), 2)
    if not spectrum:
        return metrics, scores, None
    spec = {"features": spectrum_summary(trx), "projector": None}
    if checkpoint is not None:
        with torch.no_grad():
            z = load_projector(checkpoint)(torch.from_numpy(trx)).numpy()
        spec["projector"] = spectrum_summary(z)
    return metrics, scores, spec
