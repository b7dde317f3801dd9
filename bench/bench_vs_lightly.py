"""Training throughput and final k-NN accuracy: jessl's SimCLR loop vs lightly's documented loop.

jessl: `jessl.pretrain.pretrain` on the `.beton` (FFCV loader → batched torch augmentations → loss).
lightly: a map-style `Dataset` of PIL images + lightly's `SimCLRTransform` + torch `DataLoader` +
lightly's `NTXentLoss`, as in lightly's SimCLR example. Both train the same network (jessl's
`Encoder`: backbone + projector, same seed) with the same optimiser (AdamW, the same warm-up + cosine
schedule), data (the embedded digits), batch, epochs, views and torch threads (= loader workers); the
augmentations are matched (resized crop of the same scale and ratio, brightness/contrast 0.4, no flip).
Runs are interleaved (jessl, lightly, jessl, lightly, …; repetition r uses seed r) and medians are
reported; the k-NN top-1 (%) is on the test split with jessl's probe. A second, shorter part times a
few steps of ResNet-18 at 32×32.

`--memory-format both` adds both loops in channels-last memory (jessl: the run's `model.memory_format`, an
identity key; lightly: the model and each batch converted the documented torch way).

Usage: python bench/bench_vs_lightly.py [--reps 2] [--epochs 12] [--threads 1] [--memory-format both]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from jessl.checkpoint import load_backbone  # noqa: E402
from jessl.config import DatasetConfig, load  # noqa: E402
from jessl.data import beton, sources  # noqa: E402
from jessl.data.augment import to_float  # noqa: E402
from jessl.evaluate.knn import knn_top1  # noqa: E402
from jessl.models import Encoder  # noqa: E402
from jessl.optim import lr_at  # noqa: E402
from jessl.pretrain import pretrain  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class PILDataset(torch.utils.data.Dataset):
    """uint8 N×H×W×3 arrays as (PIL image → transform, label): what a torchvision-style dataset yields."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def lightly_transform(run, size: int):
    from lightly.transforms import SimCLRTransform

    a = run.augment
    return SimCLRTransform(input_size=size, min_scale=a.crop_scale[0], cj_prob=a.color_jitter_prob, cj_strength=1.0,
                           cj_bright=a.brightness, cj_contrast=a.contrast, cj_sat=a.saturation, cj_hue=a.hue,
                           random_gray_scale=a.grayscale_prob, gaussian_blur=a.blur_prob, hf_prob=a.flip_prob,
                           normalize={"mean": [0.5] * 3, "std": [0.25] * 3})


