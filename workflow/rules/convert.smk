rule convert:
    """Raw dataset → FFCV train/test .beton (one writer worker: byte-identical reruns)."""
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


rule convert_all:
    input:
        expand("data/{dataset}/{split}.beton", dataset=DATASETS, split=["train", "test"]),
