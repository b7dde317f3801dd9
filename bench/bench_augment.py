"""ms per 2-view batch of the full SSL augmentation set, side by side (interleaved rounds, medians):
jessl's own batched torch ops vs torchvision.transforms.v2 applied per sample vs kornia.augmentation
(batched; skipped when kornia is not installed). Also: is each deterministic given a seed, and the
embedded default's recipe at its own shape.

Usage: python bench/bench_augment.py [--batch 256] [--size 32] [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from jessl.config import AugmentConfig, validate  # noqa: E402
from jessl.data import augment  # noqa: E402
from jessl.profiles import resolve  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# SimCLR's colour recipe + BYOL's asymmetric blur / solarisation (every op exercised)
RECIPE = AugmentConfig(crop_scale=(0.08, 1.0), flip_prob=0.5, color_jitter_prob=0.8, brightness=0.4, contrast=0.4,
                       saturation=0.2, hue=0.1, grayscale_prob=0.2, blur_sigma=(0.1, 2.0),
                       per_view=[{"blur_prob": 1.0, "solarize_prob": 0.0}, {"blur_prob": 0.1, "solarize_prob": 0.2}])


def jessl_views(images: torch.Tensor, cfg: AugmentConfig, seed: int) -> list[torch.Tensor]:
    return augment.views(images, cfg, 2, torch.Generator().manual_seed(seed))


def torchvision_pipelines(cfg: AugmentConfig, size: int) -> list:
    import torchvision.transforms.v2 as T

    pipes = []
    for i in range(2):
        v = cfg.view(i)
        k = augment.blur_kernel_size(size, size)
        pipes.append(T.Compose([
            T.RandomResizedCrop(size, scale=v.crop_scale, ratio=v.crop_ratio, antialias=True),
            T.RandomHorizontalFlip(v.flip_prob),
            T.RandomApply([T.ColorJitter(v.brightness, v.contrast, v.saturation, v.hue)], p=v.color_jitter_prob),
            T.RandomGrayscale(v.grayscale_prob),
            T.RandomApply([T.GaussianBlur(k, v.blur_sigma)], p=v.blur_prob),
            T.RandomSolarize(128, p=v.solarize_prob),
            T.ToDtype(torch.float32, scale=True),
        ]))
    return pipes


def torchvision_views(images: torch.Tensor, pipes: list, seed: int) -> list[torch.Tensor]:
    torch.manual_seed(seed)  # no generator argument: the global RNG
    chw = images.permute(0, 3, 1, 2)
    return [augment.normalize(torch.stack([p(img) for img in chw])) for p in pipes]


def kornia_pipelines(cfg: AugmentConfig, size: int) -> list | None:
    try:
        import kornia.augmentation as K
    except ImportError:
        return None
    pipes = []
    for i in range(2):
        v = cfg.view(i)
        k = augment.blur_kernel_size(size, size)
        pipes.append(torch.nn.Sequential(
            K.RandomResizedCrop((size, size), scale=v.crop_scale, ratio=v.crop_ratio, align_corners=False),
            K.RandomHorizontalFlip(p=v.flip_prob),
            K.ColorJitter(v.brightness, v.contrast, v.saturation, v.hue, p=v.color_jitter_prob),
            K.RandomGrayscale(p=v.grayscale_prob),
            K.RandomGaussianBlur(k, v.blur_sigma, p=v.blur_prob),
            K.RandomSolarize(0.0, 0.0, p=v.solarize_prob),
        ))
    return pipes


def kornia_views(images: torch.Tensor, pipes: list, seed: int) -> list[torch.Tensor]:
    torch.manual_seed(seed)  # kornia samples from the global RNG
    x = images.permute(0, 3, 1, 2).float() / 255.0
    return [augment.normalize(p(x)) for p in pipes]


def same_bytes(fn, images) -> bool:
    a, b = fn(images, 11), fn(images, 11)
    return all(torch.equal(x, y) for x, y in zip(a, b))


def timed(candidates: dict, images: torch.Tensor, rounds: int) -> dict[str, float]:
    for fn in candidates.values():
        fn(images, 0)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for r in range(rounds):
        for name, fn in candidates.items():
            t0 = time.perf_counter()
            fn(images, r)
            times[name].append(1e3 * (time.perf_counter() - t0))
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    images = torch.randint(0, 256, (args.batch, args.size, args.size, 3), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    tv = torchvision_pipelines(RECIPE, args.size)
    candidates = {"jessl batched torch ops": lambda x, s: jessl_views(x, RECIPE, s),
                  "torchvision v2, per sample": lambda x, s: torchvision_views(x, tv, s)}
    kp = kornia_pipelines(RECIPE, args.size)
    if kp is not None:
        candidates["kornia 0.9, batched"] = lambda x, s: kornia_views(x, kp, s)
    ms = timed(candidates, images, args.rounds)
    base = ms["jessl batched torch ops"]
    print(f"full recipe (crop, flip, jitter, grayscale, blur, solarise; 2 asymmetric views), batch {args.batch} "
          f"of {args.size}×{args.size} uint8, CPU ({args.threads} threads), torch {torch.__version__}\n")
    print("| implementation | median ms / 2-view batch | × jessl | same seed → same bytes | seeded by |")
    print("|---|---|---|---|---|")
    seeded = {"jessl batched torch ops": "the loop's torch.Generator", "torchvision v2, per sample":
              "global RNG only", "kornia 0.9, batched": "global RNG only"}
    for name, t in ms.items():
        print(f"| {name} | {t:.1f} | {t / base:.2f} | {'yes' if same_bytes(candidates[name], images) else 'NO'} "
              f"| {seeded[name]} |")
    if kp is None:
        print("\n(kornia not installed: `pip install kornia==0.9.0` to include it)")

    emb = validate(resolve("embedded", config_dir=ROOT / "config"))  # the profile, defaults merged
    small = torch.randint(0, 256, (128, 16, 16, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    t = timed({"embedded": lambda x, s: jessl_views(x, emb.augment, s)}, small, args.rounds)["embedded"]
    print(f"\nembedded default's recipe (config/embedded.yaml), 2-view batch of 128 at 16×16: {t:.2f} ms")


if __name__ == "__main__":
    main()
