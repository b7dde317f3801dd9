"""bench/gpu_step.py: its FLOP count against the architecture, and its CPU smoke mode end to end."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu_step.py"


def _bench():
    spec = importlib.util.spec_from_file_location("gpu_step", SCRIPT)
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


def test_smoke_mode_runs_on_the_cpu_and_reports_consistent_numbers(tmp_path, capsys):
    out = tmp_path / "r.json"
    result = _bench().main(["--smoke", "--json", str(out)])
    assert json.loads(out.read_text()) == result
    (row,) = result["rows"]
    assert result["device"] == "cpu" and row["compile"] is False and row["peak_gpu_mem_mib"] is None
    assert row["img_per_s"] > 0 and abs(row["s_per_epoch"] - 50_000 / row["img_per_s"]) < 0.01 * row["s_per_epoch"]
    assert row["mfu"] is None  # no peak is known for a CPU
    fwd = result["fwd_gflop_per_image"] * 1e9
    assert result["train_gflop_per_step"] == round(3 * fwd * result["batch"] * 2 / 1e9, 2)
    assert "| off |" in capsys.readouterr().out
