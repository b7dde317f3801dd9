"""The checkpoint module owns the format: write, read, validate, describe; the target network and the
feeding of a method are small owners too (models/encoder.py, methods/feed.py)."""

import pytest
import torch

from jessl import checkpoint
from jessl.config import validate
from jessl.methods import get
from jessl.methods.feed import loss_of_embeddings, loss_of_views
from jessl.models import EmaTarget, Encoder, build_backbone


def run_of(method="byol"):
    return validate({"datasets": {"digits": {}}, "methods": {method: {}},
                     "model": {"projector": [8, 8], "predictor_hidden": 4}}).run_config(method)


def test_final_round_trip_and_description(tmp_path):
    run = run_of()
    enc = Encoder("resnet_tiny", [8, 8])
    path = tmp_path / "final.pt"
    checkpoint.save_final(path, arch="resnet_tiny", backbone=enc.backbone, projector=enc.projector,
                          run=run.to_params(), seed=3, history=[2.0, 1.5])
    final = checkpoint.read_final(path, expected_arch="resnet_tiny")
    assert final.describe() == {"path": str(path), "arch": "resnet_tiny", "name": "byol", "loss": "byol", "seed": 3,
                                "epochs": 2, "history": [2.0, 1.5]}
    assert list(torch.load(path, weights_only=True)) == list(checkpoint.FINAL_KEYS)  # the documented layout
    backbone = checkpoint.load_backbone(path)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(backbone(x), enc.backbone.eval()(x))
    # a plain backbone of the same architecture takes the documented key directly
    plain = build_backbone("resnet_tiny")
    plain.load_state_dict(torch.load(path, weights_only=True)["backbone"])
    # same content → same bytes (fixed key order, no file-name-dependent zip root)
    checkpoint.save_final(tmp_path / "again.pt", arch="resnet_tiny", backbone=enc.backbone, projector=enc.projector,
                          run=run.to_params(), seed=3, history=[2.0, 1.5])
    assert (tmp_path / "again.pt").read_bytes() == path.read_bytes()


def test_read_final_rejects_what_is_not_a_final_checkpoint(tmp_path):
    torch.save({"run_hash": "x", "epoch": 1}, tmp_path / "resume.pt")
    with pytest.raises(checkpoint.CheckpointError, match="not a jessl final checkpoint"):
        checkpoint.read_final(tmp_path / "resume.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    with pytest.raises(checkpoint.CheckpointError, match="truncated or corrupt.*delete it"):
        checkpoint.read_final(tmp_path / "junk.pt")


def test_resume_state_belongs_to_one_run(tmp_path):
    final = tmp_path / "final.pt"
    enc = Encoder("resnet_tiny", [8, 8])
    opt = torch.optim.SGD(enc.parameters(), lr=0.1)
    key = checkpoint.run_hash(run_of().to_params(), 0)
    assert checkpoint.read_resume(final, key) is None
    checkpoint.save_resume(final, key=key, epoch=2, history=[1.0, 0.5], model=enc, optimizer=opt)
    assert checkpoint.resume_path(final).exists() and not final.exists()
    assert checkpoint.read_resume(final, key)["epoch"] == 2
    assert checkpoint.read_resume(final, checkpoint.run_hash(run_of().to_params(), 1)) is None  # other seed
    assert checkpoint.read_resume(final, checkpoint.run_hash(run_of("simclr").to_params(), 0)) is None
    checkpoint.drop_resume(final)
    assert not checkpoint.resume_path(final).exists()


def test_ema_target_copies_backbone_and_projector_only_and_follows_the_online_network():
    torch.manual_seed(0)
    online = Encoder("resnet_tiny", [8, 8], predictor_hidden=4)
    target = EmaTarget(online, base=0.9)
    assert not any(k.startswith("predictor") for k in target.state_dict())
    assert all(not p.requires_grad for p in target.parameters())
    before = [p.clone() for p in target.parameters()]
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    target.step(online, step=0, total_steps=10)  # m = base at step 0: ξ ← 0.9 ξ + 0.1 θ
    online_params = dict(online.named_parameters())
    for (name, p), b in zip(target.named_parameters(), before, strict=True):
        assert torch.allclose(p, 0.9 * b + 0.1 * online_params[name], atol=1e-6), name
    target.step(online, step=10, total_steps=10)  # m = 1 at the end: frozen
    after = [p.clone() for p in target.parameters()]
    target.step(online, step=10, total_steps=10)
    assert all(torch.equal(a, p) for a, p in zip(after, target.parameters(), strict=True))


def test_feeding_a_target_method_gives_gradients_to_the_online_network_only():
    torch.manual_seed(0)
    online = Encoder("resnet_tiny", [8, 8], predictor_hidden=4)
    target = EmaTarget(online, base=0.99)
    views = [torch.randn(4, 3, 16, 16) for _ in range(2)]
    loss = loss_of_views(get("byol"), views, online, target)
    loss.backward()
    assert online.predictor[0].weight.grad is not None and online.backbone.conv1.weight.grad is not None
    assert all(p.grad is None for p in target.parameters())
    # the same number as feeding the method by hand: predictions of the online net vs target projections
    with torch.no_grad():
        outs = [online(x) for x in views]
        by_hand = get("byol")([o[0] for o in outs], [o[1] for o in outs], [target(x) for x in views])
    assert torch.allclose(loss.detach(), by_hand, atol=1e-6)
    with pytest.raises(ValueError, match="needs a target network"):
        loss_of_views(get("byol"), views, online, None)


def test_feeding_a_pair_method_and_embeddings():
    torch.manual_seed(0)
    online = Encoder("resnet_tiny", [8, 8])
    views = [torch.randn(4, 3, 16, 16) for _ in range(2)]
    loss = loss_of_views(get("simclr"), views, online, hparams={"temperature": 0.2})
    with torch.no_grad():
        z = [online(x) for x in views]
    assert torch.allclose(loss.detach(), get("simclr").fn(z[0], z[1], temperature=0.2), atol=1e-6)
    z = [torch.randn(6, 5, requires_grad=True) for _ in range(2)]
    loss_of_embeddings(get("byol"), z).backward()
    assert z[0].grad is not None


def test_a_resnet18_checkpoint_loads_into_plain_torchvision(tmp_path):
    import torchvision
    from torch import nn

    torch.manual_seed(0)
    enc = Encoder("resnet18", [8, 8])
    path = tmp_path / "final.pt"
    checkpoint.save_final(path, arch="resnet18", backbone=enc.backbone, projector=enc.projector,
                          run=run_of("simclr").to_params(), seed=0, history=[1.0])
    ckpt = torch.load(path, weights_only=True)
    m = torchvision.models.resnet18()
    m.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    m.maxpool = nn.Identity()
    m.fc = nn.Identity()
    m.load_state_dict(ckpt[checkpoint.BACKBONE_KEY])  # strict
    loaded = checkpoint.load_backbone(path, "resnet18")
    assert isinstance(loaded, torchvision.models.ResNet) and not loaded.training
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(m.eval()(x), loaded(x))
        assert torch.equal(loaded(x), enc.backbone.eval()(x))
