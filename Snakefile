# jessl: dataset → .beton → checkpoint → metrics → table/figures. The one DAG; dvc.yaml delegates to it.
import os
import sys
from pathlib import Path

# This checkout's src/ comes first for the Snakefile and for the jobs' scripts (which inherit the
# environment), ahead of any installed jessl: a copy or second clone runs its own code.
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (SRC, os.getenv("PYTHONPATH")) if p))

from jessl.config import read_yaml, validate  # noqa: E402
from jessl.data.sizes import check as check_sizes  # noqa: E402
from jessl.profiles import check_current, check_same  # noqa: E402

PARAMS = read_yaml("params.yaml")  # strict parse first: a duplicate key or YAML error is one line, not a silent last-wins
configfile: "params.yaml"

# `--configfile config/X.yaml` / `--config k=v` would deep-merge into params.yaml, unseen by DVC: refused
# (`jessl profile X` writes params.yaml instead).
check_same(config, PARAMS, "params.yaml")
# written by `jessl profile NAME`: its layers must not have changed since (the user would believe the run changed)
check_current(Path("params.yaml").read_text(), PARAMS)
P = validate(config, "params.yaml")  # every key checked once, before any job starts
check_sizes(P)  # batches and label fractions against the datasets' sizes: before a job removes good outputs
DATASETS = list(P.datasets)  # converted
PRETRAINED = P.pretrain_datasets  # methods pretrained on these (roles main, source)
TABLE = P.table_datasets  # table1: pretrained on and probed on themselves (role main)
TRAINED = ["random_init", *P.methods] if "random_init" in P.baselines else list(P.methods)
KEEP = P.pretrain.keep_epochs  # % of the epochs at which checkpoints are kept (convergence)


wildcard_constraints:
    dataset="|".join(DATASETS),
    source="|".join(PRETRAINED),
    target="|".join(DATASETS),
    method="|".join(P.runs),
    seed=r"\d+",
    pct=r"\d+",


include: "workflow/rules/common.smk"
include: "workflow/rules/convert.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/transfer.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/claims_theory.smk"
include: "workflow/rules/claims.smk"  # its own target `claims`; not part of `all`


rule all:
    """Everything: table1 and its figures, transfer, spectrum, convergence, and their figures."""
    default_target: True
    input:
        rules.report_all.input,
        rules.analysis_all.input,
