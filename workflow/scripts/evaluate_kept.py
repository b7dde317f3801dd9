"""Rule `evaluate_kept`: the checkpoints kept during one run → one metrics and spectrum JSON each."""

from jessl.config import EvaluateConfig
from jessl.stages import evaluate_kept, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
wc = sm.wildcards
main(
    sm.log[0], evaluate_kept, outputs=sm.output, checkpoints=list(sm.input.checkpoints), outs=list(sm.output.metrics),
    spectrum_outs=list(sm.output.spectrum), infos=list(sm.params.info), dataset=wc.dataset, method=wc.method,
    seed=int(wc.seed), train_beton=sm.input.train, test_beton=sm.input.test, cfg=EvaluateConfig(**sm.params.cfg),
    threads=sm.threads, expected_arch=sm.params.arch,
)
