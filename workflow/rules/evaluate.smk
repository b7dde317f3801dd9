EVALUATIONS = expand(
    "results/eval/{dataset}/{method}/seed{seed}/metrics.json", dataset=TABLE, method=P.runs, seed=P.seeds
)
SPECTRA = [e.replace("metrics.json", "spectrum.json") for e in EVALUATIONS]
KEPT_EVALUATIONS = expand(
    "results/convergence/{dataset}/{method}/seed{seed}/pct{pct}.json",
    dataset=TABLE, method=list(P.methods), seed=P.seeds, pct=KEEP,
)


rule evaluate:
    """Frozen backbone (or raw pixels) → linear, few-label, k-NN top-1 (with per-image scores), RankMe; spectrum of
    features/projections. Every seed of a row in one job (the imports once)."""
    input:
        unpack(evaluate_inputs),
    output:
        metrics=expand("results/eval/{{dataset}}/{{method}}/seed{seed}/metrics.json", seed=P.seeds),
        spectrum=expand("results/eval/{{dataset}}/{{method}}/seed{seed}/spectrum.json", seed=P.seeds),
    wildcard_constraints:
        dataset="|".join(TABLE),
    params:
        cfg=P.evaluate.model_dump(),
        arch=lambda wc: P.backbone(wc.method),
        info=lambda wc: run_info(wc.method),
        seeds=P.seeds,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/evaluate/{dataset}/{method}.log",
    benchmark:
        "logs/benchmarks/evaluate/{dataset}/{method}.tsv",
    threads: 1
    script:
        "../scripts/evaluate.py"


rule evaluate_kept:
    """The checkpoints kept during one row's runs (every seed) → the same probes each (accuracy vs epoch:
    convergence), in one job."""
    input:
        train="data/{dataset}/train.beton",
        test="data/{dataset}/test.beton",
        checkpoints=expand("checkpoints/{{dataset}}/{{method}}/seed{seed}/keep/pct{pct}.pt", seed=P.seeds, pct=KEEP),
    output:
        metrics=expand("results/convergence/{{dataset}}/{{method}}/seed{seed}/pct{pct}.json", seed=P.seeds, pct=KEEP),
        spectrum=expand("results/convergence/{{dataset}}/{{method}}/seed{seed}/pct{pct}.spectrum.json", seed=P.seeds,
                        pct=KEEP),
    wildcard_constraints:
        dataset="|".join(TABLE),
    params:
        cfg=P.evaluate.model_dump(),
        arch=lambda wc: P.backbone(wc.method),
        info=lambda wc: [kept_info(wc.method, pct) for pct in KEEP],
        seeds=P.seeds,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/evaluate_kept/{dataset}/{method}.log",
    benchmark:
        "logs/benchmarks/evaluate_kept/{dataset}/{method}.tsv",
    threads: 1
    script:
        "../scripts/evaluate.py"


rule evaluate_all:
    input:
        EVALUATIONS,
        KEPT_EVALUATIONS,
