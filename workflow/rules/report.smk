rule table:
    """All evaluations → results/table1.csv (+ .md, + summary.json for `dvc metrics`)."""
    input:
        readable(EVALUATIONS),
    output:
        csv=report("results/table1.csv", caption="../report/table1.rst", category="1. table1"),
        md="results/table1.md",
        summary="results/summary.json",
    params:
        order=P.runs,
        params_id=table_identity(P),
        seeds=P.seeds,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/report/table.log",
    benchmark:
        "logs/benchmarks/report/table.tsv",
    script:
        "../scripts/table.py"


rule figures:
    """Accuracy bars per method and pretraining loss curves."""
    input:
        metrics=readable(EVALUATIONS),
        checkpoints=[f"checkpoints/{d}/{m}/seed{s}/final.pt" for d, m, s in TABLE_RUNS],
    output:
        accuracy=report("results/figures/accuracy.png", caption="../report/accuracy.rst", category="1. table1"),
        loss=report("results/figures/loss_curves.png", caption="../report/loss_curves.rst", category="1. table1"),
    params:
        order=P.runs,
        datasets=[d for d, _, _ in TABLE_RUNS],
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/report/figures.log",
    benchmark:
        "logs/benchmarks/report/figures.tsv",
    script:
        "../scripts/figures.py"


rule report_all:
    """table1 and its figures: the fast target."""
    input:
        rules.table.output,
        rules.figures.output,


rule table_transfer:
    """Transfer evaluations → results/table2_transfer.csv (+ .md) and figures/transfer.png."""
    input:
        readable(TRANSFERS),
    output:
        csv=report("results/table2_transfer.csv", caption="../report/transfer.rst", category="2. transfer"),
        md="results/table2_transfer.md",
        summary="results/summary_transfer.json",
        figure=report("results/figures/transfer.png", caption="../report/transfer.rst", category="2. transfer"),
    params:
        order=P.runs,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/report/table_transfer.log",
    benchmark:
        "logs/benchmarks/report/table_transfer.tsv",
    script:
        "../scripts/analysis.py"


rule table_spectrum:
    """Spectra of the final checkpoints → results/table3_spectrum.csv (+ .md) and figures/spectrum.png."""
    input:
        readable(SPECTRA),
    output:
        csv=report("results/table3_spectrum.csv", caption="../report/spectrum.rst", category="3. spectrum"),
        md="results/table3_spectrum.md",
        curves="results/spectrum.csv",
        figure=report("results/figures/spectrum.png", caption="../report/spectrum.rst", category="3. spectrum"),
    params:
        order=P.runs,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/report/table_spectrum.log",
    benchmark:
        "logs/benchmarks/report/table_spectrum.tsv",
    script:
        "../scripts/analysis.py"


rule convergence:
    """Kept-checkpoint evaluations (+ the final ones) → results/convergence.csv and figures/convergence.png."""
    input:
        kept=readable(KEPT_EVALUATIONS),
        final=readable([e for e in EVALUATIONS if "/raw_pixels/" not in e]),  # random_init: the untrained reference
    output:
        csv=report("results/convergence.csv", caption="../report/convergence.rst", category="4. convergence"),
        figure=report("results/figures/convergence.png", caption="../report/convergence.rst",
                      category="4. convergence"),
    params:
        order=P.runs,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/report/convergence.log",
    benchmark:
        "logs/benchmarks/report/convergence.tsv",
    script:
        "../scripts/analysis.py"


rule analysis_all:
    """Transfer, spectrum and convergence (an empty table and a figure saying so where nothing is configured)."""
    input:
        rules.table_spectrum.output,
        rules.table_transfer.output,
        rules.convergence.output,
