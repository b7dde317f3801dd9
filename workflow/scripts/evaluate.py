"""Rules `evaluate`, `evaluate_kept`, `transfer`: one row's frozen backbones (every seed; `evaluate_kept`: every
kept checkpoint of every seed; raw pixels: none) → linear, few-label and k-NN top-1 with per-image scores, RankMe
(one JSON each) and the spectrum where the rule asks for it, in one job (stages.evaluate_many)."""

from jessl.config import EvaluateConfig
from jessl.stages import evaluate_many, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
wc = sm.wildcards
seeds = [int(s) for s in sm.params.seeds]
infos = list(sm.params.info) if sm.rule == "evaluate_kept" else [sm.params.info]
points = [(s, info) for s in seeds for info in infos]  # seed-major, as the rules' expand(seed=..., pct=...)
checkpoints = list(sm.input.get("checkpoints", [])) or [None] * len(points)
spectra = list(sm.output.get("spectrum", [])) or [None] * len(points)
jobs = [{"seed": s, "checkpoint": ck, "out": out, "spectrum_out": spec, **info}
        for (s, info), ck, out, spec in zip(points, checkpoints, sm.output.metrics, spectra, strict=True)]
main(
    sm.log[0], evaluate_many, outputs=sm.output, jobs=jobs, dataset=wc.get("target", wc.get("dataset")),
    method=wc.method, train_beton=sm.input.train, test_beton=sm.input.test, cfg=EvaluateConfig(**sm.params.cfg),
    threads=sm.threads, expected_arch=sm.params.arch,
)
