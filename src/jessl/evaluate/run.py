"""One evaluation job: features once, then every probe on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..checkpoint import load_backbone
from ..config import EvaluateConfig
from .features import extract
from .knn import knn_top1
from .linear_probe import few_label_probe, linear_probe
from .spectrum import rankme


def evaluate(train_beton: str | Path, test_beton: str | Path, checkpoint: str | Path | None,
             cfg: EvaluateConfig, expected_arch: str | None = None) -> dict[str, Any]:
    """Linear, few-label and k-NN top-1 (%) on the test split, and RankMe of the test features."""
    backbone = None if checkpoint is None else load_backbone(checkpoint, expected_arch)
    trx, try_ = extract(backbone, train_beton, cfg.batch_size)
    tex, tey = extract(backbone, test_beton, cfg.batch_size)
    few_mean, few_std = few_label_probe(trx, try_, tex, tey, cfg.few_shot_per_class, cfg.few_shot_repeats, cfg.linear_c)
    return {
        "linear_top1": round(linear_probe(trx, try_, tex, tey, cfg.linear_c), 2),
        "fewshot_top1": round(few_mean, 2),
        "fewshot_std": round(few_std, 2),
        "knn_top1": round(knn_top1(trx, try_, tex, tey, cfg.knn_k, cfg.knn_temperature), 2),
        "rankme": round(rankme(tex), 2),
        "feature_dim": int(trx.shape[1]),
        "n_train": int(len(trx)),
        "n_test": int(len(tex)),
    }
