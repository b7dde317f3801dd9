"""Start-up cost of a job is mostly imports: the jobs that need no torch (or no ffcv) must not import it."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def imported_after(code: str) -> set[str]:
    """Top-level packages imported by a fresh interpreter running `code` with this checkout's src/."""
    probe = f"{code}\nimport sys; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    return set(out.stdout.split())


def test_report_jobs_import_no_torch():
    # workflow/scripts/table.py and analysis.py: the stages module and the tables
    mods = imported_after("from jessl.stages import main, report, transfer_table; import jessl.report.tables")
    assert "jessl" in mods and "torch" not in mods and "ffcv" not in mods


def test_evaluation_jobs_import_no_ffcv():
    # workflow/scripts/evaluate.py's imports and the evaluation itself (reading .beton files with numpy)
    mods = imported_after("from jessl.config import EvaluateConfig\nfrom jessl.stages import evaluate, main\n"
                          "import jessl.evaluate.run, jessl.data.beton")
    assert "torch" in mods and "sklearn" in mods and "ffcv" not in mods and "numba" not in mods
