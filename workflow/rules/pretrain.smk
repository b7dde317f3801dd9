TRAINED_RUNS = [(d, m, s) for d in DATASETS for m in TRAINED for s in P.seeds]
CHECKPOINTS = [f"checkpoints/{d}/{m}/seed{s}/final.pt" for d, m, s in TRAINED_RUNS]


rule pretrain:
    """One method × dataset × seed. Resumes from resume.pt if a previous run was killed."""
    input:
        "data/{dataset}/train.beton",
    output:
        "checkpoints/{dataset}/{method}/seed{seed}/final.pt",
    wildcard_constraints:
        method="|".join(TRAINED),
    params:
        run=lambda wc: P.run_config(wc.method).to_params(),
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
