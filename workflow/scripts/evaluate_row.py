"""Rule `evaluate`: one row's checkpoints (every seed; raw pixels: none) → one metrics and spectrum JSON per seed,
in one job (stages.evaluate_many)."""

from jessl.config import EvaluateConfig
from jessl.stages import evaluate_many, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
wc = sm.wildcards
seeds = [int(s) for s in sm.params.seeds]
checkpoints = list(sm.input.get("checkpoints", [])) or [None] * len(seeds)
jobs = [{"seed": s, "checkpoint": ck, "out": out, "spectrum_out": spec}
        for s, ck, out, spec in zip(seeds, checkpoints, sm.output.metrics, sm.output.spectrum, strict=True)]
main(
    sm.log[0], evaluate_many, outputs=sm.output, jobs=jobs, dataset=wc.dataset, method=wc.method,
    train_beton=sm.input.train, test_beton=sm.input.test, cfg=EvaluateConfig(**sm.params.cfg), threads=sm.threads,
    expected_arch=sm.params.arch, **sm.params.info,
)
