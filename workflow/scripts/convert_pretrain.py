"""Rule `convert_pretrain`: STL-10 with `unlabeled: true` → data/{dataset}/pretrain.beton (train + unlabeled)."""

from jessl.config import DatasetConfig
from jessl.stages import convert_pretrain, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(sm.log[0], convert_pretrain, outputs=sm.output, dataset=sm.wildcards.dataset,
     cfg=DatasetConfig(**sm.params.cfg), out=sm.output[0])
