import random
import subprocess
import sys
import time

import pytest
import torch

from jessl.checkpoint import CheckpointError, load_backbone, resume_path
from jessl.config import validate
from jessl.methods import registry
from jessl.pretrain import NonFiniteLossError, pretrain


def tiny_run(method="simclr", epochs=3, **pre):
    p = validate({
        "datasets": {"digits": {}},
        "methods": {method: {}},
        "model": {"projector": [32, 32]},
        "pretrain": {"epochs": epochs, "batch_size": 64, **pre},
    })
    return p.run_config(method)


def test_pretraining_learns_and_saves_a_loadable_checkpoint(tmp_path, small_betons):
    out = tmp_path / "final.pt"
    summary = pretrain(small_betons[0], out, tiny_run(epochs=4), seed=0, threads=1)
    assert summary["steps_per_epoch"] == 5 and len(summary["loss_history"]) == 4
    assert summary["loss_history"][-1] < summary["loss_history"][0]
    assert not resume_path(out).exists()  # the resumable state is removed once the run is complete
    backbone = load_backbone(out, "resnet_tiny")
    assert backbone(torch.zeros(2, 3, 16, 16)).shape == (2, 64)


def test_same_seed_same_bytes_other_seed_other_weights(tmp_path, small_betons):
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        pretrain(small_betons[0], tmp_path / name / "final.pt", tiny_run(epochs=1), seed=seed, threads=1)
        runs[name] = (tmp_path / name / "final.pt").read_bytes()
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]


KILL_SCRIPT = """
import sys, json
sys.path.insert(0, {src!r})
from jessl.pretrain import pretrain
pretrain({beton!r}, {out!r}, json.loads({run!r}), seed=0, threads=1)
"""


def test_killed_pretraining_resumes_to_the_same_final_checkpoint(tmp_path, small_betons):
    import json
    from pathlib import Path

    run = tiny_run(epochs=8)
    ref = tmp_path / "ref" / "final.pt"
    pretrain(small_betons[0], ref, run, seed=0, threads=1)

    out = tmp_path / "killed" / "final.pt"
    src = str(Path(__file__).resolve().parents[1] / "src")
    code = KILL_SCRIPT.format(src=src, beton=str(small_betons[0]), out=str(out), run=json.dumps(run.to_params()))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not resume_path(out).exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(random.uniform(0.0, 0.4))  # somewhere inside a later epoch
    proc.kill()
    proc.wait()
    assert not out.exists(), "the run finished before it could be killed; make it longer"
    assert resume_path(out).exists()

    summary = pretrain(small_betons[0], out, run, seed=0, threads=1)
    assert summary["resumed_from_epoch"] >= 1
    assert out.read_bytes() == ref.read_bytes()


def test_resume_state_for_other_params_is_ignored(tmp_path, small_betons):
    out = tmp_path / "final.pt"
    torch.save({"run_hash": "someone else's", "epoch": 2}, resume_path(out))
    summary = pretrain(small_betons[0], out, tiny_run(epochs=1), seed=0, threads=1)
    assert summary["resumed_from_epoch"] is None


def break_simclr_at(call: int, bad: float, monkeypatch) -> dict[str, int]:
    """Replace the registered SimCLR by one whose loss becomes `bad` (nan, inf) at its `call`-th call; the
    returned dict counts the calls."""
    calls = {"n": 0}
    real = registry.METHODS["simclr"]

    def flaky(z1, z2, temperature=0.5):
        calls["n"] += 1
        loss = real.fn(z1, z2, temperature=temperature)
        return loss * bad if calls["n"] == call else loss

    monkeypatch.setitem(registry.METHODS, "simclr", registry.Method("simclr", flaky))
    return calls


