"""Snakemake itself killed (power loss, OOM, kill -9): what the rerun does, and the documented recovery.

Measured with Snakemake 9: the killed process leaves its lock in `.snakemake/locks/`, and a plain rerun
stops with `LockException` (it cannot tell a dead Snakemake from a live one); `snakemake --unlock` removes
the lock and the rerun completes. Two cases differ in what the job does:
- power loss (Snakemake and its job die): the job's output does not exist, the rerun simply runs the job;
- only Snakemake dies (OOM killer, kill -9): its job runs on, orphaned, and writes its output, which
  Snakemake had marked incomplete: the rerun reruns the job because the project's workflow profile sets
  `rerun-incomplete` (without it: `IncompleteFilesException`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, run, tool_env

# Two rules like the pipeline's levels; on the first run `a` waits (for the file `go`) so it can be killed
# in the middle.
SNAKEFILE = """\
rule all:
    input: "b.txt"

rule a:
    output: "a.txt"
    shell: "echo run >> runs.txt; touch a.started; "
           "if [ ${{JESSL_TEST_HOLD:-0}} = 1 ]; then while [ ! -e go ]; do sleep 0.1; done; fi; "
           "echo a > {output}"

rule b:
    input: "a.txt"
    output: "b.txt"
    shell: "cat {input} > {output}"
"""


def _project(tmp_path: Path) -> Path:
    """A two-rule project with this project's Snakemake profiles at the same places relative to the Snakefile."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "Snakefile").write_text(SNAKEFILE)
    for profiles in (Path("profiles"), Path("workflow") / "profiles"):
        if (ROOT / profiles).is_dir():
            shutil.copytree(ROOT / profiles, proj / profiles)
    return proj


def _gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait_gone(pgid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not _gone(pgid):
        assert time.monotonic() < deadline, "the killed run's job did not end"
        time.sleep(0.1)


def _kill_group(pgid: int) -> None:
    """Kill what is left of the killed run (its orphaned job), as a power loss would, and wait for it."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _wait_gone(pgid)


@pytest.mark.parametrize("case", ["power_loss", "orphan_job_finishes"])
def test_killed_snakemake_needs_unlock_then_rerun_completes(tmp_path, case):
    proj = _project(tmp_path)
    with (tmp_path / "killed.log").open("w") as log:
        proc = subprocess.Popen(["snakemake", "--cores", "1"], cwd=proj, stdout=log, stderr=subprocess.STDOUT,
                                env={**tool_env(), "JESSL_TEST_HOLD": "1"}, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not (proj / "a.started").exists():
            assert proc.poll() is None, (tmp_path / "killed.log").read_text()
            assert time.monotonic() < deadline, "job `a` never started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)  # Snakemake itself, not the job
        proc.wait(timeout=30)
        assert not _gone(proc.pid), "killing Snakemake also killed its job; the scenario did not happen"
        if case == "orphan_job_finishes":
            (proj / "go").touch()
            _wait_gone(proc.pid)
            assert (proj / "a.txt").read_text() == "a\n"  # written by the orphan, after Snakemake died
    finally:
        _kill_group(proc.pid)
    assert any((proj / ".snakemake" / "locks").iterdir()), "the killed Snakemake left no lock"
    assert not (proj / "b.txt").exists()

    # 1. A plain rerun refuses: the stale lock looks like a Snakemake still running on this folder.
    again = run(["snakemake", "--cores", "1"], proj, check=False)
    assert again.returncode != 0
    assert "LockException" in again.stderr and "--unlock" in again.stderr, again.stderr[-2000:]
    assert not (proj / "b.txt").exists()

    # 2. The documented recovery: --unlock, then rerun; the interrupted job reruns from scratch.
    run(["snakemake", "--unlock"], proj)
    assert not any((proj / ".snakemake" / "locks").glob("*"))
    if case == "orphan_job_finishes":  # the orphan's output is marked incomplete
        bare = run(["snakemake", "--cores", "1", "--workflow-profile", "none"], proj, check=False)
        assert bare.returncode != 0 and "IncompleteFilesException" in bare.stderr, bare.stderr[-2000:]
    done = run(["snakemake", "--cores", "1"], proj)  # the project's profile supplies rerun-incomplete
    assert "Using workflow specific profile" in done.stdout + done.stderr
    assert (proj / "b.txt").read_text() == "a\n"
    assert (proj / "runs.txt").read_text().splitlines() == ["run", "run"]  # `a` ran again after the kill
    assert not any((proj / ".snakemake" / "locks").glob("*"))
