"""Rules `evaluate`, `evaluate_kept`, `transfer`: frozen features → linear, few-label and k-NN top-1 and
RankMe (one JSON), and the spectrum of the features and projections where the rule asks for it."""

from jessl.config import EvaluateConfig
from jessl.stages import evaluate, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
wc = sm.wildcards
main(
    sm.log[0], evaluate, outputs=sm.output, dataset=wc.get("target", wc.get("dataset")), method=wc.method,
    seed=int(wc.seed), train_beton=sm.input.train, test_beton=sm.input.test, checkpoint=sm.input.get("checkpoint"),
    cfg=EvaluateConfig(**sm.params.cfg), out=sm.output.metrics, spectrum_out=sm.output.get("spectrum"),
    threads=sm.threads, expected_arch=sm.params.arch, **sm.params.info,
)
