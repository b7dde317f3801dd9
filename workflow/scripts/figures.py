"""Rule `figures`: accuracy bars and pretraining loss curves under results/figures/."""

from jessl.stages import figures, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(sm.log[0], figures, list(sm.input.metrics), list(sm.input.checkpoints), list(sm.params.order),
     sm.output.accuracy, sm.output.loss)
