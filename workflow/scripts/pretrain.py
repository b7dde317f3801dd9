"""Rule `pretrain`: one method × dataset × seed → checkpoints/{dataset}/{method}/seed{seed}/final.pt."""

from jessl.stages import main, pretrain

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(sm.log[0], pretrain, dict(sm.params.run), sm.input[0], sm.output[0], int(sm.wildcards.seed), sm.threads)