def test_nan_loss_stops_with_step_and_cause_and_keeps_last_checkpoint(tmp_path, small_betons, monkeypatch):
    break_simclr_at(8, float("nan"), monkeypatch)
    out = tmp_path / "final.pt"
    with pytest.raises(NonFiniteLossError, match=r"loss became nan at epoch 2, step 3.*learning rate"):
        pretrain(small_betons[0], out, tiny_run(epochs=3), seed=0, threads=1)
    assert not out.exists()
    assert torch.load(resume_path(out), weights_only=True)["epoch"] == 1


def test_batch_larger_than_dataset_is_a_clear_error(tmp_path, small_betons):
    with pytest.raises(ValueError, match=r"methods\.\w+: batch size 512 \(its batch_size, or pretrain\.batch_size\) "
                                         r"is larger than the 320 training samples"):
        pretrain(small_betons[0], tmp_path / "f.pt", tiny_run(epochs=1, batch_size=512), seed=0, threads=1)


def test_bad_checkpoints_are_clear_errors(tmp_path, small_betons):
    out = tmp_path / "final.pt"
    untrained = validate({"datasets": {"digits": {}}, "methods": {"simclr": {}}}).run_config("random_init")
    pretrain(small_betons[0], out, untrained, seed=0, threads=1)  # 0 epochs: only the random_init baseline
    with pytest.raises(CheckpointError, match="trained with backbone 'resnet_tiny' but the config asks for 'resnet18'"):
        load_backbone(out, "resnet18")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(out.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="truncated or corrupt checkpoint"):
        load_backbone(cut)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_backbone(tmp_path / "missing.pt")
    ckpt = torch.load(out, weights_only=True)
    ckpt["backbone"].pop("conv1.weight")
    torch.save(ckpt, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="weights do not fit backbone"):
        load_backbone(tmp_path / "other.pt")


@pytest.mark.parametrize("method, views", [("frossl", 3), ("byol", 2), ("ssl_hsic", 2)])
def test_multiview_and_target_network_methods_train(tmp_path, small_betons, method, views):
    run = validate({
        "datasets": {"digits": {}},
        "methods": {method: {"num_views": views}},
        "model": {"projector": [32, 32], "predictor_hidden": 16},
        "pretrain": {"epochs": 2, "batch_size": 64},
    }).run_config(method)
    assert run.pretrain.num_views == views
    summary = pretrain(small_betons[0], tmp_path / "final.pt", run, seed=0, threads=1)
    assert len(summary["loss_history"]) == 2 and all(map(torch.isfinite, torch.tensor(summary["loss_history"])))


def test_kept_checkpoints_are_the_weights_at_those_epochs_and_survive_a_resume(tmp_path, small_betons, monkeypatch):
    from jessl import checkpoint

    run = tiny_run(epochs=4)
    out = tmp_path / "full" / "final.pt"
    pretrain(small_betons[0], out, run, seed=0, threads=1, keep=[25, 50])
    k25, k50, final = (checkpoint.read_final(p) for p in (checkpoint.kept_path(out, 25),
                                                           checkpoint.kept_path(out, 50), out))
    assert len(k25.history) == 1 and k50.history == final.history[:2] and len(final.history) == 4
    assert not torch.equal(k25.backbone["conv1.weight"], final.backbone["conv1.weight"])
    assert not (out.parent / ".keep").exists() and not resume_path(out).exists()

    # a run interrupted after epoch 2 (resume state + staged kept checkpoints), then resumed: the same bytes
    again = tmp_path / "again" / "final.pt"
    killed_in_epoch_3(monkeypatch, small_betons[0], again, run, keep=[25, 50])
    assert resume_path(again).exists() and not checkpoint.kept_path(again, 25).exists()
    summary = pretrain(small_betons[0], again, run, seed=0, threads=1, keep=[25, 50])
    assert summary["resumed_from_epoch"] == 2
    for q in (25, 50):
        assert checkpoint.kept_path(again, q).read_bytes() == checkpoint.kept_path(out, q).read_bytes()
    assert again.read_bytes() == out.read_bytes()


