"""Rules `pretrain`, `claims_pretrain`, `claims_pretrain_kept`: one run → its final checkpoint (+ kept)."""

from jessl.config import PretrainConfig, RunConfig
from jessl.stages import main, pretrain

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
# compile / channels_last are resources like threads: read from the config, not `params:` (a change must not
# rerun the job)
res = PretrainConfig.model_validate(sm.config.get("pretrain") or {})
main(sm.log[0], pretrain, outputs=sm.output, run=RunConfig.model_validate(sm.params.run), train_beton=sm.input[0],
     out=sm.output.final, kept=list(sm.output.get("kept", [])),
     seed=int(sm.wildcards.seed), threads=sm.threads, compile=res.compile, channels_last=res.channels_last)
