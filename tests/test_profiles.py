"""Every profile plans the expected jobs (`snakemake -n`), transfer and convergence included; no data needed."""

import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, copy_project, run

PROFILES = sorted((ROOT / "config").glob("*.yaml"))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("profiles") / "proj")


def planned_jobs(text: str) -> dict[str, int]:
    table = text[text.index("Job stats:"):]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


def expected_jobs(cfg: dict) -> dict[str, int]:
    """Counted from the YAML itself (not through jessl.config)."""
    datasets = cfg["datasets"]
    roles = {d: (c or {}).get("role", "main") for d, c in datasets.items()}
    main = [d for d, r in roles.items() if r == "main"]
    pretrained = [d for d, r in roles.items() if r != "target"]
    methods, seeds = list(cfg["methods"]), len(cfg.get("seeds", [0]))
    baselines = cfg.get("baselines", ["random_init", "raw_pixels"])
    runs = len(methods) + len(baselines)
    trained = len(methods) + ("random_init" in baselines)
    pairs = sum(len(t) for t in cfg.get("transfer", {}).values())
    keep = bool(cfg.get("pretrain", {}).get("keep_epochs"))
    folders = sum((c or {}).get("source") == "folder" for c in datasets.values())  # each has a manifest
    unlabeled = sum(bool((c or {}).get("unlabeled")) for d, c in datasets.items() if d in pretrained)
    jobs = {"convert": len(datasets), "manifest": folders, "convert_pretrain": unlabeled,
            "pretrain": len(pretrained) * trained * seeds,
            "evaluate": len(main) * runs * seeds, "transfer": pairs * runs * seeds,
            "evaluate_kept": len(main) * len(methods) * seeds if keep else 0,
            "table": 1, "figures": 1, "table_spectrum": 1, "table_transfer": 1, "convergence": 1, "all": 1}
    return {k: v for k, v in jobs.items() if v}


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_profile_plans_every_stage(profile: Path, project):
    shutil.copy(profile, project / "params.yaml")
    out = run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], project)
    cfg = yaml.safe_load(profile.read_text())
    assert planned_jobs(out.stdout + out.stderr) == expected_jobs(cfg)
    if cfg.get("transfer"):
        src, targets = next(iter(cfg["transfer"].items()))
        assert f"results/transfer/{src}_to_{targets[0]}/simclr/seed0/metrics.json" in out.stdout
