"""Forward+backward time of every registered loss on the same embeddings, as a ratio to SimCLR.

Measured side by side, interleaved over rounds (the machines are noisy); prints a Markdown table.
Usage: python bench/bench_losses.py [--n 256] [--d 128] [--rounds 5] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from jessl.methods import METHODS  # noqa: E402
from jessl.methods.feed import loss_of_embeddings  # noqa: E402


def one(method, n, d, device, views=2):
    z = [torch.randn(n, d, device=device, requires_grad=True) for _ in range(views)]
    t = [torch.randn(n, d, device=device) for _ in range(views)]
    loss = loss_of_embeddings(method, z, t)
    loss.backward()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    torch.manual_seed(0)
    times = {name: [] for name in METHODS}
    for m in METHODS.values():  # warm-up (lazy imports, RFF grids)
        one(m, args.n, args.d, args.device)
    for _ in range(args.rounds):
        for name, m in METHODS.items():
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(args.reps):
                one(m, args.n, args.d, args.device)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            times[name].append((time.perf_counter() - t0) / args.reps)
    base = statistics.median(times["simclr"])
    dev = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU ({torch.get_num_threads()} threads)"
    print(f"loss forward+backward, N={args.n}, D={args.d}, two views, {dev}, torch {torch.__version__}\n")
    print("| method | median ms | × simclr |\n|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {1000 * med:.2f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
