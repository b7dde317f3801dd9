"""Weighted k-NN classification on cosine similarity (Wu et al. 2018, the InstDisc protocol)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def knn_top1(train_x, train_y, test_x, test_y, k: int = 20, temperature: float = 0.07, chunk: int = 1024) -> float:
    """Top-1 (%) where each of the k nearest training samples votes exp(cos/τ) for its class."""
    return 100.0 * float(knn_correct(train_x, train_y, test_x, test_y, k, temperature, chunk).mean())


def knn_correct(train_x, train_y, test_x, test_y, k: int = 20, temperature: float = 0.07,
                chunk: int = 1024) -> np.ndarray:
    """Per test image: whether the exp(cos/τ)-weighted vote of its k nearest training samples is right."""
    from .linear_probe import check_split

    check_split(train_y, test_y, "k-NN probe")
    tr = F.normalize(torch.as_tensor(train_x, dtype=torch.float32), dim=1)
    te = F.normalize(torch.as_tensor(test_x, dtype=torch.float32), dim=1)
    ytr = torch.as_tensor(train_y, dtype=torch.long)
    classes = int(max(train_y.max(), test_y.max())) + 1
    k = min(k, len(tr))
    preds = []
    for start in range(0, len(te), chunk):
        sim = te[start : start + chunk] @ tr.T
        top, idx = sim.topk(k, dim=1)
        votes = torch.zeros(len(top), classes).scatter_add_(1, ytr[idx], (top / temperature).exp())
        preds.append(votes.argmax(1))
    return torch.cat(preds).numpy() == np.asarray(test_y)
