"""Rule `pretrain`: one method × dataset × seed → checkpoints/{dataset}/{method}/seed{seed}/final.pt (+ kept)."""

from jessl.config import RunConfig
from jessl.stages import main, pretrain

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(sm.log[0], pretrain, outputs=sm.output, run=RunConfig.model_validate(sm.params.run), train_beton=sm.input[0],
     out=sm.output.final, kept=list(sm.output.kept), keep=list(sm.params.keep), seed=int(sm.wildcards.seed),
     threads=sm.threads)
