"""The prepared device check: the real CIFAR-10 SimCLR run on one GPU, measured, in one JSON line.

What runs is the pipeline's own loop (`jessl.pretrain`: `Trainer`, `_epoch`, the `.beton` loader, the
batched augmentations, LARS, the online probe, bf16 autocast, TF32/cuDNN settings) with the run of
`jessl profile cifar10`'s `simclr` row (its config, unchanged but for the epochs), on CIFAR-shaped data
built here (offline: 50,000 train + 10,000 test 32×32 images of ten classes of oriented gratings, random
colours and phases, so colour carries no label). It reports:

- `s_per_epoch` eager and compiled: the mean over whole epochs after the first (cuDNN autotuning and
  compilation happen in the first, whose time is reported apart); views/s; MFU = training FLOPs (3 ×
  the forward's, counted by `torch.utils.flop_counter`) per second ÷ the device's dense bf16 peak;
- `syncs_per_step`: host-device synchronisations per step over a whole eager epoch, counted by
  `torch.cuda.set_sync_debug_mode("warn")` (the loss is read every `LOSS_EVERY` steps: ≈ 1/25 a step);
- `recompiles` and `graphs` of the compiled run (torch._dynamo's counters);
- a 10-epoch smoke run on 10,000 images: k-NN top-1 of its backbone vs the untrained one.

`--dry` runs the same code on the CPU in seconds (a tiny backbone, 256 images, no compilation): the test
suite's check that the script works. Usage: bash bench/gpu_check.sh [--dry] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from jessl import profiles  # noqa: E402
from jessl.accel import Accel  # noqa: E402
from jessl.config import RunConfig, validate  # noqa: E402
from jessl.data import augment as aug  # noqa: E402
from jessl.data.beton import BetonLoader, write_beton  # noqa: E402
from jessl.data.sources import ArrayDataset  # noqa: E402
from jessl.evaluate.knn import knn_top1  # noqa: E402
from jessl.models import Encoder  # noqa: E402
from jessl.pretrain import Trainer, _epoch, _online_probe, _progress  # noqa: E402

# dense bf16 tensor-core peaks (TFLOP/s, no sparsity), from the vendors' data sheets; SXM parts
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0}


def peak_tflops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def forward_flops(backbone: str, projector: list[int], size: int) -> int:
    """FLOPs of one image's forward pass through the encoder (backbone + projector), counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    enc = Encoder(backbone, projector).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        enc(torch.zeros(2, 3, size, size))  # batch 2: BatchNorm1d in eval mode, any batch works
    return counter.get_total_flops() // 2


