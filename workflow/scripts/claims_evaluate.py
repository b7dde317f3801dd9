"""Rules `claims_evaluate_{claim}`: every evaluation one claim's tables read, in one job (stages.evaluate_many)."""

from jessl.config import EvaluateConfig
from jessl.stages import evaluate_many, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(sm.log[0], evaluate_many, outputs=sm.output, jobs=list(sm.params.jobs), cfg=EvaluateConfig(**sm.params.cfg),
     threads=sm.threads, expected_arch=sm.params.arch)
