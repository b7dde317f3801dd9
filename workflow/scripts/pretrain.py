"""Rules `pretrain` (every seed of one run, in one job), `claims_pretrain`, `claims_pretrain_kept` (one seed):
the final checkpoint of each seed (+ kept)."""

from jessl.config import PretrainConfig, RunConfig
from jessl.stages import main, pretrain_seeds

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
# compile / channels_last / gpus are resources like threads: read from the config, not `params:` (a change must not
# rerun the job)
res = PretrainConfig.model_validate(sm.config.get("pretrain") or {})
seeds = [int(sm.wildcards.seed)] if "seed" in sm.wildcards.keys() else [int(s) for s in sm.params.seeds]
finals = sm.output.final if isinstance(sm.output.final, list) else [sm.output.final]
main(sm.log[0], pretrain_seeds, outputs=sm.output, run=RunConfig.model_validate(sm.params.run), train_beton=sm.input[0],
     seeds=seeds, outs=list(finals), kept=list(sm.output.get("kept", [])),
     threads=sm.threads, compile=res.compile, channels_last=res.channels_last, gpus=res.gpus,
     job_log=sm.log[0])
