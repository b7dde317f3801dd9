"""Images/s of the training input path: FFCV `.beton` loader vs a torch DataLoader over the same
uint8 arrays, both followed by jessl's batched augmentation of two views. Side by side, interleaved.

Usage: python bench/bench_loader.py [--epochs 3] [--workers 2] [--batch 128]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from jessl.config import AugmentConfig, DatasetConfig  # noqa: E402
from jessl.data import augment, beton, sources  # noqa: E402


def run_epoch(batches, cfg, gen) -> int:
    n = 0
    for images, _ in batches:
        augment.views(images, cfg, 2, gen)
        n += images.shape[0]
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--size", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(args.workers)
    train = sources.load(DatasetConfig(image_size=args.size))["train"]
    cfg, gen = AugmentConfig(), torch.Generator().manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        path = beton.write_beton(train, Path(d) / "train.beton")
        ffcv = beton.BetonLoader(path, args.batch, workers=args.workers, shuffle=True, seed=0, drop_last=True)
        ds = torch.utils.data.TensorDataset(torch.from_numpy(train.images), torch.from_numpy(train.labels))
        torch_loader = torch.utils.data.DataLoader(ds, args.batch, shuffle=True, drop_last=True,
                                                   num_workers=args.workers, persistent_workers=True)
        run_epoch(ffcv, cfg, gen), run_epoch(torch_loader, cfg, gen)  # warm-up: numba compile, workers
        rates = {"ffcv": [], "torch DataLoader": []}
        for _ in range(args.epochs):
            for name, loader in (("ffcv", ffcv), ("torch DataLoader", torch_loader)):
                t0 = time.perf_counter()
                n = run_epoch(loader, cfg, gen)
                rates[name].append(n / (time.perf_counter() - t0))
    base = statistics.median(rates["torch DataLoader"])
    print(f"digits train ({len(train)} images, {args.size}×{args.size}), batch {args.batch}, "
          f"{args.workers} workers/threads, 2 augmented views\n")
    print("| loader | median images/s | × torch DataLoader |\n|---|---|---|")
    for name, r in rates.items():
        print(f"| {name} | {statistics.median(r):.0f} | {statistics.median(r) / base:.2f} |")


if __name__ == "__main__":
    main()
