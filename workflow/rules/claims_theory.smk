# Claims 1 and 4 of issue 12 (the theory claims): closed-form spectral embeddings (Balestriero & LeCun 2022)
# and InfoNCE vs SSL-HSIC along a training run (Li et al. 2021). Sizes: claims_theory_common.smk.


include: "claims_theory_common.smk"


rule spectral:
    """Claim 1: linear encoders by gradient descent vs the closed forms; closed-form embeddings of digit pixels."""
    output:
        csv=report("results/spectral.csv", caption="../report/spectral.rst", category="claims"),
        figure=report("results/figures/spectral.png", caption="../report/spectral.rst", category="claims"),
        fragment="results/claims/spectral.md",
        verdict="results/claims/spectral.verdict.json",
    params:
        dataset=CLAIM_DATASET,
        cfg=P.datasets[CLAIM_DATASET].data_params(),
        augment=P.augment.model_dump(),
        linear=SPECTRAL_LINEAR,
        real=SPECTRAL_REAL,
        trained=SPECTRAL_TRAINED,
        sweep=SPECTRAL_SWEEP,
        seeds=THEORY_SEEDS,
        margin=THEORY_CFG.margins.spectral,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/claims/spectral.log",
    benchmark:
        "logs/benchmarks/claims/spectral.tsv",
    threads: 1
    script:
        "../scripts/claims_theory.py"


rule hsic_pretrain:
    """Claim 4's runs: SSL-HSIC with and without a target, HSIC_EPOCHS epochs, a checkpoint every epoch."""
    input:
        f"data/{CLAIM_DATASET}/train.beton",
    output:
        final=f"{HSIC_DIR}/final.pt",
        kept=expand(f"{HSIC_DIR}/keep/pct{{pct}}.pt", pct=HSIC_KEEP, allow_missing=True),
    wildcard_constraints:
        method="|".join(HSIC_METHODS) or "$^",
    params:
        run=lambda wc: hsic_run(wc.method),
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/claims/hsic_pretrain/{method}/seed{seed}.log",
    benchmark:
        "logs/benchmarks/claims/hsic_pretrain/{method}/seed{seed}.tsv",
    threads: 1
    script:
        "../scripts/pretrain.py"


rule hsic_infonce:
    """Claim 4: InfoNCE and the SSL-HSIC objective of every kept checkpoint on the same fixed batches."""
    input:
        lambda wc: [p for s in THEORY_SEEDS for ps in hsic_checkpoints(s).values() for p in ps],
    output:
        csv=report("results/hsic_infonce.csv", caption="../report/hsic_infonce.rst", category="claims"),
        figure=report("results/figures/hsic_infonce.png", caption="../report/hsic_infonce.rst", category="claims"),
        fragment="results/claims/hsic_infonce.md",
        verdict="results/claims/hsic_infonce.verdict.json",
    params:
        dataset=CLAIM_DATASET,
        cfg=P.datasets[CLAIM_DATASET].data_params(),
        augment=P.augment.model_dump(),
        checkpoints={m: {str(s): hsic_checkpoints(s)[m] for s in THEORY_SEEDS} for m in HSIC_METHODS},
        batches=HSIC_BATCHES,
        objective=HSIC_OBJECTIVE,
        seed=THEORY_SEEDS[0],
        margin=THEORY_CFG.margins.hsic_infonce,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/claims/hsic_infonce.log",
    benchmark:
        "logs/benchmarks/claims/hsic_infonce.tsv",
    threads: 1
    script:
        "../scripts/claims_theory.py"


rule claims_theory:
    """Claims 1 and 4: results/spectral.csv, results/hsic_infonce.csv, their figures and claims.md sections."""
    input:
        rules.spectral.output,
        rules.hsic_infonce.output if HSIC_METHODS else [],
