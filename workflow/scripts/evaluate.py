"""Rule `evaluate`: frozen features → linear, few-label and k-NN top-1 and RankMe (one JSON)."""

from jessl.config import EvaluateConfig
from jessl.stages import evaluate, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(
    sm.log[0], evaluate, outputs=sm.output, dataset=sm.wildcards.dataset, method=sm.wildcards.method,
    seed=int(sm.wildcards.seed), train_beton=sm.input.train, test_beton=sm.input.test,
    checkpoint=sm.input.get("checkpoint"), cfg=EvaluateConfig(**sm.params.cfg), out=sm.output[0],
    threads=sm.threads, expected_arch=sm.params.arch, **sm.params.info,
)
