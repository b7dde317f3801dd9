import json

from jessl import provenance
from jessl.io import atomic_path, write_json


def chain(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "raw.bin").write_bytes(b"raw data")
    (tmp_path / "mid.bin").write_bytes(b"intermediate")
    provenance.write_record("mid.bin", stage="convert", inputs=[], raw_inputs=["raw.bin"], params={"a": 1},
                            wall_time_s=1.5)
    write_json("out.json", {"metrics": {"acc": 99.0}})
    provenance.write_record("out.json", stage="evaluate", inputs=["mid.bin"], metrics={"acc": 99.0}, seed=3)


def test_record_holds_pedigree(tmp_path, monkeypatch):
    chain(tmp_path, monkeypatch)
    rec = provenance.read_record("out.json")
    assert rec["sha256"] == provenance.sha256("out.json")
    assert rec["inputs"] == {"mid.bin": {"sha256": provenance.sha256("mid.bin"), "raw": False}}
    assert provenance.read_record("mid.bin")["inputs"] == {"raw.bin": {"sha256": provenance.sha256("raw.bin"),
                                                                       "raw": True}}
    assert rec["seed"] == 3 and rec["environment"]["packages"]["torch"]
    assert set(rec["code"]) == {"src", "workflow", "Snakefile", "dirty"}
    assert provenance.audit("out.json").ok


def test_record_is_split_into_a_deterministic_half_and_an_untracked_side_record(tmp_path, monkeypatch):
    records = {}
    for where, wall in (("a", 1.0), ("deeper/b", 2.0)):  # two locations, two wall times, two throughputs
        proj = tmp_path / where
        proj.mkdir(parents=True)
        monkeypatch.chdir(proj)
        (proj / "dvc.yaml").write_text("stages: {}\n")
        (proj / "data").mkdir()
        (proj / "data" / "in.bin").write_bytes(b"input")
        (proj / "ck.pt").write_bytes(b"weights")
        provenance.write_record("ck.pt", stage="pretrain", inputs=[proj / "data" / "in.bin"], seed=0,
                                wall_time_s=wall, metrics={"final_loss": 0.5, "images_per_s": 100 * wall},
                                env=provenance.environment("cpu", threads=int(wall)),
                                volatile={"images_per_s": 100 * wall, "resumed_from_epoch": None})
        records[where] = (proj / "ck.pt.run.json").read_bytes()
        rec = json.loads(records[where])
        assert rec["output"] == "ck.pt" and list(rec["inputs"]) == ["data/in.bin"]  # project-relative
        assert rec["metrics"] == {"final_loss": 0.5}
        assert not {"created", "wall_time_s", "commit"} & set(rec) and str(proj) not in records[where].decode()
        assert not {"platform", "threads"} & set(rec["environment"])
        side = json.loads((proj / "logs/records/ck.pt.json").read_text())
        assert side["wall_time_s"] == wall and side["images_per_s"] == 100 * wall and "resumed_from_epoch" in side
        assert side["environment"]["threads"] == int(wall) and side["environment"]["platform"]
        assert side["path"] == str((proj / "ck.pt").resolve()) and side["created"] and "commit" in side
    assert records["a"] == records["deeper/b"]


def test_outside_any_project_paths_are_relative_to_the_outputs_folder(tmp_path, monkeypatch):
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")  # the cwd is not where the outputs are: nothing is written here
    (tmp_path / "in.bin").write_bytes(b"in")
    (tmp_path / "out.bin").write_bytes(b"out")
    provenance.write_record(tmp_path / "out.bin", stage="s", inputs=[tmp_path / "in.bin"])
    assert list((tmp_path / "here").iterdir()) == []
    assert provenance.read_record(tmp_path / "out.bin")["inputs"] == {"in.bin": {
        "sha256": provenance.sha256(tmp_path / "in.bin"), "raw": False}}
    assert (tmp_path / "logs/records/out.bin.json").is_file()


