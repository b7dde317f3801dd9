"""Projector and predictor MLPs (Linear-BN-ReLU hidden layers, plain Linear output)."""

from __future__ import annotations

from torch import nn


def mlp(in_dim: int, dims: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, d in enumerate(dims):
        last = i == len(dims) - 1
        layers.append(nn.Linear(in_dim, d, bias=last))
        if not last:
            layers += [nn.BatchNorm1d(d), nn.ReLU(inplace=True)]
        in_dim = d
    return nn.Sequential(*layers)
