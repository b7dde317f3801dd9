"""Backbones, heads, and the networks a method trains."""

from . import sync_bn
from .encoder import EmaTarget, Encoder
from .heads import mlp
from .resnet import ResNet, build_backbone

__all__ = ["EmaTarget", "Encoder", "ResNet", "build_backbone", "mlp", "sync_bn"]
