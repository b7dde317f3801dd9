"""The CPU benches a user runs for speed claims (bench/RESULTS.md) still run on today's code: each at a
tiny size, its closing table parsed. (A bench that broke with an API change went unnoticed once.)"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run_bench(name: str, *args: str) -> str:
    out = subprocess.run([sys.executable, str(BENCH / name), *args], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def rows(text: str, first: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith(f"| {first}")]


@pytest.mark.e2e
def test_vs_lightly_trains_both_loops_and_reports_ratios():
    text = run_bench("bench_vs_lightly.py", "--epochs", "1", "--reps", "1", "--r18-images", "16", "--r18-batch", "8")
    jessl, lightly = rows(text, "jessl"), rows(text, "lightly")
    assert len(jessl) == len(lightly) == 2  # the embedded table and the ResNet-18 table
    assert all(r[2] == "1.00" for r in lightly) and all(float(r[2]) > 0 for r in jessl)
    assert 10 <= float(jessl[0][3]) <= 100 and 10 <= float(lightly[0][3]) <= 100  # k-NN of 1-epoch backbones


def test_step_profile_shares_and_memory_formats():
    text = run_bench("bench_step_profile.py", "--rounds", "1", "--steps", "2")
    shares = {r[0]: float(r[1]) for r in rows(text, "") if re.fullmatch(r"-?[\d.]+", r[-1]) and len(r) == 2}
    assert shares["convolution (fwd + bwd)"] > 20  # a conv net's step is mostly convolutions
    assert sum(v for k, v in shares.items() if not k.startswith("augmentations")) == pytest.approx(100, abs=0.3)
    nchw, cl = rows(text, "NCHW"), rows(text, "channels-last")
    assert nchw[0][2] == "1.00" and float(cl[0][2]) > 0
