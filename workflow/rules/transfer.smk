TRANSFERS = [
    f"results/transfer/{s}_to_{t}/{m}/seed{seed}/metrics.json"
    for s, t in P.transfer_pairs
    for m in P.runs
    for seed in P.seeds
]


rule transfer:
    """Backbone pretrained on {source}, frozen → probes fitted on {target}'s train split, scored on its test split;
    every seed of a row in one job."""
    input:
        unpack(transfer_inputs),
    output:
        metrics=expand("results/transfer/{{source}}_to_{{target}}/{{method}}/seed{seed}/metrics.json", seed=P.seeds),
    params:
        cfg=P.evaluate.model_dump(),
        arch=lambda wc: P.backbone(wc.method),
        info=lambda wc: {**run_info(wc.method), "tags": {"source": wc.source}},
        seeds=P.seeds,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/transfer/{source}_to_{target}/{method}.log",
    benchmark:
        "logs/benchmarks/transfer/{source}_to_{target}/{method}.tsv",
    threads: 1
    script:
        "../scripts/evaluate.py"


rule transfer_all:
    input:
        TRANSFERS,
