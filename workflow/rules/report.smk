rule table:
    """All evaluations → results/table1.csv (+ .md, + summary.json for `dvc metrics`)."""
    input:
        EVALUATIONS,
    output:
        csv="results/table1.csv",
        md="results/table1.md",
        summary="results/summary.json",
    params:
        order=P.runs,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/report/table.log",
    script:
        "../scripts/table.py"


rule figures:
    """Accuracy bars per method and pretraining loss curves."""
    input:
        metrics=EVALUATIONS,
        checkpoints=CHECKPOINTS,
    output:
        accuracy="results/figures/accuracy.png",
        loss="results/figures/loss_curves.png",
    params:
        order=P.runs,
        datasets=[d for d, _, _ in TRAINED_RUNS],
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/report/figures.log",
    script:
        "../scripts/figures.py"


rule report_all:
    input:
        rules.table.output,
        rules.figures.output,
