"""Two augmented views/s of the training input path vs the baseline a user would write.

jessl: `.beton` → FFCV loader (uint8 batches) → `jessl.data.augment.views` (batched, seeded, in torch).
Baseline: a CIFAR10-style map `Dataset` over the same uint8 arrays + torch `DataLoader` + per-sample
torchvision `transforms.v2` (RandomResizedCrop, flip, ColorJitter, RandomGrayscale, GaussianBlur,
normalise), two views per sample. Same images (random, CIFAR-shaped), batch, workers (= torch threads),
recipe and output (two float N×3×H×W tensors per batch); rounds interleaved, medians.

The recipe uses the augment keys of the shared contract (`crop_scale`, `flip_prob`, `color_jitter_prob`,
`brightness`, `contrast`, `saturation`, `hue`, `grayscale_prob`, `blur_prob`, `blur_sigma`); keys that
this checkout's `AugmentConfig` lacks are dropped from *both* sides and listed in the output.

Usage: python bench/bench_input.py [--images 10000] [--size 32] [--batch 256] [--workers 2] [--rounds 3]
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
from jessl.config import AugmentConfig  # noqa: E402
from jessl.data import augment, beton, sources  # noqa: E402

# SimCLR's CIFAR recipe (solo-learn's meaning of each key), plus blur so the colour path is complete.
RECIPE = {"crop_scale": (0.08, 1.0), "flip_prob": 0.5, "color_jitter_prob": 0.8, "brightness": 0.4,
          "contrast": 0.4, "saturation": 0.2, "hue": 0.1, "grayscale_prob": 0.2, "blur_prob": 0.5,
          "blur_sigma": (0.1, 2.0)}


def jessl_config() -> tuple[AugmentConfig, dict, list[str]]:
    """(config, the recipe keys it has, the keys it lacks); today's `flip: bool` stands in for flip_prob."""
    fields = AugmentConfig.model_fields
    have = {k: v for k, v in RECIPE.items() if k in fields}
    if "flip_prob" not in fields and "flip" in fields:
        have["flip"] = True
    missing = [k for k in RECIPE if k not in fields and not (k == "flip_prob" and "flip" in fields)]
    extra = {"noise_std": 0.0} if "noise_std" in fields else {}
    return AugmentConfig(**have, **extra), have, missing


def torchvision_transform(have: dict, size: int):
    from torchvision.transforms import v2

    steps = [v2.ToImage(), v2.RandomResizedCrop(size, scale=have.get("crop_scale", (0.08, 1.0)), antialias=True)]
    if have.get("flip_prob", 0.5 if have.get("flip") else 0.0) > 0:
        steps.append(v2.RandomHorizontalFlip(have.get("flip_prob", 0.5)))
    jitter = {k: have[k] for k in ("brightness", "contrast", "saturation", "hue") if have.get(k)}
    if jitter:
        steps.append(v2.RandomApply([v2.ColorJitter(**jitter)], p=have.get("color_jitter_prob", 1.0)))
    if "grayscale_prob" in have:
        steps.append(v2.RandomGrayscale(have["grayscale_prob"]))
    if "blur_prob" in have:
        kernel = max(3, size // 10 * 2 + 1)  # ≈ 10 % of the side, odd
        steps.append(v2.RandomApply([v2.GaussianBlur(kernel, sigma=have["blur_sigma"])], p=have["blur_prob"]))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize([augment.MEAN] * 3, [augment.STD] * 3)]
    return v2.Compose(steps)


class TwoViews(torch.utils.data.Dataset):
    """CIFAR10-style: uint8 H×W×3 arrays, each sample → two transformed views."""

    def __init__(self, images: np.ndarray, transform) -> None:
        self.images, self.transform = images, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        img = torch.from_numpy(self.images[i]).permute(2, 0, 1)
        return self.transform(img), self.transform(img)


def epoch_jessl(loader, cfg, gen) -> int:
    n = 0
    for images, _ in loader:
        v1, v2_ = augment.views(images, cfg, 2, gen)
        n += v1.shape[0]
    return n


def epoch_torch(loader) -> int:
    n = 0
    for v1, _ in loader:
        n += v1.shape[0]
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.workers)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, args.size, args.size, 3), dtype=np.uint8)
    data = sources.ArrayDataset(images, rng.integers(0, 10, args.images))
    cfg, have, missing = jessl_config()
    gen = torch.Generator().manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        path = beton.write_beton(data, Path(d) / "train.beton")
        ffcv = beton.BetonLoader(path, args.batch, workers=args.workers, shuffle=True, seed=0, drop_last=True)
        base = torch.utils.data.DataLoader(TwoViews(images, torchvision_transform(have, args.size)), args.batch,
                                           shuffle=True, drop_last=True, num_workers=args.workers,
                                           persistent_workers=args.workers > 0)
        epoch_jessl(ffcv, cfg, gen), epoch_torch(base)  # warm-up: numba compile, worker start
        rates = {"jessl (.beton → FFCV → batched views)": [], "torchvision Dataset + DataLoader + v2": []}
        for _ in range(args.rounds):
            for name in rates:
                t0 = time.perf_counter()
                n = epoch_jessl(ffcv, cfg, gen) if name.startswith("jessl") else epoch_torch(base)
                rates[name].append(2 * n / (time.perf_counter() - t0))
    ref = statistics.median(rates["torchvision Dataset + DataLoader + v2"])
    print(f"{args.images} random {args.size}×{args.size} images, batch {args.batch}, "
          f"{args.workers} workers/threads, 2 views, {args.rounds} rounds interleaved, torch {torch.__version__}")
    print(f"recipe keys used: {sorted(have)}; not in this AugmentConfig (dropped from both sides): "
          f"{missing or 'none'}\n")
    print("| input path | median views/s | × torchvision |\n|---|---|---|")
    for name, r in rates.items():
        print(f"| {name} | {statistics.median(r):.0f} | {statistics.median(r) / ref:.2f} |")


if __name__ == "__main__":
    main()
