"""The official on-disk formats, on fixtures (no network). CIFAR-10 in-process: its batches converted to a
`.beton` by the convert stage's own function, audited, and trained with ResNet-18 through the probes (the
rules around it are the ones the shared pipeline runs end to end on digits). Through Snakemake: STL-10 with
its unlabeled split (pretraining reads it, the probes never do), and an image folder through its manifest
into a JPEG `.beton` and the audit.

One copy of the project per module; each part writes its own params.yaml into its copy.
"""

from __future__ import annotations

import re

import fixtures_formats as ff
import numpy as np
import pytest
import torch
import yaml

from conftest import SNAKEMAKE, copy_project, jessl_command, run
from jessl import provenance, stages
from jessl.checkpoint import load_backbone
from jessl.config import validate
from jessl.data import beton
from jessl.evaluate.run import evaluate
from jessl.pretrain import pretrain

jessl = jessl_command


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("formats") / "proj")


def set_params(proj, datasets, transfer=None):
    """The copy's params.yaml with only `datasets` (and `transfer`), one method, one seed, one tiny epoch of
    ResNet-18."""
    params = yaml.safe_load((proj / "params.yaml").read_text())
    params.update(datasets=datasets, transfer=transfer or {}, baselines=[],
                  methods={"simclr": params["methods"]["simclr"]}, seeds=[0],
                  claims=None)  # one seed; the claims name rows and datasets this copy drops
    params["model"]["backbone"] = "resnet18"
    params["pretrain"].update(epochs=1, batch_size=16, keep_epochs=[])
    params["evaluate"].update(few_shot_per_class=1, few_shot_repeats=1)
    (proj / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return validate(params)


def dry_run_jobs(proj, *targets):
    """{rule: [inputs of each of its jobs]} of a dry run (Snakemake's printed job blocks)."""
    out = run(SNAKEMAKE + ["-n", *targets], proj).stdout
    jobs: dict[str, list[list[str]]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if m:
            inp = re.search(r"^\s*input: (.*)$", block, re.M)
            jobs.setdefault(m.group(1), []).append(inp.group(1).split(", ") if inp else [])
    return jobs


def test_cifar10_format_converts_audits_and_trains_resnet18(tmp_path, monkeypatch):
    proj = copy_project(tmp_path / "proj")
    monkeypatch.chdir(proj)  # where a rule's job runs: paths in params and records are relative to the root
    wrote = ff.write_cifar10(proj / "raw", [13, 13, 13, 13, 12], 32)
    assert len(np.unique(wrote["train"][1])) == 10  # every class has a training sample (few-label probe)
    p = set_params(proj, {"cifar10": {"source": "cifar10", "root": "raw", "image_size": 32}})
    train, test = "data/cifar10/train.beton", "data/cifar10/test.beton"
    stages.convert(dataset="cifar10", cfg=p.datasets["cifar10"], train_out=train, test_out=test)
    x, y = beton.read_all(train)
    assert np.array_equal(x, wrote["train"][0]) and np.array_equal(y, wrote["train"][1])
    rec = provenance.read_record(test)
    assert sorted(rec["inputs"]) == ["raw/cifar-10-batches-py/batches.meta", "raw/cifar-10-batches-py/test_batch"]
    assert run(jessl(proj) + ["audit", test], proj).returncode == 0
    ckpt = proj / "checkpoints/cifar10/simclr/seed0/final.pt"
    summary = pretrain(train, ckpt, p.run_config("simclr"), seed=0, threads=2)
    assert summary["steps_per_epoch"] == 4 and np.isfinite(summary["loss_history"]).all()
    assert load_backbone(ckpt, "resnet18")(torch.zeros(2, 3, 32, 32)).shape == (2, 512)
    metrics, scores, _ = evaluate(train, test, ckpt, p.evaluate, expected_arch="resnet18")
    assert metrics["n_test"] == 32 and 0 <= metrics["linear_top1"] <= 100 and 0 <= metrics["knn_top1"] <= 100
    assert scores["n"] == 32  # the per-image scores the intervals are computed from


@pytest.fixture(scope="module")
def stl_and_folder(project):
    """STL-10 (with its unlabeled split) and an image folder, converted by one Snakemake run."""
    stl = ff.write_stl10(project / "raw_stl", 20, 10, 30)
    pets = ff.write_image_folder(project / "raw_pets")
    set_params(project, {
        "stl10": {"source": "stl10", "root": "raw_stl", "image_size": 32, "unlabeled": True},
        "pets": {"source": "folder", "root": "raw_pets", "image_size": 32, "max_resolution": 64, "role": "target"},
    }, transfer={"stl10": ["pets"]})  # a target must be paired (an unpaired one is refused)
    jobs = dry_run_jobs(project, "results/eval/stl10/simclr/seed0/metrics.json")
    run(SNAKEMAKE + ["data/stl10/pretrain.beton", "data/pets/train.beton", "data/pets/test.beton"], project)
    return stl, pets, jobs


@pytest.mark.e2e
def test_stl10_unlabeled_feeds_pretraining_only(project, stl_and_folder):
    wrote, _, jobs = stl_and_folder
    assert jobs["pretrain"] == [["data/stl10/pretrain.beton"]]
    probes = [i for rule in ("evaluate", "evaluate_kept", "transfer") for i in jobs.get(rule, [])]
    assert probes and all("pretrain.beton" not in f for inputs in probes for f in inputs)
    assert "data/stl10/train.beton" in probes[0] and "data/stl10/test.beton" in probes[0]
    x, y = beton.read_all(project / "data" / "stl10" / "pretrain.beton")  # real convert; pretraining dry-run
    assert len(x) == 50 and (y == -1).sum() == 30 and np.array_equal(y[:20], wrote["train"][1])
    inputs = provenance.read_record(project / "data" / "stl10" / "pretrain.beton")["inputs"]
    assert sorted(inputs) == [f"raw_stl/stl10_binary/{n}" for n in ("class_names.txt", "train_X.bin", "train_y.bin",
                                                                    "unlabeled_X.bin")]


@pytest.mark.e2e
def test_image_folder_through_manifest_jpeg_beton_and_audit(project, stl_and_folder):
    _, wrote, _ = stl_and_folder
    x, y = beton.read_all(project / "data" / "pets" / "test.beton")
    assert x.shape == (9, 32, 32, 3) and np.array_equal(y, wrote["val"][1])
    assert list(provenance.read_record(project / "data" / "pets" / "train.beton")["inputs"]) == [
        "data/pets/manifest.json"]
    assert run(jessl(project) + ["audit", "data/pets/test.beton"], project).returncode == 0
    victim = project / "raw_pets" / wrote["train"][0][0]
    victim.write_bytes(victim.read_bytes()[:-2] + b"\xff\xd9" + b"\x00")
    bad = run(jessl(project) + ["audit", "data/pets/test.beton"], project, check=False)
    assert bad.returncode != 0 and wrote["train"][0][0] in bad.stdout + bad.stderr
