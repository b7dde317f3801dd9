"""Rule `figures`: accuracy bars and pretraining loss curves under results/figures/."""

from jessl.stages import figures, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(sm.log[0], figures, outputs=sm.output, metrics_files=list(sm.input.metrics),
     checkpoints=list(sm.input.checkpoints), datasets=list(sm.params.datasets), order=list(sm.params.order),
     accuracy_png=sm.output.accuracy, loss_png=sm.output.loss)
