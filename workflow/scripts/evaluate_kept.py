"""Rule `evaluate_kept`: the checkpoints kept during one run → one metrics and spectrum JSON each, in one job."""

from jessl.config import EvaluateConfig
from jessl.stages import evaluate_many, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
wc = sm.wildcards
jobs = [{"checkpoint": ck, "out": out, "spectrum_out": spec, **info}
        for ck, out, spec, info in zip(sm.input.checkpoints, sm.output.metrics, sm.output.spectrum, sm.params.info,
                                       strict=True)]
main(
    sm.log[0], evaluate_many, outputs=sm.output, jobs=jobs, dataset=wc.dataset, method=wc.method, seed=int(wc.seed),
    train_beton=sm.input.train, test_beton=sm.input.test, cfg=EvaluateConfig(**sm.params.cfg), threads=sm.threads,
    expected_arch=sm.params.arch,
)
