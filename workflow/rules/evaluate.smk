EVALUATIONS = expand(
    "results/eval/{dataset}/{method}/seed{seed}/metrics.json", dataset=DATASETS, method=P.runs, seed=P.seeds
)


rule evaluate:
    """Frozen backbone (or raw pixels) → linear, few-label, k-NN top-1 and RankMe."""
    input:
        unpack(evaluate_inputs),
    output:
        "results/eval/{dataset}/{method}/seed{seed}/metrics.json",
    params:
        cfg=P.evaluate.model_dump(),
        arch=P.model.backbone,
        info=lambda wc: run_info(wc.method),
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/evaluate/{dataset}/{method}/seed{seed}.log",
    threads: 1
    script:
        "../scripts/evaluate.py"


rule evaluate_all:
    input:
        EVALUATIONS,