def test_a_kept_checkpoint_a_resumed_run_cannot_provide_is_a_clear_error(tmp_path, small_betons):
    from jessl import checkpoint

    run = tiny_run(epochs=2)
    out = tmp_path / "final.pt"
    pretrain(small_betons[0], out, run, seed=0, threads=1)
    # fake an interruption after epoch 1 of a run that did not keep anything
    state = checkpoint.read_final(out)
    from jessl.pretrain import Trainer

    trainer = Trainer.build(run, 0, torch.device("cpu"), 0, 1)
    checkpoint.save_resume(out, key=checkpoint.run_hash(run.to_params(), 0), epoch=1, history=state.history[:1],
                           model=trainer.model, optimizer=trainer.optimizer)
    out.unlink()
    with pytest.raises(checkpoint.CheckpointError, match=r"pct50.pt: not written by this run.*delete .*resume.pt"):
        pretrain(small_betons[0], out, run, seed=0, threads=1, keep=[50])


def test_the_schedule_peaks_at_the_scaled_lr_and_the_optimiser_groups_follow_the_config(tmp_path, small_betons,
                                                                                         monkeypatch):
    from jessl import pretrain as pretrain_module
    from jessl.optim import LARS, lr_at

    run = validate({
        "datasets": {"digits": {}},
        "baselines": ["raw_pixels"],  # random_init would train at the global lr, below warmup_start_lr
        "methods": {"simclr": {"batch_size": 64, "optim": {"name": "lars", "lr": 0.4, "lr_scaling": "linear",
                                                           "exclude_bias_n_norm": True, "clip_lr": True}}},
        "model": {"projector": [32, 32]},
        "optim": {"warmup_epochs": 1, "warmup_start_lr": 0.01, "min_lr": 0.001},
        "pretrain": {"epochs": 2, "batch_size": 128},
    }).run_config("simclr")
    assert run.lr == pytest.approx(0.1)  # 0.4 × 64 / 256
    seen, groups = [], []
    real = pretrain_module.Trainer.step

    def spy(self, views, lr, step, total, autocast, labels=None):
        seen.append(lr)
        groups.append([(g["weight_decay"], g["lars_adapt"], g["clip_lr"]) for g in self.optimizer.param_groups])
        assert isinstance(self.optimizer, LARS)
        return real(self, views, lr, step, total, autocast, labels)

    monkeypatch.setattr(pretrain_module.Trainer, "step", spy)
    pretrain(small_betons[0], tmp_path / "final.pt", run, seed=0, threads=1)
    want = [lr_at(s, total=10, warmup=5, peak=0.1, start=0.01, end=0.001) for s in range(10)]
    assert seen == pytest.approx(want, rel=1e-12)
    assert groups[0] == [(run.optim.weight_decay, True, True), (0.0, False, True)]


def test_sync_bn_converts_every_batchnorm_under_ddp_only():
    """The conversion itself (torch's SyncBatchNorm only runs on GPU tensors, so no forward here; the CPU
    processes' own sync BN trains in the 2-process equality test)."""
    from jessl.models import Encoder
    from jessl.pretrain import sync_batchnorm

    def encoder():
        torch.manual_seed(0)
        return Encoder("resnet_tiny", [32, 32], None)

    def kinds(m):
        return {type(x).__name__ for x in m.modules() if isinstance(x, torch.nn.modules.batchnorm._BatchNorm)}

    plain = encoder()
    n_bn = sum(isinstance(x, torch.nn.modules.batchnorm._BatchNorm) for x in plain.modules())
    assert n_bn > 0 and "SyncBatchNorm" not in kinds(plain)
    synced = sync_batchnorm(encoder(), enabled=True, world=2, device=torch.device("cuda", 0))
    assert kinds(synced) == {"SyncBatchNorm"}
    assert sum(isinstance(x, torch.nn.SyncBatchNorm) for x in synced.modules()) == n_bn
    for (k, a), (k2, b) in zip(plain.state_dict().items(), synced.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b)  # same weights and statistics, same names
    for enabled, world in ((False, 2), (True, 1)):  # off, or one process: nothing to synchronise
        assert "SyncBatchNorm" not in kinds(sync_batchnorm(encoder(), enabled=enabled, world=world,
                                                           device=torch.device("cuda", 0)))
    on_cpu = sync_batchnorm(encoder(), enabled=True, world=2, device=torch.device("cpu"))
    assert kinds(on_cpu) == {"CpuSyncBatchNorm"}
    assert plain.state_dict().keys() == on_cpu.state_dict().keys()  # its checkpoints load into plain BatchNorm
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), on_cpu.state_dict().values()))

