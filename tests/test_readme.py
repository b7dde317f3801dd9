"""The numbers the README and docs/ show are the pipeline's: each embedded output is byte-identical to the
file whose md5 dvc.lock pins, and each figure is the pinned file (so the text cannot drift from a real run)."""

import hashlib
import re

import pytest
import yaml

from conftest import ROOT

BLOCK = re.compile(r"<!-- output: (\S+) -->\n(.*?)<!-- /output -->", re.S)
FIGURE = re.compile(r"\]\(((?:\.\./)*(?:docs/)?figures/[\w.-]+\.png)\)")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def pinned_md5s() -> dict[str, str]:
    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())
    return {o["path"]: o["md5"] for st in lock["stages"].values() for o in st.get("outs", []) if "md5" in o}


def blocks(page) -> list[tuple[str, str]]:
    return BLOCK.findall(page.read_text())


def test_the_pages_embed_table1_and_table2():
    assert {p for p, _ in blocks(ROOT / "README.md")} >= {"results/table1.md"}
    assert {p for p, _ in blocks(ROOT / "docs" / "results.md")} >= {"results/table2_transfer.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_embedded_tables_are_the_outputs_dvc_lock_pins(page):
    pinned = pinned_md5s()
    for path, text in blocks(page):
        assert path in pinned, f"{page.name} embeds {path}, which dvc.lock does not pin"
        assert hashlib.md5(text.encode()).hexdigest() == pinned[path], (
            f"{page.name}'s copy of {path} is not the output dvc.lock pins: rebuild, `dvc commit`, and paste the file")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shown_figures_are_the_outputs_dvc_lock_pins(page):
    pinned = pinned_md5s()
    for rel in FIGURE.findall(page.read_text()):
        shown = (page.parent / rel).resolve()
        output = "results/figures/" + shown.name
        assert hashlib.md5(shown.read_bytes()).hexdigest() == pinned[output], (
            f"{rel} in {page.name} is not the {output} that dvc.lock pins: copy the rebuilt figure")


def test_results_page_shows_the_convergence_figure():
    assert "figures/convergence.png" in FIGURE.findall((ROOT / "docs" / "results.md").read_text())


def test_the_check_catches_an_edited_number():
    path, block = blocks(ROOT / "README.md")[0]
    edited = re.sub(r"\d\d\.\d\d", "99.99", block, count=1)
    assert edited != block and hashlib.md5(edited.encode()).hexdigest() != pinned_md5s()[path]


def test_the_readme_shows_the_commands_and_stays_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    for command in ("snakemake --cores all results/table1.csv", "make table", "make test", "dvc repro",
                    "jessl audit"):
        assert any(line.strip().startswith(command) or f"`{command}" in line for line in lines), command
    assert "snakemake --cores all results/table1.csv" in lines
    assert len(lines) <= 260, f"README.md has {len(lines)} lines: move details to docs/"
