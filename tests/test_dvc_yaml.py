"""dvc.yaml parses (DVC's own schema) and names the stages the README and the e2e test rely on."""

import sys
from pathlib import Path

from conftest import ROOT, run


def test_dvc_yaml_is_valid_and_lists_every_stage():
    dvc = str(Path(sys.executable).parent / "dvc")
    out = run([dvc, "stage", "list"], ROOT)
    stages = {line.split()[0] for line in out.stdout.splitlines() if line.strip()}
    assert stages == {"convert", "pretrain", "evaluate", "transfer", "report", "analysis", "claims"}