def _git(cwd, *args):
    import subprocess

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x.invalid", "PATH": __import__("os").environ["PATH"]}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def test_code_identity_survives_commits_of_dvc_lock_but_not_code_changes(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text("x = 1\n")
    (tmp_path / "Snakefile").write_text("rule all:\n")
    (tmp_path / "dvc.lock").write_text("a\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "code")
    first = provenance.code_identity(tmp_path)
    assert first["src"] == _git(tmp_path, "rev-parse", "HEAD:src").strip() and first["dirty"] is False
    assert first["workflow"] is None and first["Snakefile"]
    (tmp_path / "dvc.lock").write_text("b\n")
    assert provenance.code_identity(tmp_path) == first  # outputs' hashes are not code
    _git(tmp_path, "commit", "-qam", "dvc.lock after the run")
    assert provenance.code_identity(tmp_path) == first  # a later commit, the same code
    (tmp_path / "src" / "new.py").write_text("y = 2\n")
    assert provenance.code_identity(tmp_path)["dirty"] is True  # an untracked module is code too
    (tmp_path / "src" / "new.py").unlink()
    (tmp_path / "src" / "m.py").write_text("x = 2\n")
    assert provenance.code_identity(tmp_path)["dirty"] is True
    _git(tmp_path, "commit", "-qam", "change")
    second = provenance.code_identity(tmp_path)
    assert second["src"] != first["src"] and second["dirty"] is False


def test_a_file_inside_an_installed_package_is_named_by_the_package(tmp_path, monkeypatch):
    from importlib import metadata
    from pathlib import Path

    import sklearn

    digits = Path(sklearn.__file__).parent / "datasets" / "data" / "digits.csv.gz"
    key = "pkg:scikit-learn/sklearn/datasets/data/digits.csv.gz"
    assert provenance.file_key(digits, tmp_path) == key
    assert provenance.locate(key, tmp_path).resolve() == digits.resolve()
    chain(tmp_path, monkeypatch)
    (tmp_path / "train.beton").write_bytes(b"beton")
    provenance.write_record("train.beton", stage="convert", inputs=[digits])  # raw: no flag needed
    entry = provenance.read_record("train.beton")["inputs"][key]
    assert entry == {"sha256": provenance.sha256(digits), "raw": True, "version": metadata.version("scikit-learn")}
    node = provenance.audit("train.beton")
    assert node.ok and node.inputs[0].path == key
    assert "raw input" in provenance.format_tree(node)

    rec = json.loads((tmp_path / "train.beton.run.json").read_text())
    rec["inputs"][key]["sha256"] = "0" * 64
    rec["inputs"][key]["version"] = "0.1"
    (tmp_path / "train.beton.run.json").write_text(json.dumps(rec))
    bad = provenance.audit("train.beton").inputs[0]
    assert "sha256 mismatch" in bad.problems[0] and "recorded version 0.1, installed" in bad.problems[0]

    def absent(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(provenance.metadata, "distribution", absent)
    gone = provenance.audit("train.beton").inputs[0]
    assert gone.problems == ["package scikit-learn is not installed here (recorded 0.1); install it to re-check "
                             "this raw input"]


def test_audit_names_each_broken_link(tmp_path, monkeypatch):
    chain(tmp_path, monkeypatch)
    (tmp_path / "raw.bin").write_bytes(b"raw dat4")
    node = provenance.audit("out.json")
    assert not node.ok
    bad = node.inputs[0].inputs[0]
    assert bad.path == "raw.bin" and "sha256 mismatch" in bad.problems[0]
    assert "[BAD] raw.bin" in provenance.format_tree(node)

    chain(tmp_path, monkeypatch)  # metrics edited by hand, record left alone
    data = json.loads((tmp_path / "out.json").read_text())
    data["metrics"]["acc"] = 100.0
    (tmp_path / "out.json").write_text(json.dumps(data))
    assert "content differs" in provenance.audit("out.json").problems[0]

    chain(tmp_path, monkeypatch)
    (tmp_path / "mid.bin").unlink()
    assert provenance.audit("out.json").inputs[0].problems == [
        "missing; restore it from the DVC cache (`dvc checkout`) or rebuild it: snakemake --cores 1 -f mid.bin"]


def test_a_deleted_record_is_a_broken_link_only_raw_inputs_may_lack_one(tmp_path, monkeypatch):
    chain(tmp_path, monkeypatch)
    (tmp_path / "mid.bin.run.json").unlink()
    node = provenance.audit("out.json")
    assert not node.ok
    assert node.inputs[0].problems == ["no run record (mid.bin.run.json): a broken link, only raw inputs may lack "
                                       "one; rebuild it: snakemake --cores 1 -f mid.bin"]
    ok, verdict = provenance.audit_summary([node])
    assert not ok and verdict.startswith("audit FAILED: 2 files re-hashed, 1 broken links, 0 stale")

    chain(tmp_path, monkeypatch)  # a record from before raw marks (bare sha256 per input) proves nothing either
    rec = json.loads((tmp_path / "mid.bin.run.json").read_text())
    rec["inputs"] = {"raw.bin": provenance.sha256("raw.bin")}
    (tmp_path / "mid.bin.run.json").write_text(json.dumps(rec))
    assert "no run record (raw.bin.run.json)" in provenance.audit("out.json").inputs[0].inputs[0].problems[0]


def test_a_truncated_record_is_one_line_naming_the_file_and_the_fix(tmp_path, monkeypatch):
    import pytest

    chain(tmp_path, monkeypatch)
    text = (tmp_path / "mid.bin.run.json").read_text()
    (tmp_path / "mid.bin.run.json").write_text(text[: len(text) // 2])
    with pytest.raises(provenance.RecordError, match=r"mid\.bin\.run\.json: run record is not valid JSON"):
        provenance.read_record("mid.bin")
    (problem,) = provenance.audit("out.json").inputs[0].problems
    assert "\n" not in problem and "mid.bin.run.json: run record is not valid JSON" in problem
    assert problem.endswith("rebuild it: snakemake --cores 1 -f mid.bin")


PARAMS = """datasets:
  digits: {source: digits}
baselines: []
methods:
  simclr: {}
  byol: {}
"""


def mini_project(tmp_path, monkeypatch, methods=("simclr", "vicreg")):
    """A project with a results table of `methods` (params.yaml configures simclr and byol)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "params.yaml").write_text(PARAMS)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "digits.bin").write_bytes(b"pixels")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.beton").write_bytes(b"beton")
    provenance.write_record("data/train.beton", stage="prepare", inputs=[], raw_inputs=["raw/digits.bin"])
    files, lines = [], ["dataset,method,seed,linear_top1"]
    for i, m in enumerate(methods):
        f = f"results/eval/digits/{m}/seed0/metrics.json"
        write_json(f, {"dataset": "digits", "method": m, "seed": 0, "metrics": {"linear_top1": 90.0 + i / 3}})
        provenance.write_record(f, stage="probe", inputs=["data/train.beton"], seed=0,
                                metrics={"linear_top1": 90.0 + i / 3})
        files.append(f)
        lines.append(f"digits,{m},0,{round(90.0 + i / 3, 2)}")
    (tmp_path / "results" / "table1.csv").write_text("\n".join(lines) + "\n")
    provenance.write_record("results/table1.csv", stage="report", inputs=files)


def test_cli_audit_resolves_paths_from_the_project_root(tmp_path, monkeypatch, capsys):
    from jessl.cli import main

    mini_project(tmp_path, monkeypatch, methods=("simclr", "byol"))
    assert main(["audit", "results/table1.csv"]) == 0
    monkeypatch.chdir(tmp_path / "results")
    assert main(["audit", "table1.csv"]) == 0
    out = capsys.readouterr().out
    assert "missing" not in out and "[ok ] raw/digits.bin" in out
    assert out.rstrip().splitlines()[-1] == "audit OK: 5 files re-hashed, 0 broken links, 0 stale"
    assert out.count("[ok ] data/train.beton  (shown above)") == 2  # the shared input: printed once per audit


def test_cli_audit_names_runs_missing_from_the_table_and_rows_not_configured(tmp_path, monkeypatch, capsys):
    from jessl.cli import main

    mini_project(tmp_path, monkeypatch)
    assert main(["audit", "results/table1.csv"]) == 1
    out = capsys.readouterr().out
    source = tmp_path / "params.yaml"
    assert f"!! lacks runs configured in {source}: digits/byol (stale; rerun snakemake)" in out
    assert f"!! has rows not configured in {source}: digits/vicreg (stale; rerun snakemake)" in out
    assert out.rstrip().splitlines()[-1].startswith("audit FAILED: 5 files re-hashed, 0 broken links, 1 stale")


def test_cli_audit_rejects_a_params_path_that_does_not_exist(tmp_path, monkeypatch, capsys):
    from jessl.cli import main

    mini_project(tmp_path, monkeypatch, methods=("simclr", "byol"))
    assert main(["audit", "--params", "parms.yaml", "results/table1.csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --params parms.yaml: no such file")


def test_cli_audit_answers_one_number(tmp_path, monkeypatch, capsys):
    from jessl.cli import main

    mini_project(tmp_path, monkeypatch, methods=("simclr", "byol"))
    assert main(["audit", "results/table1.csv", "--row", "byol", "--column", "linear_top1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("results/table1.csv byol linear_top1 = 90.33 (digits, seed 0)\n"
                          "    from results/eval/digits/byol/seed0/metrics.json: 90.333")
    assert "simclr" not in out and "results/eval/digits/byol/seed0/metrics.json" in out
    assert out.rstrip().splitlines()[-1] == "audit OK: 4 files re-hashed, 0 broken links, 0 stale"

    assert main(["audit", "results/table1.csv", "--row", "simcrl"]) == 2
    assert "no row for method 'simcrl'; its rows: simclr, byol" in capsys.readouterr().err
    table = tmp_path / "results" / "table1.csv"  # the table's number no longer matches its chain's records
    table.write_text(table.read_text().replace("90.33", "93.33"))
    provenance.write_record("results/table1.csv", stage="report",
                            inputs=sorted(str(p) for p in (tmp_path / "results/eval").rglob("metrics.json")))
    assert main(["audit", "results/table1.csv", "--row", "byol", "--column", "linear_top1"]) == 1
    assert "byol linear_top1 is 93.33 in the table but its metric records give 90.33" in capsys.readouterr().out


def test_disk_full_is_a_clear_error_and_leaves_the_old_file(tmp_path, monkeypatch):
    import errno
    import os

    import pytest

    from jessl.io import DiskFullError, save_torch

    target = tmp_path / "final.pt"
    target.write_bytes(b"previous checkpoint")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskFullError, match=r"final\.pt: disk full .* nothing was written\. Free space under"):
        save_torch(target, {"w": 1})
    assert target.read_bytes() == b"previous checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["final.pt"]


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise OSError("disk full")
    except OSError:
        pass
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