def test_online_probe_learns_is_logged_per_epoch_and_leaves_the_backbone_as_it_was(tmp_path, small_betons):
    from jessl import checkpoint

    plain, probed = tmp_path / "plain" / "final.pt", tmp_path / "probed" / "final.pt"
    without = pretrain(small_betons[0], plain, tiny_run(epochs=3), seed=0, threads=1)
    run = tiny_run(epochs=3, online_probe=True)
    assert run.to_params()["pretrain"]["online_probe"] is True  # part of the run (its checkpoint differs)
    summary = pretrain(small_betons[0], probed, run, seed=0, threads=1)
    assert without["online_probe"] is None
    hist = summary["online_probe"]
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    assert all(0 <= h["top1"] <= 100 and h["loss"] > 0 for h in hist)
    assert hist[-1]["top1"] > 15 and hist[-1]["loss"] < hist[0]["loss"]  # 10 digit classes: chance is 10 %
    a, b = torch.load(plain, weights_only=True), torch.load(probed, weights_only=True)
    assert "online_probe" not in a and b["online_probe"]["history"] == hist
    assert b["online_probe"]["classifier"]["weight"].shape == (10, 64)
    for part in ("backbone", "projector"):  # the probe never reaches the backbone's gradients
        assert a[part].keys() == b[part].keys()
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part
    assert a["history"] == b["history"]
    assert checkpoint.read_final(probed).history == summary["loss_history"]

    # evaluation reports the online probe's test top-1 as `online_top1`, on the pretraining data only
    from jessl.config import EvaluateConfig
    from jessl.data.augment import to_float
    from jessl.data.beton import read_all
    from jessl.evaluate.run import evaluate

    cfg = EvaluateConfig(few_shot_repeats=1)
    metrics, _, _ = evaluate(*small_betons, probed, cfg)
    images, labels = read_all(small_betons[1])
    with torch.no_grad():
        pred = checkpoint.load_online_probe(probed)(load_backbone(probed)(to_float(torch.from_numpy(images))))
    assert metrics["online_top1"] == round(100.0 * float((pred.argmax(1).numpy() == labels).mean()), 2)
    assert "online_top1" not in evaluate(*small_betons, probed, cfg, online=False)[0]  # e.g. a transfer target
    assert "online_top1" not in evaluate(*small_betons, plain, cfg)[0] and checkpoint.load_online_probe(plain) is None


def test_online_probe_resumes_to_the_same_final_checkpoint(tmp_path, small_betons, monkeypatch):

    run = tiny_run(epochs=3, online_probe=True)
    ref = tmp_path / "ref" / "final.pt"
    pretrain(small_betons[0], ref, run, seed=0, threads=1)
    out = tmp_path / "again" / "final.pt"
    killed_in_epoch_3(monkeypatch, small_betons[0], out, run)
    assert "probe" in torch.load(resume_path(out), weights_only=True)
    summary = pretrain(small_betons[0], out, run, seed=0, threads=1)
    assert summary["resumed_from_epoch"] == 2 and len(summary["online_probe"]) == 3
    assert out.read_bytes() == ref.read_bytes()


