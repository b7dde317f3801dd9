"""Rule `convert`: raw dataset (an image folder: its manifest) → data/{dataset}/{train,test}.beton."""

from jessl.config import DatasetConfig
from jessl.stages import convert, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(sm.log[0], convert, outputs=sm.output, dataset=sm.wildcards.dataset, cfg=DatasetConfig(**sm.params.cfg),
     train_out=sm.output.train, test_out=sm.output.test, manifest=sm.input.get("manifest"))
