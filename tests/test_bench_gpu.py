"""bench/gpu_check.py: its FLOP count against the architecture, and its CPU dry mode end to end (through the
shell script, as on the device machine)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "gpu_check.py"


def _bench():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _resnet18_macs(side: int) -> int:
    """Multiply-adds of the CIFAR-stem ResNet-18 convolutions on a side×side image (He et al. 2016, Table 1):
    the 3×3 stem, then per stage two BasicBlocks of two 3×3 convs, and a 1×1 stride-2 shortcut in stages 2-4."""
    macs, cin = 9 * 3 * 64 * side * side, 64
    for stage, w in enumerate((64, 128, 256, 512)):
        if stage:
            side //= 2
        hw = side * side
        macs += 9 * cin * w * hw + 3 * 9 * w * w * hw  # the first conv reads cin channels, the other three w
        if cin != w:
            macs += cin * w * hw
        cin = w
    return macs


def test_forward_flops_are_twice_the_multiply_adds_of_convs_and_projector():
    bench = _bench()
    projector = 512 * 2048 + 2048 * 256  # Linear(512, 2048) → BN → ReLU → Linear(2048, 256)
    assert bench.forward_flops("resnet18", [2048, 256], 32) == 2 * (_resnet18_macs(32) + projector)
    assert _resnet18_macs(32) == 555_417_600  # ≈ 0.56 GMAC: 1.11 GFLOP per 32×32 image


def test_dry_mode_prints_one_json_line_of_the_cifar10_simclr_run():
    res = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), "--dry"], capture_output=True, text=True,
                         timeout=600, env={**os.environ, "PYTHON": sys.executable})
    assert res.returncode == 0, res.stderr[-3000:]
    line = res.stdout.strip().splitlines()[-1]
    r = json.loads(line)
    assert r["dry"] is True and r["device"] == "cpu" and r["compiled"] is None
    assert (r["optimizer"], r["views"], r["online_probe"]) == ("lars", 2, True)  # the cifar10 profile's simclr
    e = r["eager"]
    assert e["s_per_epoch"] > 0 and e["mfu"] is None and e["syncs_per_step"] is None  # CPU: no peak, no CUDA
    # 256 images at batch 32: 8 steps × 32 × 2 views per epoch
    assert abs(e["views_per_s"] - 2 * 256 / e["s_per_epoch"]) < 0.01 * e["views_per_s"]
    assert abs(r["train_gflop_per_view"] - 3 * r["fwd_gflop_per_view"]) < 1e-3
    assert 0 <= r["smoke"]["knn_top1"] <= 100 and isinstance(r["smoke"]["beats_untrained"], bool)
