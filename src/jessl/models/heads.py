"""Projector and predictor MLPs: hidden layers Linear-BN-ReLU (or Linear-ReLU with a bias, `bn=False`),
a plain Linear output."""

from __future__ import annotations

from torch import nn


def mlp(in_dim: int, dims: list[int], bn: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, d in enumerate(dims):
        last = i == len(dims) - 1
        layers.append(nn.Linear(in_dim, d, bias=last or not bn))
        if not last:
            layers += [nn.BatchNorm1d(d), nn.ReLU(inplace=True)] if bn else [nn.ReLU(inplace=True)]
        in_dim = d
    return nn.Sequential(*layers)
