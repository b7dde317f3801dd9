import json

from jessl import provenance
from jessl.io import atomic_path, write_json


def chain(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "raw.bin").write_bytes(b"raw data")
    (tmp_path / "mid.bin").write_bytes(b"intermediate")
    provenance.write_record("mid.bin", stage="convert", inputs=["raw.bin"], params={"a": 1})
    write_json("out.json", {"metrics": {"acc": 99.0}})
    provenance.write_record("out.json", stage="evaluate", inputs=["mid.bin"], metrics={"acc": 99.0}, seed=3)


def test_record_holds_pedigree(tmp_path, monkeypatch):
    chain(tmp_path, monkeypatch)
    rec = provenance.read_record("out.json")
    assert rec["sha256"] == provenance.sha256("out.json")
    assert rec["inputs"] == {"mid.bin": provenance.sha256("mid.bin")}
    assert rec["seed"] == 3 and rec["environment"]["packages"]["torch"]
    assert set(rec["code"]) == {"commit", "dirty"}
    assert provenance.audit("out.json").ok


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
    assert provenance.audit("out.json").inputs[0].problems == ["missing"]


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
