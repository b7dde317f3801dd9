"""Rule `manifest`: image folder → data/{dataset}/manifest.json (its files with sha256, label, split)."""

from jessl.config import DatasetConfig
from jessl.stages import main, manifest

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(sm.log[0], manifest, outputs=sm.output, dataset=sm.wildcards.dataset, cfg=DatasetConfig(**sm.params.cfg),
     out=sm.output[0])
