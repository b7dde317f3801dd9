"""Backbones: torchvision's ResNets with the CIFAR stem, and a narrow one for the embedded default.

Every backbone is a `torchvision.models.ResNet` whose `conv1` is a 3×3, stride-1 convolution (no bias),
whose `maxpool` and `fc` are `nn.Identity` (He et al. 2016, §4.2's CIFAR network; the stem solo-learn and
lightly use): `forward` returns the globally pooled features, `out_dim` wide. Its state dict therefore
loads into a plain `torchvision.models.resnet18()` / `resnet50()` given the same three replacements.

`resnet_tiny` is the same class with narrower stages (16-32-64 BasicBlocks, one each, built by
torchvision's own `_make_layer`) and `layer4 = Identity`: 64-d features, 77,392 parameters, cheap
enough for a laptop CPU.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import ResNet, resnet18, resnet50
from torchvision.models.resnet import BasicBlock

__all__ = ["ARCHS", "ResNet", "build_backbone", "cifar_stem"]

ARCHS = ("resnet_tiny", "resnet18", "resnet50")
TINY_WIDTHS = (16, 32, 64)
STEMS = ("cifar", "imagenet")


def _init(module: nn.Module) -> None:
    """torchvision's ResNet initialisation, for the modules replaced after its constructor ran:
    Kaiming-normal (fan-out, ReLU) convolutions, BatchNorm γ = 1, β = 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def cifar_stem(model: ResNet, width: int = 64) -> ResNet:
    """Give a torchvision ResNet the CIFAR stem in place: 3×3 stride-1 `conv1` (no bias), no max-pool,
    no classifier (`fc = Identity`)."""
    model.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
    _init(model.conv1)
    model.maxpool = nn.Identity()
    model.fc = nn.Identity()
    return model


def _tiny() -> ResNet:
    with torch.device("meta"):  # every part with weights is replaced below: skip initialising the wide ones
        model = ResNet(BasicBlock, [1, 1, 1, 1])
    w0, w1, w2 = TINY_WIDTHS
    cifar_stem(model, w0)
    model.bn1 = nn.BatchNorm2d(w0)
    model.inplanes = w0  # what `_make_layer` builds from
    model.layer1 = model._make_layer(BasicBlock, w0, 1)
    model.layer2 = model._make_layer(BasicBlock, w1, 1, stride=2)
    model.layer3 = model._make_layer(BasicBlock, w2, 1, stride=2)
    model.layer4 = nn.Identity()
    for part in (model.bn1, model.layer1, model.layer2, model.layer3):
        _init(part)
    assert not any(t.is_meta for t in [*model.parameters(), *model.buffers()])
    return model


def build_backbone(name: str, stem: str = "cifar") -> ResNet:
    """The backbone `name` (one of `ARCHS`), with its feature width as `out_dim`.

    `stem="imagenet"` keeps torchvision's own stem (7×7 stride-2 conv + 3×3 max-pool; only `fc` becomes
    Identity), as solo-learn does for every dataset but CIFAR (He et al. 2016, Table 1)."""
    if stem not in STEMS:
        raise ValueError(f"unknown stem {stem!r}; use one of {', '.join(STEMS)}")
    if name == "resnet_tiny":
        if stem != "cifar":
            raise ValueError("resnet_tiny has only the cifar stem")
        model, dim = _tiny(), TINY_WIDTHS[-1]
    elif name in ("resnet18", "resnet50"):
        model, dim = (resnet18(), 512) if name == "resnet18" else (resnet50(), 2048)
        if stem == "cifar":
            cifar_stem(model)
        else:
            model.fc = nn.Identity()
    else:
        raise ValueError(f"unknown backbone {name!r}; use one of {', '.join(ARCHS)}")
    model.out_dim = dim
    return model
