"""Where one embedded training step's time goes, by operator, and what channels-last memory would save on CPU.

The embedded table's cost is dominated by its 13 pretraining runs; this profiles one of their steps
(the loop's own `Trainer.step` on views from `jessl.data.augment`, the embedded recipe's batch, 1 thread as
the pipeline runs it) with `torch.profiler`, grouped into backbone convolutions, batch norm, the rest of
autograd/optimiser, and the augmentation. Then the same step in the default (NCHW) and channels-last memory
formats, interleaved rounds in one process (the ratio is the number; absolute times move with load).
`pretrain.channels_last` is a CUDA-only resource today (dropped on CPU with a message), so this measures
what allowing it on CPU would give, without changing the pipeline.

Usage: python bench/bench_step_profile.py [--method simclr] [--rounds 5] [--steps 8]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from jessl.config import load  # noqa: E402
from jessl.data import augment as aug  # noqa: E402
from jessl.pretrain import Trainer  # noqa: E402


def trainer(run, channels_last: bool) -> Trainer:
    tr = Trainer.build(run, 0, torch.device("cpu"), 0, 1)
    if channels_last:
        tr.model.to(memory_format=torch.channels_last)
    return tr


def step(tr: Trainer, run, images: torch.Tensor, gen: torch.Generator, channels_last: bool) -> None:
    with torch.profiler.record_function("views"):
        xs = aug.views(images, run.augment, run.pretrain.num_views, gen)
    if channels_last:
        xs = [x.contiguous(memory_format=torch.channels_last) for x in xs]
    tr.step(xs, 1e-3, 0, 100, contextlib.nullcontext())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="simclr")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(1)
    params = load(ROOT / "params.yaml")
    run, side = params.run_config(args.method), params.datasets[params.pretrain_datasets[0]].image_size
    images = torch.randint(0, 256, (run.pretrain.batch_size, side, side, 3), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(0)

    tr = trainer(run, False)
    for _ in range(3):
        step(tr, run, images, gen, False)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step(tr, run, images, gen, False)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    print(f"\none step of `{args.method}` (embedded recipe, batch {run.pretrain.batch_size} × "
          f"{run.pretrain.num_views} views of {side}×{side}, 1 thread), {args.steps} steps profiled\n")
    def share(keys: tuple[str, ...]) -> float:
        return 100 * sum(e.self_cpu_time_total for e in events if any(k in e.key for k in keys)) / total

    conv, bn = share(("convolution",)), share(("batch_norm",))
    views = 100 * sum(e.cpu_time_total for e in events if e.key == "views") / total  # its ops, nested
    print("| share of self CPU time | % |\n|---|---|")
    print(f"| convolution (fwd + bwd) | {conv:.1f} |\n| batch norm (fwd + bwd) | {bn:.1f} |")
    print(f"| augmentations (views) | {views:.1f} |")
    print(f"| everything else (loss, optimiser, autograd, copies; incl. the augmentations) | {100 - conv - bn:.1f} |")

    models = {cl: trainer(run, cl) for cl in (False, True)}
    times: dict[bool, list[float]] = {False: [], True: []}
    for cl in (False, True):
        for _ in range(2):
            step(models[cl], run, images, gen, cl)
    for _ in range(args.rounds):
        for cl in (False, True):
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step(models[cl], run, images, gen, cl)
            times[cl].append((time.perf_counter() - t0) / args.steps)
    base = statistics.median(times[False])
    print(f"\n| memory format | median s/step ({args.rounds} interleaved rounds × {args.steps} steps) | × NCHW |")
    print("|---|---|---|")
    for cl, name in ((False, "NCHW (today on CPU)"), (True, "channels-last")):
        med = statistics.median(times[cl])
        print(f"| {name} | {med:.4f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
