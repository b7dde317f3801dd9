"""The numbers the README shows are the pipeline's: each embedded output is byte-identical to the file
whose md5 dvc.lock pins (so the README cannot drift from a real run)."""

import hashlib
import re

import yaml

from conftest import ROOT

BLOCK = re.compile(r"<!-- output: (\S+) -->\n(.*?)<!-- /output -->", re.S)


def pinned_md5s() -> dict[str, str]:
    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())
    return {o["path"]: o["md5"] for st in lock["stages"].values() for o in st.get("outs", []) if "md5" in o}


def test_readme_tables_are_the_outputs_dvc_lock_pins():
    blocks = BLOCK.findall((ROOT / "README.md").read_text())
    assert {p for p, _ in blocks} >= {"results/table1.md", "results/table2_transfer.md"}
    pinned = pinned_md5s()
    for path, text in blocks:
        assert path in pinned, f"README embeds {path}, which dvc.lock does not pin"
        assert hashlib.md5(text.encode()).hexdigest() == pinned[path], (
            f"README's copy of {path} is not the output dvc.lock pins: rebuild, `dvc commit`, and paste the file")


def test_readme_figures_are_the_outputs_dvc_lock_pins():
    shown = re.findall(r"\]\((docs/figures/[\w.-]+\.png)\)", (ROOT / "README.md").read_text())
    assert "docs/figures/convergence.png" in shown
    pinned = pinned_md5s()
    for rel in shown:
        output = "results/figures/" + rel.rsplit("/", 1)[1]
        assert hashlib.md5((ROOT / rel).read_bytes()).hexdigest() == pinned[output], (
            f"{rel} is not the {output} that dvc.lock pins: copy the rebuilt figure")


def test_the_check_catches_an_edited_number():
    text = (ROOT / "README.md").read_text()
    path, block = BLOCK.findall(text)[0]
    edited = re.sub(r"\d\d\.\d\d", "99.99", block, count=1)
    assert edited != block and hashlib.md5(edited.encode()).hexdigest() != pinned_md5s()[path]
