"""How each registered loss's cost grows with batch size N, views V and embedding width D, and how
pretraining throughput grows with `threads`.

Loss part: forward+backward of every loss on random embeddings (as bench_losses.py), all (method, size)
cases interleaved over rounds, medians; the exponent is the least-squares slope of log time on log size
(SimCLR's 2N×2N similarities: ≈2 in N at large N; covariance losses: ≈1 in N, ≈2 in D; an estimator
linear in N: ≈1). Small sizes are dominated by fixed per-call overhead, so slopes are fitted on the
upper sizes only (`--fit-from`). Threads part: `jessl.pretrain.pretrain` of the embedded SimCLR row for a
few epochs, threads 1 and 2 interleaved.

Usage: python bench/bench_scaling.py [--rounds 3] [--epochs 3] [--skip-threads]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from jessl.methods import METHODS  # noqa: E402
from jessl.methods.feed import loss_of_embeddings  # noqa: E402


def one(method, n: int, d: int, views: int) -> None:
    z = [torch.randn(n, d, requires_grad=True) for _ in range(views)]
    t = [torch.randn(n, d) for _ in range(views)]
    loss_of_embeddings(method, z, t).backward()


def timed(method, n: int, d: int, views: int, reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        one(method, n, d, views)
    return (time.perf_counter() - t0) / reps


def slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.mean(lx), statistics.mean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


def losses(args) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    sweeps = {"N": [(n, args.d, 2) for n in args.ns], "V": [(args.n, args.d, v) for v in args.vs],
              "D": [(args.n, d, 2) for d in args.ds]}
    cases = sorted({c for cs in sweeps.values() for c in cs})
    times = {(m, c): [] for m in METHODS for c in cases}
    for m in METHODS.values():
        one(m, 64, 32, 2)  # warm-up: lazy imports, RFF grids
    for _ in range(args.rounds):
        for name, m in METHODS.items():
            for c in cases:
                times[(name, c)].append(timed(m, *c, reps=args.reps))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"loss forward+backward, CPU ({args.threads} thread(s)), torch {torch.__version__}, {args.rounds} rounds; "
          f"N sweep at D={args.d}, V=2; V sweep at N={args.n}, D={args.d}; D sweep at N={args.n}, V=2\n")
    head = " | ".join(f"ms N={n}" for n in args.ns)
    print(f"| method | {head} | exp. N | exp. V | exp. D |\n|---|{'---|' * len(args.ns)}---|---|---|")
    for name in METHODS:
        fit = {}
        for axis, cs in sweeps.items():
            pos = {"N": 0, "V": 2, "D": 1}[axis]
            upper = [c for c in cs if c[pos] >= {"N": args.fit_from, "V": 2, "D": min(args.ds)}[axis]]
            fit[axis] = slope([c[pos] for c in upper], [med[(name, c)] for c in upper])
        cells = " | ".join(f"{1000 * med[(name, c)]:.2f}" for c in sweeps["N"])
        v = "— (pair: 2 views)" if METHODS[name].inputs == "pair" else f"{fit['V']:.2f}"
        print(f"| {name} | {cells} | {fit['N']:.2f} | {v} | {fit['D']:.2f} |")


def threads(args) -> None:
    import ffcv  # noqa: F401  (one-off import, not a throughput cost)

    from jessl.config import load
    from jessl.data import beton, sources
    from jessl.pretrain import pretrain

    params = load(ROOT / "params.yaml")
    run = params.run_config("simclr")
    run = run.model_copy(update={"pretrain": run.pretrain.model_copy(update={"epochs": args.epochs})})
    rates = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as d:
        path = beton.write_beton(sources.load(params.datasets["digits"])["train"], Path(d) / "train.beton")
        for r in range(args.rounds):
            for t in rates:
                s = pretrain(path, Path(d) / f"{r}_{t}" / "final.pt", run, 0, threads=t)
                rates[t].append(s["images_per_s"])
    base = statistics.median(rates[1])
    print(f"\npretraining throughput vs threads: embedded SimCLR, {args.epochs} epochs (FFCV compile included), "
          f"{args.rounds} rounds interleaved\n\n| threads | median images/s | × 1 thread |\n|---|---|---|")
    for t, r in rates.items():
        print(f"| {t} | {statistics.median(r):.0f} | {statistics.median(r) / base:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", type=int, nargs="+", default=[64, 128, 256, 512, 1024, 2048])
    ap.add_argument("--vs", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--ds", type=int, nargs="+", default=[128, 256, 512, 1024])
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--fit-from", type=int, default=256, help="fit the N exponent on N >= this")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the loss part")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--skip-threads", action="store_true")
    args = ap.parse_args()
    losses(args)
    if not args.skip_threads:
        threads(args)


if __name__ == "__main__":
    main()
