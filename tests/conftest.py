"""Shared fixtures: tiny datasets written the way the pipeline writes them, project copies, and the reduced
embedded pipeline that the end-to-end tests share (built once per test session)."""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml

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


_pristine: list[Path] = []  # this process's one committed copy of the working tree


def copy_project(dest: Path) -> Path:
    """A clean copy of the working tree (no outputs, no caches), committed in a fresh git repo.

    The tree is copied and committed once per test process; each call copies that repository (its `.git`
    included), so a test may change its copy freely."""
    if not _pristine:
        base = Path(tempfile.mkdtemp(prefix="jessl-pristine-"))
        atexit.register(shutil.rmtree, base, ignore_errors=True)
        shutil.copytree(ROOT, base / "proj", ignore=_ignore, symlinks=True)
        run(["git", "init", "-q", "-b", "main"], base / "proj")
        run(["git", "add", "-A"], base / "proj")
        run(["git", "commit", "-q", "-m", "copy"], base / "proj")
        _pristine.append(base / "proj")
    shutil.copytree(_pristine[0], dest, symlinks=True)
    run(["git", "update-index", "-q", "--refresh"], dest, check=False)  # new file times, same contents
    return dest


def jessl_command(proj: Path) -> list[str]:
    """The `jessl` command of a project copy's own code (an installed jessl may be another checkout's)."""
    src = str(proj / "src")
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {src!r}); from jessl.cli import main; "
            "sys.exit(main())"]


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


# --- the reduced embedded pipeline, shared by the end-to-end tests -----------------------------------------------
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--cores", "2"]
PIPELINE_EPOCHS = 4


def _build_reduced_pipeline(proj: Path) -> None:
    proj.parent.mkdir(parents=True, exist_ok=True)
    copy_project(proj)
    params = yaml.safe_load((proj / "params.yaml").read_text())
    params["methods"] = {"simclr": params["methods"]["simclr"], "vicreg": params["methods"]["vicreg"]}
    params["seeds"] = [0, 1]  # two seeds: one job trains / probes both (seed-major outputs), intervals over seeds
    params["pretrain"]["epochs"] = PIPELINE_EPOCHS
    params["pretrain"]["keep_epochs"] = [25, 50]
    params["evaluate"]["few_shot_repeats"] = 2
    params["datasets"] = {k: params["datasets"][k] for k in ("digits", "mnist5k")}  # one transfer pair: faster
    params["transfer"] = {"digits": ["mnist5k"]}
    params["claims"] = None  # its sweeps name rows this reduced copy drops
    (proj / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "commit", "-qam", "fast params"], proj)
    out = run(SNAKEMAKE, proj)
    assert "steps (100%) done" in out.stderr


@pytest.fixture(scope="session")
def reduced_pipeline(tmp_path_factory) -> Path:
    """The embedded pipeline built by Snakemake in a project copy: simclr and vicreg, PIPELINE_EPOCHS epochs,
    kept checkpoints at 25 and 50 %, two few-label draws, digits → mnist5k transfer, no claims.

    Built once per test run: under `pytest -n` the first worker that asks builds it (the others wait on a
    file lock). Read it, never change it: Snakemake and DVC write into a project even for a dry run or a
    status, so a test that runs them, or changes anything, works on `copy_pipeline` (`pipeline_copy`)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's, not the worker's
    proj, done, failed = (shared / "reduced-pipeline" / "proj", shared / "reduced-pipeline.done",
                          shared / "reduced-pipeline.failed")
    with open(shared / "reduced-pipeline.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if failed.exists():
            pytest.fail(f"building the reduced pipeline failed (in another worker):\n{failed.read_text()}")
        if not done.exists():
            try:
                _build_reduced_pipeline(proj)
            except BaseException as e:
                failed.write_text(str(e)[-5000:])
                raise
            done.touch()
    return proj


def copy_pipeline(built: Path, dest: Path) -> Path:
    """A private copy of a built project that Snakemake sees as up to date (file times kept)."""
    shutil.copytree(built, dest, symlinks=True)
    run(["git", "update-index", "-q", "--refresh"], dest, check=False)
    return dest


@pytest.fixture
def pipeline_copy(reduced_pipeline, tmp_path) -> Path:
    """A test's own copy of the built reduced pipeline, to run tools on or change."""
    return copy_pipeline(reduced_pipeline, tmp_path / "proj")


def pytest_collection_modifyitems(config, items):
    """A test that uses the reduced pipeline is `e2e`. End-to-end tests run first, those of the pipeline
    first of all (stable order otherwise): under `pytest -n --dist loadscope` a module stays on one worker,
    so the long pipeline module starts at once on one worker while the others take the rest."""
    for item in items:
        if "reduced_pipeline" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: ("reduced_pipeline" not in getattr(item, "fixturenames", ()),
                                 item.get_closest_marker("e2e") is None))
