"""Rule `convert`: raw dataset → data/{dataset}/{train,test}.beton."""

from jessl.config import DatasetConfig
from jessl.stages import convert, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(sm.log[0], convert, sm.wildcards.dataset, DatasetConfig(**sm.params.cfg), sm.output.train, sm.output.test)
