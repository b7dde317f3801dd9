"""Rules `spectral` and `hsic_infonce` (claims 1 and 4): closed forms and a training run → CSV and figure."""

from jessl.config import DatasetConfig
from jessl.stages import hsic_infonce, main, spectral_claim

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
common = {"outputs": sm.output, "dataset": sm.params.dataset, "cfg": DatasetConfig.model_validate(sm.params.cfg),
          "augment": dict(sm.params.augment), "threads": sm.threads, "margin": float(sm.params.margin),
          "table_csv": sm.output.csv, "figure": sm.output.figure, "fragment": sm.output.fragment,
          "verdict_out": sm.output.verdict}
if sm.rule == "spectral":
    main(sm.log[0], spectral_claim, linear=dict(sm.params.linear), real=dict(sm.params.real),
         trained=dict(sm.params.trained), sweep=dict(sm.params.sweep), seeds=list(sm.params.seeds), **common)
else:
    main(sm.log[0], hsic_infonce, checkpoints={k: {s: list(p) for s, p in v.items()}
                                               for k, v in sm.params.checkpoints.items()},
         batches=dict(sm.params.batches), objective=dict(sm.params.objective), seed=int(sm.params.seed), **common)
