"""torchvision ResNet backbones with a CIFAR stem: feature dims, stem, forward on 32×32, parameter counts."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from jessl.models import build_backbone, mlp


def _expected_params(block: str, depths: list[int], widths=(64, 128, 256, 512)) -> int:
    """Parameters of a ResNet without fc, counted from the architecture (He et al. 2016): a 3×3 stem conv
    (CIFAR stem) + BN, the residual blocks, and a 1×1 conv + BN shortcut wherever the shape changes."""

    def conv(k: int, cin: int, cout: int) -> int:  # bias-free convolutions
        return k * k * cin * cout

    def bn(c: int) -> int:  # weight and bias; the running statistics are buffers
        return 2 * c

    expansion = 1 if block == "basic" else 4
    total, cin = conv(3, 3, widths[0]) + bn(widths[0]), widths[0]
    for stage, (depth, w) in enumerate(zip(depths, widths, strict=True)):
        for j in range(depth):
            stride = 2 if stage > 0 and j == 0 else 1
            cout = w * expansion
            if block == "basic":
                total += conv(3, cin, w) + bn(w) + conv(3, w, cout) + bn(cout)
            else:
                total += conv(1, cin, w) + bn(w) + conv(3, w, w) + bn(w) + conv(1, w, cout) + bn(cout)
            if stride != 1 or cin != cout:
                total += conv(1, cin, cout) + bn(cout)
            cin = cout
    return total


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("arch", "dim", "block", "depths", "published"),
    [
        # torchvision's totals (11,689,512 / 25,557,032) − fc (512·1000+1000 / 2048·1000+1000)
        # − the 7×7 stem conv replaced by a 3×3 one (7·7·3·64 − 3·3·3·64 = 7,680)
        ("resnet18", 512, "basic", [2, 2, 2, 2], 11_168_832),
        ("resnet50", 2048, "bottleneck", [3, 4, 6, 3], 23_500_352),
        # the embedded default: stages of one BasicBlock, widths 16-32-64, no fourth stage
        ("resnet_tiny", 64, "basic", [1, 1, 1], 77_392),
    ],
)
def test_resnet_dims_stem_and_parameter_count(arch, dim, block, depths, published):
    model = build_backbone(arch)
    widths = (16, 32, 64) if arch == "resnet_tiny" else (64, 128, 256, 512)
    assert isinstance(model, torchvision.models.ResNet)
    assert model.out_dim == dim
    assert _n_params(model) == _expected_params(block, depths, widths) == published
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    stem = convs[0]
    assert stem is model.conv1 and stem.bias is None
    assert (stem.in_channels, stem.out_channels, stem.kernel_size, stem.stride) == (3, widths[0], (3, 3), (1, 1))
    assert isinstance(model.maxpool, nn.Identity) and isinstance(model.fc, nn.Identity)
    assert not any(isinstance(m, nn.MaxPool2d | nn.Linear) for m in model.modules())  # no max-pool, no fc


@pytest.mark.parametrize(("arch", "make"), [("resnet18", torchvision.models.resnet18),
                                              ("resnet50", torchvision.models.resnet50)])
def test_backbone_weights_load_into_a_plain_torchvision_resnet(arch, make):
    torch.manual_seed(0)
    ours = build_backbone(arch).eval()
    plain = make()
    plain.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    plain.maxpool, plain.fc = nn.Identity(), nn.Identity()
    plain.load_state_dict(ours.state_dict())  # strict: the same keys and shapes
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(plain.eval()(x), ours(x))


def test_unknown_backbone_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown backbone 'resnet34'; use one of resnet_tiny, resnet18, resnet50"):
        build_backbone("resnet34")


# stride-1 stem, then ×2 down-sampling between stages: 32 → 8 after three stages, → 4 after four
@pytest.mark.parametrize(("arch", "dim", "side"), [("resnet_tiny", 64, 8), ("resnet18", 512, 4), ("resnet50", 2048, 4)])
def test_forward_on_a_32x32_batch(arch, dim, side):
    torch.manual_seed(0)
    model = build_backbone(arch).eval()
    maps = []
    model.avgpool.register_forward_hook(lambda _m, inputs, _o: maps.append(inputs[0].shape))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        feats = model(x)
    assert feats.shape == (2, dim) and torch.isfinite(feats).all()
    assert maps == [torch.Size([2, dim, side, side])]
    assert not torch.allclose(feats[0], feats[1])  # the two images give different features


def test_projector_mlp_shapes():
    head = mlp(512, [256, 128])
    assert [type(m) for m in head] == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    assert head[0].bias is None and head[-1].bias is not None  # BN follows the hidden layer
    assert head(torch.randn(4, 512)).shape == (4, 128)


def test_the_imagenet_stem_is_torchvision_own_and_checked():
    import torchvision
    from torch import nn

    from jessl.config import ModelConfig

    m = build_backbone("resnet18", "imagenet")
    ref = torchvision.models.resnet18()
    ref.fc = nn.Identity()
    assert m.conv1.kernel_size == (7, 7) and m.conv1.stride == (2, 2) and isinstance(m.maxpool, nn.MaxPool2d)
    ref.load_state_dict(m.state_dict())  # same keys and shapes as plain torchvision
    x = torch.randn(2, 3, 64, 64)
    assert m.eval()(x).shape == (2, 512) and build_backbone("resnet18").conv1.kernel_size == (3, 3)
    with pytest.raises(ValueError, match="stem"):
        build_backbone("resnet18", "imagenet7")
    with pytest.raises(ValueError, match="only the cifar stem"):
        ModelConfig(backbone="resnet_tiny", stem="imagenet")


def test_projector_without_batchnorm_is_solo_learns_simclr_head_and_a_default_run_keeps_its_identity():
    from torch import nn

    from jessl import profiles
    from jessl.config import validate
    from jessl.models import Encoder

    head = Encoder("resnet_tiny", [32, 16], projector_bn=False).projector
    assert [type(m) for m in head] == [nn.Linear, nn.ReLU, nn.Linear] and head[0].bias is not None
    with_bn = Encoder("resnet_tiny", [32, 16]).projector
    assert [type(m) for m in with_bn] == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear] and with_bn[0].bias is None
    # the CIFAR SimCLR recipe asks for it; a row that does not keeps the keys (and hash) it was recorded with
    cifar = validate(profiles.resolve("cifar10"))
    assert cifar.run_config("simclr").to_params()["model"]["projector_bn"] is False
    assert "projector_bn" not in cifar.run_config("vicreg").to_params()["model"]
    run = validate({"datasets": {"d": {}}, "methods": {"simclr": {}}}).run_config("simclr")
    assert {"projector_bn", "memory_format"}.isdisjoint(run.to_params()["model"])
    cl = validate({"datasets": {"d": {}}, "methods": {"simclr": {}},
                   "model": {"memory_format": "channels_last"}}).run_config("simclr")
    assert cl.to_params()["model"]["memory_format"] == "channels_last"
    assert type(cl).model_validate(cl.to_params()) == cl
