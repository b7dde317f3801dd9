"""Where one pipeline job's time goes: imports, FFCV JIT compile, training, probing (embedded default).

Each job kind runs in a fresh Python process, as a Snakemake job does, and times its phases in wall and
CPU seconds (CPU is the steadier number on a shared machine). `pretrain`: imports (torch, jessl, ffcv),
building the FFCV loader, its first pass (numba JIT compile) and a second pass (the loader's steady cost),
then `jessl.pretrain.pretrain` of one embedded method. `evaluate`: imports, reading both `.beton` files,
feature extraction and the probes of one checkpoint (or raw pixels).

Usage: python bench/bench_phases.py [--method simclr] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
T = []
def mark(name, t=[time.perf_counter(), time.process_time()]):
    w, c = time.perf_counter(), time.process_time()
    T.append((name, w - t[0], c - t[1])); t[0], t[1] = w, c
import torch; mark("import torch")
"""

PRETRAIN = CHILD + r"""
from jessl.config import load; from jessl import stages, pretrain as pt; mark("import jessl (config, stages, pretrain)")
import ffcv; mark("import ffcv (numba typed Dict compile)")
from jessl.data.beton import BetonLoader
P = load(ROOT + "/params.yaml"); run = P.run_config(METHOD); torch.set_num_threads(THREADS)
loader = BetonLoader(BETON, run.pretrain.batch_size, workers=THREADS, shuffle=True, seed=0, drop_last=True)
mark("build the FFCV loader")
for _ in loader: pass
mark("FFCV loader: first pass (JIT compile + read)")
for _ in loader: pass
mark("FFCV loader: second pass (read only)")
s = pt.pretrain(BETON, OUT, run, 0, threads=THREADS)
mark(f"pretrain() {run.pretrain.epochs} epochs (own loader: compile again)")
print(json.dumps(T))
"""

EVALUATE = CHILD + r"""
from jessl.config import load; from jessl import stages; from jessl.evaluate import run as er
mark("import jessl (config, stages, evaluate)")
import sklearn.linear_model; mark("import sklearn (already in)")
from jessl.data.beton import read_all; from jessl.evaluate.features import extract
from jessl.checkpoint import load_backbone
P = load(ROOT + "/params.yaml"); torch.set_num_threads(THREADS)
tr = read_all(BETON); te = read_all(TEST); mark("read both .beton (numpy)")
bb = load_backbone(CKPT, P.model.backbone) if CKPT else None
trx, try_ = extract(bb, BETON, P.evaluate.batch_size); tex, tey = extract(bb, TEST, P.evaluate.batch_size)
mark("extract features (reads again)")
m, _ = er.probes(trx, try_, tex, tey, P.evaluate); mark("probes (linear, few-label, k-NN, RankMe)")
print("ffcv imported:", "ffcv" in sys.modules, file=sys.stderr)
print(json.dumps(T))
"""


def child(code: str, **consts) -> list:
    head = "".join(f"{k} = {v!r}\n" for k, v in consts.items())
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", head + code], capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode:
        sys.exit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(title: str, rows: list) -> None:
    print(f"\n{title}\n\n| phase | wall s | CPU s |\n|---|---|---|")
    for name, w, c in rows:
        print(f"| {name} | {w:.1f} | {c:.1f} |")
    print(f"| **total** | {sum(r[1] for r in rows):.1f} | {sum(r[2] for r in rows):.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="simclr")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from jessl.config import load
    from jessl.data import beton, sources

    ds = load(ROOT / "params.yaml").datasets["digits"]
    with tempfile.TemporaryDirectory() as d:
        splits = sources.load(ds)
        train, test = (str(beton.write_beton(splits[s], Path(d) / f"{s}.beton")) for s in ("train", "test"))
        ckpt = str(Path(d) / "ck" / "final.pt")
        pre = child(PRETRAIN, ROOT=str(ROOT), METHOD=args.method, THREADS=args.threads, BETON=train, OUT=ckpt)
        ev = child(EVALUATE, ROOT=str(ROOT), THREADS=args.threads, BETON=train, TEST=test, CKPT=ckpt)
    show(f"one pretrain job ({args.method}, embedded default, {args.threads} thread(s))", pre)
    show("one evaluate job (its checkpoint)", ev)


if __name__ == "__main__":
    main()
