"""Rule `evaluate`: frozen features → linear, few-label and k-NN top-1 and RankMe (one JSON)."""

from jessl.config import EvaluateConfig
from jessl.stages import evaluate, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(
    sm.log[0], evaluate, sm.wildcards.dataset, sm.wildcards.method, int(sm.wildcards.seed),
    sm.input.train, sm.input.test, sm.input.get("checkpoint"), EvaluateConfig(**sm.params.cfg), sm.output[0],
    sm.threads, expected_arch=sm.params.arch, **sm.params.info,
)
