"""Shared fixtures: tiny datasets written the way the pipeline writes them, and project copies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from jessl.config import DatasetConfig  # noqa: E402
from jessl.data import beton, sources  # noqa: E402

TOP_LEVEL_SKIP = {".git", ".venv", ".lock-venv", "data", "checkpoints", "results", "logs", ".snakemake",
                  ".pytest_cache", ".ruff_cache"}


def _ignore(folder: str, names: list[str]) -> set[str]:
    where = Path(folder).resolve()
    skip = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
    if where == ROOT:
        skip |= TOP_LEVEL_SKIP & set(names)
    if where == ROOT / ".dvc":
        skip |= {"cache", "tmp"} & set(names)
    return skip


def tool_env() -> dict[str, str]:
    """Environment for subprocesses: this interpreter's bin first (snakemake, dvc), git identity set."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(GIT_AUTHOR_NAME="jessl-test", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="jessl-test", GIT_COMMITTER_EMAIL="t@example.invalid")
    env.pop("PYTHONPATH", None)
    return env


def run(cmd: list[str], cwd: Path, check: bool = True, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, cwd=cwd, env=tool_env(), capture_output=True, text=True, **kw)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
    return out


def copy_project(dest: Path) -> Path:
    """A clean copy of the working tree (no outputs, no caches), committed in a fresh git repo."""
    shutil.copytree(ROOT, dest, ignore=_ignore, symlinks=True)
    run(["git", "init", "-q", "-b", "main"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-q", "-m", "copy"], dest)
    return dest


@pytest.fixture(scope="session")
def digits_splits():
    return sources.load(DatasetConfig(image_size=16))


@pytest.fixture(scope="session")
def small_betons(tmp_path_factory, digits_splits):
    """train/test .beton of a 320/100-sample digits subset (fast to train on)."""
    d = tmp_path_factory.mktemp("betons")
    tr, te = digits_splits["train"], digits_splits["test"]
    beton.write_beton(sources.ArrayDataset(tr.images[:320], tr.labels[:320]), d / "train.beton")
    beton.write_beton(sources.ArrayDataset(te.images[:100], te.labels[:100]), d / "test.beton")
    return d / "train.beton", d / "test.beton"


def random_images(n: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def scored_entry(method: str, seed: int = 0, dataset: str = "digits", n: int = 200, **fields) -> dict:
    """An evaluation entry whose per-image scores agree with its top-1 metrics: round(top1 × n / 100) of `n`
    test images right, which ones drawn per (method, seed); `metrics` and the other fields as given."""
    from jessl.evaluate import per_image

    metrics = fields.pop("metrics")
    rng = np.random.default_rng([seed, sum(map(ord, method))])
    scores = {"n": n}
    for key in ("linear_top1", "fewshot_top1", "knn_top1"):
        if isinstance(metrics.get(key), int | float) and np.isfinite(metrics[key]):
            right = np.zeros(n, dtype=int)
            right[rng.permutation(n)[: round(metrics[key] * n / 100)]] = 1
            scores[key] = per_image.encode(right, 1)
    return {"dataset": dataset, "method": method, "seed": seed, "epochs": 12, "loss": None, **fields,
            "metrics": metrics, "per_image": scores}
