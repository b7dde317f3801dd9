"""Seconds per epoch, images/s and MFU of one SimCLR + ResNet-18 (CIFAR stem) training step, eager vs compiled.

The step is the pipeline's own (`jessl.pretrain.Trainer.step` after the batched augmentation of two views,
bf16 autocast on CUDA), fed CIFAR-shaped synthetic uint8 batches from pinned host memory. FLOPs: one
forward of the encoder (backbone + projector) is counted by `torch.utils.flop_counter` (2 FLOPs per
multiply-add); a training step ≈ 3 forwards (the backward costs two). MFU = achieved FLOP/s ÷ the
device's dense bf16 peak (`PEAK_TFLOPS`, or --peak-tflops).

Usage: python bench/gpu_step.py [--batch 256] [--views 2] [--size 32] [--images 50000] [--steps 30]
                                [--compile both|on|off] [--json out.json]
       python bench/gpu_step.py --smoke   # CPU, toy size, seconds: checks the script, not the GPU
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from jessl.accel import Accel  # noqa: E402
from jessl.config import validate  # noqa: E402
from jessl.data import augment as aug  # noqa: E402
from jessl.models import Encoder  # noqa: E402
from jessl.pretrain import Trainer  # noqa: E402

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


def run_config(args: argparse.Namespace):
    return validate({
        "datasets": {"synthetic": {}},  # only the run is used: no dataset is read
        "methods": {"simclr": {"hparams": {"temperature": 0.5}}},
        "model": {"backbone": args.backbone, "projector": args.projector},
        "augment": {"crop_scale": [0.2, 1.0]},
        "pretrain": {"batch_size": args.batch, "num_views": args.views, "epochs": 1},
    }).run_config("simclr")


def measure(args: argparse.Namespace, device: torch.device, compile: bool) -> dict[str, float | None]:
    """Time `args.steps` steps after `args.warmup` (compilation happens there; its time is reported)."""
    accel = Accel(device, channels_last=device.type == "cuda", compile=compile, backend=args.backend)
    run = run_config(args)
    trainer = Trainer.build(run, 0, device, 0, 1, accel)
    gen = torch.Generator().manual_seed(0)
    pool = torch.randint(0, 256, (4, args.batch, args.size, args.size, 3), dtype=torch.uint8, generator=gen)
    pool = pool.pin_memory() if device.type == "cuda" else pool
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    trainer.model.train()

    def step(i: int) -> None:
        xs = accel.views(aug.views(accel.inputs(pool[i % len(pool)]), run.augment, args.views, gen))
        trainer.step(xs, 1e-3, i, 10**6, autocast)

    t0 = time.perf_counter()
    for i in range(args.warmup):
        step(i)
    accel.synchronize()
    warm = time.perf_counter() - t0
    accel.reset_peak_memory()
    t0 = time.perf_counter()
    for i in range(args.steps):
        step(i)
    accel.synchronize()
    per_step = (time.perf_counter() - t0) / args.steps
    return {"compile": compile, "warmup_s": round(warm, 2), "step_ms": round(1e3 * per_step, 2),
            "img_per_s": round(args.batch / per_step, 1), "peak_gpu_mem_mib": accel.peak_memory_mib()}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--views", type=int, default=2)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--images", type=int, default=50_000, help="images per epoch (CIFAR-10: 50k)")
    ap.add_argument("--backbone", default="resnet18")
    ap.add_argument("--projector", type=int, nargs="+", default=[2048, 256])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--compile", choices=["both", "on", "off"], default="both")
    ap.add_argument("--backend", default="inductor", help="torch.compile backend")
    ap.add_argument("--peak-tflops", type=float, default=None, help="override the device's bf16 peak")
    ap.add_argument("--mfu-target", type=float, default=0.40, help="MFU of the projected s/epoch")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--smoke", action="store_true", help="CPU, batch 4, 8×8, 1+1 steps, eager only")
    args = ap.parse_args(argv)
    if args.smoke:
        args.batch, args.size, args.steps, args.warmup, args.compile = 4, 8, 1, 1, "off"
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.smoke else "cpu")

    fwd = forward_flops(args.backbone, args.projector, args.size)
    step_flops = 3 * fwd * args.batch * args.views
    peak = args.peak_tflops or peak_tflops(device)
    modes = {"both": [False, True], "on": [True], "off": [False]}[args.compile]
    rows = []
    for compile in modes:
        r = measure(args, device, compile)
        r["s_per_epoch"] = round(args.images / r["img_per_s"], 2)
        achieved = step_flops / (r["step_ms"] / 1e3)
        r["tflops"] = round(achieved / 1e12, 3)
        r["mfu"] = round(achieved / (peak * 1e12), 4) if peak else None
        rows.append(r)
    h100 = PEAK_TFLOPS["H100"] * 1e12
    epoch_flops = 3 * fwd * args.images * args.views
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__, "batch": args.batch, "views": args.views, "size": args.size,
        "backbone": args.backbone, "projector": args.projector, "images_per_epoch": args.images,
        "fwd_gflop_per_image": round(fwd / 1e9, 4), "train_gflop_per_step": round(step_flops / 1e9, 2),
        "peak_tflops": peak, "rows": rows,
        f"projected_s_per_epoch_h100_at_{args.mfu_target:.0%}_mfu": round(epoch_flops / (args.mfu_target * h100), 2),
        "h100_mfu_for_5_s_per_epoch": round(epoch_flops / (5.0 * h100), 4),
    }
    print(f"{args.backbone} (CIFAR stem) + projector {args.projector}, {args.size}×{args.size}, batch {args.batch} "
          f"× {args.views} views, {result['device']}, torch {torch.__version__}")
    print(f"forward {result['fwd_gflop_per_image']} GFLOP/image; training step ≈ 3× forward = "
          f"{result['train_gflop_per_step']} GFLOP; peak {peak or 'unknown'} TFLOP/s bf16\n")
    print("| compile | step ms | img/s | s/epoch | TFLOP/s | MFU | peak GPU MiB | warm-up s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        mfu = f"{100 * r['mfu']:.1f} %" if r["mfu"] is not None else "n/a"
        print(f"| {'on' if r['compile'] else 'off'} | {r['step_ms']} | {r['img_per_s']} | {r['s_per_epoch']} | "
              f"{r['tflops']} | {mfu} | {r['peak_gpu_mem_mib']} | {r['warmup_s']} |")
    key = f"projected_s_per_epoch_h100_at_{args.mfu_target:.0%}_mfu"
    print(f"\nprojected: {args.images} images × {args.views} views at {args.size}×{args.size} on an H100 at "
          f"{args.mfu_target:.0%} MFU: "
          f"{result[key]} s/epoch (5 s/epoch needs {100 * result['h100_mfu_for_5_s_per_epoch']:.1f} % MFU)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
