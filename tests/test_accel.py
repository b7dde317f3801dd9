"""The GPU path's speed-ups (accel.py) and how the online probe gets its features, checked on the CPU."""

import torch

from jessl.accel import Accel
from jessl.models import Encoder
from jessl.online_probe import OnlineProbe


def test_speedups_are_kept_on_cuda_only():
    cudnn = torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    try:
        on = Accel.for_device(torch.device("cuda"), channels_last=True, compile=True)  # no GPU needed to decide
        assert (on.channels_last, on.compile, on.memory_format) == (True, True, torch.channels_last)
    finally:
        torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = cudnn
    off = Accel.for_device(torch.device("cpu"), channels_last=True, compile=True)
    assert (off.channels_last, off.compile, off.memory_format) == (False, False, torch.contiguous_format)
    assert off.peak_memory_mib() is None
    x = torch.zeros(2, 4, 4, 3, dtype=torch.uint8)
    assert off.inputs(x) is x  # already on the device: no copy


def test_channels_last_model_and_views():
    accel = Accel(torch.device("cpu"), channels_last=True)
    enc = accel.model(Encoder("resnet_tiny", [8, 8]))
    assert enc.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    views = accel.views([torch.randn(2, 3, 8, 8)])
    assert views[0].is_contiguous(memory_format=torch.channels_last)
    assert enc(views[0]).shape == (2, 8)


def test_compiled_model_feeds_the_online_probe_and_keeps_its_state_dict():
    torch.manual_seed(0)
    enc = Encoder("resnet_tiny", [8, 8])
    probe = OnlineProbe(enc.backbone.out_dim, 3, torch.device("cpu"))
    trained = Accel(torch.device("cpu"), compile=True, backend="eager").compiled(enc)
    assert trained is not enc and trained.state_dict().keys() != enc.state_dict().keys()  # _orig_mod. prefix
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, -1])
    z, h = trained(x, features=True)
    assert z.shape == (4, 8) and h.shape == (4, enc.backbone.out_dim)
    torch.testing.assert_close(h, enc.backbone(x))  # the backbone's features, from the model's output
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    probe.step([h.detach()], y)
    assert all(torch.equal(v, enc.state_dict()[k]) for k, v in before.items())  # the backbone is not stepped
    assert probe.classifier.weight.abs().sum() > 0  # the classifier is
    entry = probe.end_epoch(1)
    assert entry["epoch"] == 1 and round(entry["top1"] * 3 / 100, 3) in {0, 1, 2, 3}  # 3 labelled (not the -1)
    assert probe._sums.sum() == 0


def test_feed_hands_the_probe_each_views_detached_features():
    from jessl.methods.feed import loss_of_views
    from jessl.methods.registry import METHODS

    torch.manual_seed(0)
    enc = Encoder("resnet_tiny", [8, 8])
    views = [torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)]
    feats: list[torch.Tensor] = []
    with_feats = loss_of_views(METHODS["simclr"], views, enc, features=feats)
    assert len(feats) == 2 and not any(f.requires_grad for f in feats)
    torch.testing.assert_close(with_feats, loss_of_views(METHODS["simclr"], views, enc))


def test_inductor_compiles_forward_and_backward_of_the_trained_network_on_the_cpu():
    """`pretrain.compile` with its real backend: the compiled encoder (with the probe's features as an
    output) gives the eager loss and gradients, and a second step does not recompile."""
    import torch._dynamo
    from torch._dynamo.utils import counters

    from jessl.methods.feed import loss_of_views
    from jessl.methods.registry import METHODS

    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    enc = Encoder("resnet_tiny", [16, 8])
    compiled = Accel(torch.device("cpu"), compile=True).compiled(enc)
    grads = []
    for model in (enc, compiled, compiled):
        g = torch.Generator().manual_seed(1)
        views = [torch.randn(8, 3, 8, 8, generator=g) for _ in range(2)]
        feats: list[torch.Tensor] = []
        enc.zero_grad()
        loss = loss_of_views(METHODS["simclr"], views, model, features=feats)
        loss.backward()
        grads.append((loss.detach(), feats[0], [p.grad.clone() for p in enc.parameters()]))
    (l0, f0, g0), (l1, f1, g1), _ = grads
    torch.testing.assert_close(l1, l0, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(f1, f0, rtol=1e-4, atol=1e-5)
    for a, b in zip(g1, g0):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)
    assert counters["stats"]["unique_graphs"] == 1  # one graph for both views and both steps: no recompile


def test_memory_format_is_part_of_the_run_and_applies_on_the_cpu():
    chosen = Accel.for_device(torch.device("cpu"), memory_format="channels_last")
    assert chosen.channels_last and chosen.memory_format == torch.channels_last
    assert not Accel.for_device(torch.device("cpu"), channels_last=True).channels_last  # the resource: CUDA only
