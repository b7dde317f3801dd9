TRAINED_RUNS = [(d, m, s) for d in PRETRAINED for m in TRAINED for s in P.seeds]
CHECKPOINTS = [f"checkpoints/{d}/{m}/seed{s}/final.pt" for d, m, s in TRAINED_RUNS]
TABLE_RUNS = [(d, m, s) for d, m, s in TRAINED_RUNS if d in TABLE]  # table1's figures need only these


rule pretrain:
    """One method × dataset, every seed in one job (the imports and FFCV's compile paid once, not per seed).
    Each seed resumes from its resume.pt if a previous run was killed."""
    input:
        pretrain_beton,
    output:
        final=expand("checkpoints/{{dataset}}/{{method}}/seed{seed}/final.pt", seed=P.seeds),
        kept=expand("checkpoints/{{dataset}}/{{method}}/seed{seed}/keep/pct{pct}.pt", seed=P.seeds, pct=KEEP),
    wildcard_constraints:
        dataset="|".join(PRETRAINED),
        method="|".join(TRAINED),
    params:
        run=lambda wc: P.run_config(wc.method).to_params(),
        seeds=P.seeds,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/pretrain/{dataset}/{method}.log",
    benchmark:
        "logs/benchmarks/pretrain/{dataset}/{method}.tsv",
    threads: P.pretrain.threads
    resources:
        gpu=P.pretrain.gpus,
    script:
        "../scripts/pretrain.py"


rule pretrain_all:
    input:
        CHECKPOINTS,