def train_lightly(run, train, size: int, seed: int, threads: int) -> tuple[float, torch.nn.Module]:
    """lightly's loop (in the run's `model.memory_format`); returns (wall seconds, trained backbone)."""
    from lightly.loss import NTXentLoss

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    pre, o = run.pretrain, run.optim
    fmt = torch.channels_last if run.model.memory_format == "channels_last" else torch.contiguous_format
    model = Encoder(run.model.backbone, run.model.projector).to(memory_format=fmt)
    criterion = NTXentLoss(temperature=run.hparams.get("temperature", 0.5))
    optimizer = torch.optim.AdamW(model.parameters(), lr=run.lr, weight_decay=o.weight_decay)
    loader = torch.utils.data.DataLoader(PILDataset(train.images, train.labels, lightly_transform(run, size)),
                                         batch_size=pre.batch_size, shuffle=True, drop_last=True,
                                         num_workers=threads)
    steps = len(loader)
    total, warmup = pre.epochs * steps, o.warmup_epochs * steps
    t0 = time.perf_counter()
    model.train()
    for epoch in range(pre.epochs):
        for i, ((x0, x1), _) in enumerate(loader):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(epoch * steps + i, total=total, warmup=warmup, peak=run.lr,
                                    start=o.warmup_start_lr, end=o.min_lr)  # jessl's schedule
            x0, x1 = x0.contiguous(memory_format=fmt), x1.contiguous(memory_format=fmt)
            loss = criterion(model(x0), model(x1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return time.perf_counter() - t0, model.backbone


def train_jessl(run, train_beton: Path, out: Path, seed: int, threads: int) -> tuple[float, torch.nn.Module]:
    t0 = time.perf_counter()
    pretrain(train_beton, out, run, seed, threads=threads)
    wall = time.perf_counter() - t0
    return wall, load_backbone(out, run.model.backbone)


@torch.no_grad()
def knn(backbone: torch.nn.Module, train, test, cfg) -> float:
    backbone.eval()
    feats = [backbone(to_float(torch.from_numpy(d.images))).numpy() for d in (train, test)]
    return knn_top1(feats[0], train.labels, feats[1], test.labels, cfg.knn_k, cfg.knn_temperature)


def with_format(run, fmt: str):
    return run.model_copy(update={"model": run.model.model_copy(update={"memory_format": fmt})})


def compare(run, train, test, size: int, reps: int, threads: int, eval_cfg, workdir: Path,
            formats: tuple[str, ...] = ("contiguous",)) -> dict[str, dict]:
    path = beton.write_beton(train, workdir / f"train{size}.beton")
    pre = run.pretrain
    views = pre.epochs * (len(train) // pre.batch_size) * pre.batch_size * pre.num_views
    loops = [(name, fmt) for fmt in formats for name in ("jessl", "lightly")]
    label = {(n, f): n if f == "contiguous" else f"{n} ({f})" for n, f in loops}
    res = {label[k]: {"rate": [], "acc": []} for k in loops}
    for r in range(reps):
        for name, fmt in loops:
            key, job = label[name, fmt], with_format(run, fmt)
            if name == "jessl":
                wall, bb = train_jessl(job, path, workdir / f"r{r}_{size}_{fmt}" / "final.pt", r, threads)
            else:
                wall, bb = train_lightly(job, train, size, r, threads)
            res[key]["rate"].append(views / wall)
            res[key]["acc"].append(knn(bb.to(memory_format=torch.contiguous_format), train, test, eval_cfg)
                                   if test is not None else float("nan"))
            print(f"  rep {r} {key}: {views / wall:.0f} views/s, k-NN {res[key]['acc'][-1]:.2f}", flush=True)
    return res


def table(title: str, res: dict[str, dict]) -> None:
    base = statistics.median((res.get("lightly") or next(v for k, v in res.items() if k.startswith("lightly")))["rate"])
    print(f"\n{title}\n\n| loop | median views/s | × lightly | k-NN top-1 % (mean over reps) |\n|---|---|---|---|")
    for name, r in res.items():
        med = statistics.median(r["rate"])
        print(f"| {name} | {med:.0f} | {med / base:.2f} | {statistics.mean(r['acc']):.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=None, help="default: params.yaml's")
    ap.add_argument("--threads", type=int, default=1, help="torch threads = loader workers, both loops")
    ap.add_argument("--r18-images", type=int, default=256)
    ap.add_argument("--r18-batch", type=int, default=64)
    ap.add_argument("--memory-format", choices=["contiguous", "channels_last", "both"], default="contiguous")
    args = ap.parse_args()
    formats = ("contiguous", "channels_last") if args.memory_format == "both" else (args.memory_format,)
    import ffcv  # noqa: F401  (its one-off import cost is not a training-loop cost)

    params = load(ROOT / "params.yaml")
    run = params.run_config("simclr")
    if args.epochs is not None:
        run = run.model_copy(update={"pretrain": run.pretrain.model_copy(update={"epochs": args.epochs})})
    ds = params.datasets["digits"]
    splits = sources.load(ds)
    with tempfile.TemporaryDirectory() as d:
        main_res = compare(run, splits["train"], splits["test"], ds.image_size, args.reps, args.threads,
                           params.evaluate, Path(d), formats)
        r18 = DatasetConfig(**{**ds.model_dump(exclude_none=True), "image_size": 32})
        small = sources.load(r18)["train"]
        small = sources.ArrayDataset(small.images[: args.r18_images], small.labels[: args.r18_images])
        run18 = run.model_copy(update={
            "model": run.model.model_copy(update={"backbone": "resnet18", "projector": [512, 128]}),
            "pretrain": run.pretrain.model_copy(update={"epochs": 1, "batch_size": args.r18_batch}),
            "optim": run.optim.model_copy(update={"warmup_epochs": 0}),
        })
        r18_res = compare(run18, small, None, 32, args.reps, args.threads, params.evaluate, Path(d), formats)
    pre = run.pretrain
    table(f"SimCLR, embedded digits ({len(splits['train'])} train images, {ds.image_size}×{ds.image_size}), "
          f"{run.model.backbone}, batch {pre.batch_size}, {pre.epochs} epochs, {pre.num_views} views, "
          f"{args.threads} thread(s)/worker(s), CPU, torch {torch.__version__}, {args.reps} reps interleaved",
          main_res)
    table(f"SimCLR, ResNet-18 at 32×32, {args.r18_images} images, batch {args.r18_batch}, "
          f"{args.r18_images // args.r18_batch} steps", r18_res)


if __name__ == "__main__":
    main()
