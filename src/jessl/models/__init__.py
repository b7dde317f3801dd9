"""Backbones and heads."""

from .heads import mlp
from .resnet import ResNet, build_backbone

__all__ = ["ResNet", "build_backbone", "mlp"]
