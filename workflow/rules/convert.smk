FOLDERS = [d for d, c in P.datasets.items() if c.source == "folder"]  # converted from their manifest
UNLABELED = [d for d, c in P.datasets.items() if c.unlabeled]  # pretrained on train + unlabeled (STL-10)


rule manifest:
    """Image folder → manifest.json: its files (sorted relative paths) with sha256, label, split."""
    output:
        "data/{dataset}/manifest.json",
    wildcard_constraints:
        dataset=one_of(FOLDERS),
    params:
        cfg=lambda wc: P.datasets[wc.dataset].manifest_params(),
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/manifest/{dataset}.log",
    benchmark:
        "logs/benchmarks/manifest/{dataset}.tsv",
    threads: 1
    script:
        "../scripts/manifest.py"


rule convert:
    """Raw dataset → FFCV train/test .beton (one writer worker: byte-identical reruns); image folders from
    their manifest, as JPEGs."""
    input:
        unpack(convert_inputs),
    output:
        train="data/{dataset}/train.beton",
        test="data/{dataset}/test.beton",
    params:
        cfg=lambda wc: P.datasets[wc.dataset].data_params(),
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/convert/{dataset}.log",
    benchmark:
        "logs/benchmarks/convert/{dataset}.tsv",
    threads: 1
    script:
        "../scripts/convert.py"


rule convert_pretrain:
    """STL-10 with `unlabeled: true` → pretrain.beton (train + unlabeled images); read by pretraining only."""
    output:
        "data/{dataset}/pretrain.beton",
    wildcard_constraints:
        dataset=one_of(UNLABELED),
    params:
        cfg=lambda wc: P.datasets[wc.dataset].data_params(),
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/convert/{dataset}_pretrain.log",
    benchmark:
        "logs/benchmarks/convert/{dataset}_pretrain.tsv",
    threads: 1
    script:
        "../scripts/convert_pretrain.py"


rule convert_all:
    input:
        expand("data/{dataset}/{split}.beton", dataset=DATASETS, split=["train", "test"]),
        expand("data/{dataset}/pretrain.beton", dataset=[d for d in UNLABELED if d in PRETRAINED]),