def gratings(n: int, size: int = 32, classes: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 N×size×size×3 images of oriented sinusoidal gratings: the class sets the orientation (and a
    frequency), each image draws its phase, two random colours and pixel noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    theta = np.pi * labels / classes + rng.normal(0, 0.05, n)
    freq = (2 + (labels % 3)) * 2 * np.pi / size
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    images = np.empty((n, size, size, 3), np.uint8)
    for start in range(0, n, 4096):  # in chunks: bounded memory
        s = slice(start, min(n, start + 4096))
        t, f = theta[s, None, None], freq[s, None, None]
        wave = 0.5 + 0.5 * np.sin(f * (xx * np.cos(t) + yy * np.sin(t)) + rng.uniform(0, 2 * np.pi, (len(t), 1, 1)))
        c0, c1 = rng.uniform(0, 1, (len(t), 1, 1, 3)), rng.uniform(0, 1, (len(t), 1, 1, 3))
        x = c0 + (c1 - c0) * wave[..., None] + rng.normal(0, 0.05, (len(t), size, size, 3))
        images[s] = (np.clip(x, 0, 1) * 255).round().astype(np.uint8)
    return images, labels


def cifar10_simclr(epochs: int, dry: bool) -> RunConfig:
    """The `simclr` row of `jessl profile cifar10`, with `epochs` (and, `dry`, a tiny backbone and batch)."""
    params = profiles.resolve("cifar10")
    params["pretrain"] = {**params.get("pretrain", {}), "epochs": epochs, "keep_epochs": []}  # no kept checkpoints
    if dry:
        params["model"] = {**params.get("model", {}), "backbone": "resnet_tiny", "projector": [64, 32]}
        params["pretrain"]["batch_size"] = 32
    return validate(params).run_config("simclr")


def profile_channels_last() -> bool:
    """The cifar10 profile's `pretrain.channels_last` (a resource, like compile)."""
    return bool(validate(profiles.resolve("cifar10")).pretrain.channels_last)


def train(run: RunConfig, beton: Path, device: torch.device, compile: bool, threads: int,
          count_syncs: bool = False, channels_last: bool = False) -> dict:
    """`run` through the pipeline's loop; per-epoch seconds, and the syncs of the last epoch."""
    accel = Accel.for_device(device, channels_last=channels_last, compile=compile)
    trainer = Trainer.build(run, 0, device, 0, 1, accel)
    trainer.probe = _online_probe(trainer, beton)
    loader = BetonLoader(beton, run.pretrain.batch_size, workers=threads, shuffle=True, seed=0, drop_last=True)
    steps, epochs = len(loader), run.pretrain.epochs
    bar = _progress(epochs * steps, 0, run.name, rank=1)  # disabled
    secs, syncs, losses = [], None, []
    with tempfile.TemporaryDirectory() as tmp:
        for epoch in range(epochs):
            last = epoch == epochs - 1
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if last and count_syncs and device.type == "cuda":
                    torch.cuda.set_sync_debug_mode("warn")
                try:
                    loss, _, s = _epoch(trainer, loader, epoch, steps, 0, bar, Path(tmp) / "final.pt")
                finally:
                    if device.type == "cuda":
                        torch.cuda.set_sync_debug_mode(0)
            if last and count_syncs and device.type == "cuda":
                syncs = sum("synchroniz" in str(w.message) for w in caught) / steps
            secs.append(s)
            losses.append(loss)
    return {"trainer": trainer, "epoch_s": secs, "steps": steps, "syncs_per_step": syncs, "losses": losses}


@torch.no_grad()
def knn(backbone: torch.nn.Module, train: tuple, test: tuple, device: torch.device) -> float:
    """k-NN top-1 (%) of `backbone`'s features, test on train (the pipeline's k-NN, k = 20, T = 0.07)."""
    backbone.eval()

    def feats(images: np.ndarray) -> np.ndarray:
        out = [backbone(aug.to_float(torch.from_numpy(images[i:i + 1024]).to(device))).float().cpu()
               for i in range(0, len(images), 1024)]
        return torch.cat(out).numpy()

    return knn_top1(feats(train[0]), train[1], feats(test[0]), test[1])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry", action="store_true", help="CPU, seconds: checks the script, not the GPU")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per timed run (the first is not timed)")
    ap.add_argument("--smoke-epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=8, help="loader workers")
    ap.add_argument("--peak-tflops", type=float, default=None, help="override the device's bf16 peak")
    args = ap.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.dry else "cpu")
    threads = 1 if args.dry else args.threads
    torch.set_num_threads(max(1, threads))
    n_train, n_test, n_smoke = (256, 128, 256) if args.dry else (50_000, 10_000, 10_000)
    epochs = 2 if args.dry else args.epochs
    smoke_epochs = 2 if args.dry else args.smoke_epochs
    t0 = time.perf_counter()
    result: dict = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                    "torch": torch.__version__, "dry": args.dry}
    with tempfile.TemporaryDirectory(prefix="jessl-gpu-check-") as tmp:
        train_x, train_y = gratings(n_train, seed=0)
        test_x, test_y = gratings(n_test, seed=1)
        beton = write_beton(ArrayDataset(train_x, train_y), Path(tmp) / "train.beton")
        smoke = write_beton(ArrayDataset(train_x[:n_smoke], train_y[:n_smoke]), Path(tmp) / "smoke.beton")
        result["data_s"] = round(time.perf_counter() - t0, 1)

        run = cifar10_simclr(epochs, args.dry)
        m = run.model
        fwd = forward_flops(m.backbone, m.projector, 32)
        views = run.pretrain.num_views
        peak = args.peak_tflops or peak_tflops(device)
        result.update(backbone=m.backbone, batch=run.pretrain.batch_size, views=views, optimizer=run.optim.name,
                      online_probe=run.pretrain.online_probe, fwd_gflop_per_view=round(fwd / 1e9, 4),
                      train_gflop_per_view=round(3 * fwd / 1e9, 4), peak_tflops=peak)
        for mode in ("eager", "compiled"):
            if mode == "compiled" and args.dry:
                result["compiled"] = None
                continue
            if mode == "compiled":
                from torch._dynamo import reset
                from torch._dynamo.utils import counters

                reset()
                counters.clear()
            r = train(run, beton, device, mode == "compiled", threads, count_syncs=mode == "eager",
                      channels_last=profile_channels_last())
            timed = r["epoch_s"][1:] or r["epoch_s"]
            s_epoch = sum(timed) / len(timed)
            images = r["steps"] * run.pretrain.batch_size
            row = {"first_epoch_s": round(r["epoch_s"][0], 2), "s_per_epoch": round(s_epoch, 3),
                   "views_per_s": round(views * images / s_epoch, 1),
                   "mfu": round(3 * fwd * views * images / s_epoch / (peak * 1e12), 4) if peak else None,
                   "syncs_per_step": r["syncs_per_step"], "final_loss": round(r["losses"][-1], 4)}
            if mode == "compiled":
                row["graphs"] = counters["stats"]["unique_graphs"]
                row["recompiles"] = sum(counters["recompiles"].values())
            result[mode] = row

        smoke_run = cifar10_simclr(smoke_epochs, args.dry)
        trained = train(smoke_run, smoke, device, False, threads)["trainer"].model.backbone
        torch.manual_seed(0)
        untrained = Encoder(m.backbone, m.projector, stem=m.stem).backbone.to(device)
        train_set, test_set = (train_x[:n_smoke], train_y[:n_smoke]), (test_x, test_y)
        knn_trained, knn_untrained = knn(trained, train_set, test_set, device), knn(untrained, train_set, test_set,
                                                                                    device)
        result["smoke"] = {"epochs": smoke_epochs, "images": n_smoke, "knn_top1": round(knn_trained, 2),
                           "knn_top1_untrained": round(knn_untrained, 2),
                           "beats_untrained": knn_trained > knn_untrained}
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