def test_gpu_speedups_are_resources_not_applied_on_the_cpu(tmp_path, small_betons):
    p = validate({"datasets": {"digits": {}}, "methods": {"simclr": {}},
                  "pretrain": {"compile": True, "channels_last": True}})
    assert p.run_config("simclr") == validate({"datasets": {"digits": {}}, "methods": {"simclr": {}}}).run_config(
        "simclr")  # not part of a run's identity
    a = pretrain(small_betons[0], tmp_path / "a" / "final.pt", tiny_run(epochs=1), seed=0, threads=1)
    b = pretrain(small_betons[0], tmp_path / "b" / "final.pt", tiny_run(epochs=1), seed=0, threads=1,
                 compile=True, channels_last=True)
    assert (b["compile"], b["channels_last"], b["peak_gpu_mem_mib"]) == (False, False, None)  # CPU: not applied
    assert b["s_per_epoch"] > 0 and b["images_per_s"] > 0
    assert (tmp_path / "a" / "final.pt").read_bytes() == (tmp_path / "b" / "final.pt").read_bytes()
    assert a["loss_history"] == b["loss_history"]


def killed_in_epoch_3(monkeypatch, beton, out, run, **kw) -> None:
    """Run `pretrain` and kill it (KeyboardInterrupt) as its third epoch starts: epochs 1-2 are saved."""
    from jessl import pretrain as loop

    real_epoch, calls = loop._epoch, {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(loop, "_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pretrain(beton, out, run, seed=0, threads=1, **kw)
    monkeypatch.setattr(loop, "_epoch", real_epoch)


def test_pretrain_seeds_trains_each_seed_into_its_own_files(tmp_path, monkeypatch):
    """One job, every seed: each seed's final and kept checkpoints where the checkpoint module puts them."""
    from jessl import stages
    from jessl.checkpoint import kept_path

    calls = []
    monkeypatch.setattr(stages, "pretrain", lambda **kw: calls.append((kw["seed"], kw["out"], kw["kept"])))
    outs = [tmp_path / f"seed{s}" / "final.pt" for s in (0, 1)]
    kept = [kept_path(o, q) for o in outs for q in (25, 50)]
    stages.pretrain_seeds(seeds=[0, 1], outs=outs, kept=kept, run=None, threads=1)
    assert calls == [(0, outs[0], kept[:2]), (1, outs[1], kept[2:])]
    with pytest.raises(ValueError, match="kept checkpoints"):
        stages.pretrain_seeds(seeds=[0, 1], outs=outs, kept=[*kept, tmp_path / "elsewhere" / "keep" / "pct25.pt"],
                              run=None, threads=1)


def test_a_nan_is_caught_within_loss_every_steps_without_reading_each_loss(tmp_path, small_betons, monkeypatch):
    import jessl.pretrain as P

    calls = break_simclr_at(2, float("inf"), monkeypatch)
    reads = {"n": 0}
    read = P.LossWatch.read

    def counted(self):
        reads["n"] += 1
        return read(self)

    monkeypatch.setattr(P, "LOSS_EVERY", 3)
    monkeypatch.setattr(P.LossWatch, "read", counted)
    with pytest.raises(NonFiniteLossError, match=r"loss became inf at epoch 1, step 2"):
        pretrain(small_betons[0], tmp_path / "final.pt", tiny_run(epochs=2), seed=0, threads=1)
    assert calls["n"] == 3 and reads["n"] == 1  # caught at the first read, step 3 of the epoch's 5, not at its end


def test_byol_target_momentum_follows_solo_learns_schedule_to_one(tmp_path, small_betons, monkeypatch):
    """The EMA rate of update k (0-based, K updates) is τ(k) = 1 − (1 − τ₀)(cos(πk/K) + 1)/2: τ₀ first and
    τ(K−1) last, as solo-learn (its update k uses the τ set after global step k; `final_tau: 1` is τ(K))."""
    import math

    from jessl.methods import byol

    used = []
    real = byol.ema_update
    monkeypatch.setattr(byol, "ema_update", lambda t, o, m: (used.append(m), real(t, o, m)))
    pretrain(small_betons[0], tmp_path / "final.pt", tiny_run("byol", epochs=2), seed=0, threads=1)
    k_total = 2 * 5
    assert len(used) == 2 * k_total  # backbone and projector, each update
    tau = [1 - (1 - 0.99) * (math.cos(math.pi * k / k_total) + 1) / 2 for k in range(k_total + 1)]
    assert used[::2] == pytest.approx(tau[:-1], abs=1e-15) and tau[-1] == 1.0
    assert byol.ema_momentum(k_total, k_total, 0.99) == 1.0


class _Transfers:
    """Counts, under a TorchDispatchMode, the copies from the host to the `meta` device and every read of
    a device value into Python (`.item()`, `bool()`, `.tolist()`: `_local_scalar_dense`)."""

    def __init__(self):
        from torch.utils._python_dispatch import TorchDispatchMode

        counts = self.counts = {"h2d": 0, "item": 0}

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                name = func.overloadpacket.__name__
                if name == "_local_scalar_dense":
                    counts["item"] += 1
                out = func(*args, **kwargs)
                if name in ("_to_copy", "copy_"):
                    src = args[1] if name == "copy_" else args[0]
                    dst = args[0] if name == "copy_" else out
                    if src.device.type == "cpu" and dst.device.type == "meta":
                        counts["h2d"] += 1
                return out

        self.mode = Mode()


@pytest.mark.parametrize("views", [2, 4])
def test_one_training_step_sends_three_buffers_and_reads_nothing(views):
    """One step of the real loop (augmentations with every op on, forward, backward, LARS, EMA target,
    online probe, loss watch) on the `meta` device: a read of a device value would fail there, and the
    host→device copies are counted: the images, their labels and one buffer of augmentation parameters,
    however many views and ops — O(1), not O(ops)."""
    from jessl.accel import Accel
    from jessl.config import RunConfig
    from jessl.online_probe import OnlineProbe
    from jessl.pretrain import LossWatch, Trainer

    cfg = tiny_run("byol", epochs=2, num_views=views).to_params()
    cfg["optim"] = {**cfg["optim"], "name": "lars"}
    cfg["augment"] = {"crop_scale": [0.2, 1.0], "flip_prob": 0.5, "color_jitter_prob": 0.8, "brightness": 0.4,
                      "contrast": 0.4, "saturation": 0.2, "hue": 0.1, "grayscale_prob": 0.2, "blur_prob": 0.5,
                      "solarize_prob": 0.2}
    run = RunConfig.model_validate(cfg)
    meta = torch.device("meta")
    trainer = Trainer.build(run, 0, meta, 0, 1, Accel(meta))
    trainer.probe = OnlineProbe(trainer.model.backbone.out_dim, 10, meta)
    images = torch.randint(0, 256, (16, 16, 16, 3), dtype=torch.uint8)
    labels = torch.randint(0, 10, (16,))
    gen = torch.Generator().manual_seed(0)
    watch = LossWatch(meta)
    counter = _Transfers()
    autocast = torch.autocast("cpu", enabled=False)
    with counter.mode:
        for step in range(2):
            watch.add(step, trainer.train_step(images, labels, gen, step, 10, 2, autocast))
    assert counter.counts == {"h2d": 3 * 2, "item": 0}


def test_gpus_without_cuda_is_refused_naming_the_key(tmp_path, small_betons, monkeypatch):
    from jessl import stages
    from jessl.errors import ConfigError

    monkeypatch.delenv("JESSL_CPU_PROCESSES", raising=False)
    for gpus in (1, 2):
        with pytest.raises(ConfigError, match=rf"pretrain.gpus: {gpus}, but this machine has no CUDA GPU.*gpus: 0"):
            stages.pretrain(run=tiny_run(epochs=1), train_beton=small_betons[0], out=tmp_path / "final.pt", seed=0,
                            threads=1, gpus=gpus)
    assert not (tmp_path / "final.pt").exists()


def test_processes_follow_the_visible_gpus():
    from jessl.errors import ConfigError
    from jessl.launch import processes

    assert processes(0, cuda_devices=0) == 1 and processes(1, cuda_devices=1) == 1
    assert processes(2, cuda_devices=4) == 2
    with pytest.raises(ConfigError, match=r"pretrain.gpus: 4, but this machine shows 2 CUDA GPU"):
        processes(4, cuda_devices=2)


def test_a_batch_that_does_not_split_over_the_processes_is_refused_before_launching(tmp_path, small_betons,
                                                                                   monkeypatch):
    from jessl import stages
    from jessl.config import ConfigError

    monkeypatch.setenv("JESSL_CPU_PROCESSES", "1")
    with pytest.raises(ConfigError, match=r"methods.simclr: batch size 64 does not split over 3 processes "
                                          r"\(pretrain.gpus: 3\); make it a multiple of 3"):
        stages.pretrain(run=tiny_run(epochs=1), train_beton=small_betons[0], out=tmp_path / "final.pt", seed=0,
                        threads=1, gpus=3)
    assert not (tmp_path / "final.pt").exists()


def test_gpus_two_trains_what_one_process_trains_at_the_same_global_batch(tmp_path, small_betons, monkeypatch):
    """The pretrain stage with `gpus: 2` starts torchrun itself (here on 2 CPU processes with gloo: the
    explicit, logged fallback); rank 0 writes the checkpoint and its record, which says world size 2.

    With `model.sync_bn` the two processes train what one process trains at the same global batch (the
    same samples per step, the same views, global BatchNorm statistics, the gathered loss, averaged
    gradients): the checkpoints agree within the DDP loss test's tolerance (test_methods_distributed).
    Over one epoch (5 steps, the rate warming up): the runs are chaotic, and later steps amplify float
    rounding the same way a change of thread count does in one process (measured: 1e-4 to 1e-2 after 2-3
    full-rate epochs either way). Per-process BatchNorm or FFCV's own distributed order land 4e-2 and
    6e-2 away here; this run lands 4e-7 away."""
    from jessl import checkpoint, provenance, stages

    monkeypatch.setenv("JESSL_CPU_PROCESSES", "1")
    run = tiny_run(epochs=1, online_probe=True)
    run = run.model_copy(update={"model": run.model.model_copy(update={"sync_bn": True})})
    two, one, logfile = tmp_path / "two" / "final.pt", tmp_path / "one" / "final.pt", tmp_path / "job.log"
    stages.pretrain(run=run, train_beton=small_betons[0], out=two, seed=0, threads=2, gpus=2, job_log=logfile)
    metrics = provenance.read_record(two)["metrics"]
    assert metrics["world_size"] == 2 and metrics["steps_per_epoch"] == 5  # each process: half of 64 per step
    assert len(metrics["loss_history"]) == 1 and len(metrics["online_probe"]) == 1
    assert "epoch 1 online probe" in logfile.read_text()  # rank 0 logs to the job's log

    stages.pretrain(run=run, train_beton=small_betons[0], out=one, seed=0, threads=1, gpus=0)  # 1 thread each
    a, b = checkpoint.read_final(two), checkpoint.read_final(one)
    assert provenance.read_record(one)["metrics"]["world_size"] == 1
    tol = dict(rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(a.history, b.history, **tol)  # the global batch's loss
    moved = 0.0
    for part in ("backbone", "projector"):
        sa, sb = getattr(a, part), getattr(b, part)
        assert sa.keys() == sb.keys()
        for k in sa:  # weights and BatchNorm running statistics
            torch.testing.assert_close(sa[k], sb[k], **tol, msg=lambda m, k=f"{part}.{k}": f"{k}: {m}")
            moved = max(moved, float((sa[k].float() - sb[k].float()).abs().max()))
    assert moved > 0  # two runs, not one file twice
    for k, w in a.online_probe["classifier"].items():  # one probe across the processes
        torch.testing.assert_close(w, b.online_probe["classifier"][k], **tol)
    load_backbone(two)
