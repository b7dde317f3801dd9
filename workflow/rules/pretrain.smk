CHECKPOINTS = expand(
    "checkpoints/{dataset}/{method}/seed{seed}/final.pt", dataset=DATASETS, method=TRAINED, seed=P.seeds
)


rule pretrain:
    """One method × dataset × seed. Resumes from resume.pt if a previous run was killed."""
    input:
        "data/{dataset}/train.beton",
    output:
        "checkpoints/{dataset}/{method}/seed{seed}/final.pt",
    wildcard_constraints:
        method="|".join(TRAINED),
    params:
        run=lambda wc: P.run_config(wc.method),
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/pretrain/{dataset}/{method}/seed{seed}.log",
    threads: P.pretrain.threads
    resources:
        gpu=P.pretrain.gpus,
    script:
        "../scripts/pretrain.py"


rule pretrain_all:
    input:
        CHECKPOINTS,
