# The papers' claims as targets: `snakemake --cores all claims` → results/claims.md (not part of `all`).
# Each sweep point is a table1 row's run with a few keys changed (jessl.claims.sweep.sweep_points), trained by the
# same pretraining stage; each claim's evaluations run in one job (stages.evaluate_many), its table after.
from jessl.claims import catalogue as K
from jessl.claims import sweep as C

CLAIM_POINTS = C.sweep_points(P)  # {claim: [Point]}; empty without a `claims:` section
CLAIM_RUNS = {(pt.claim, pt.variant): pt.run for pts in CLAIM_POINTS.values() for pt in pts}
CLAIM_SEEDS = P.claims.seeds if P.claims else []
CLAIM_DATA = [P.claims.dataset] if P.claims else []
if P.claims and P.claims.ablation and P.claims.ablation.transfer:
    CLAIM_DATA.append(P.claims.ablation.transfer)
CLAIM_KEEP = P.claims.convergence.keep_epochs if P.claims and P.claims.convergence else []
CLAIM_EVALS = {claim: C.evaluation_jobs(P, claim) for claim in CLAIM_POINTS if claim != C.REFERENCE}
# the input function of the theory claims' outputs (rule `claims_theory`, when its file is included)
THEORY = lambda wc: list(rules.claims_theory.input) if rules.has("claims_theory") else []  # noqa: E731


rule claims_pretrain:
    """One sweep point (or the untrained reference) → results/claims/{claim}/{variant}/seed{seed}/final.pt."""
    input:
        lambda wc: f"data/{P.claims.dataset}/train.beton",
    output:
        final="results/claims/{claim}/{variant}/seed{seed}/final.pt",
    wildcard_constraints:
        claim="duality|ablation|reference",
        variant=C.wildcard_alternatives(CLAIM_POINTS, ["duality", "ablation", C.REFERENCE]),
    params:
        run=lambda wc: CLAIM_RUNS[(wc.claim, wc.variant)].to_params(),
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/claims/pretrain/{claim}/{variant}/seed{seed}.log",
    benchmark:
        "logs/benchmarks/claims_pretrain/{claim}/{variant}/seed{seed}.tsv",
    threads: P.pretrain.threads
    resources:
        gpu=P.pretrain.gpus,
    script:
        "../scripts/pretrain.py"


rule claims_pretrain_kept:
    """A convergence run: the final checkpoint and those kept at claims.convergence.keep_epochs %."""
    input:
        lambda wc: f"data/{P.claims.dataset}/train.beton",
    output:
        final="results/claims/convergence/{variant}/seed{seed}/final.pt",
        kept=expand("results/claims/convergence/{{variant}}/seed{{seed}}/keep/pct{pct}.pt", pct=CLAIM_KEEP),
    wildcard_constraints:
        variant=C.wildcard_alternatives(CLAIM_POINTS, ["convergence"]),
    params:
        run=lambda wc: CLAIM_RUNS[("convergence", wc.variant)].to_params(),
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/claims/pretrain/convergence/{variant}/seed{seed}.log",
    benchmark:
        "logs/benchmarks/claims_pretrain/convergence/{variant}/seed{seed}.tsv",
    threads: P.pretrain.threads
    resources:
        gpu=P.pretrain.gpus,
    script:
        "../scripts/pretrain.py"


for _claim, _jobs in CLAIM_EVALS.items():

    rule:
        name:
            f"claims_evaluate_{_claim}"
        input:
            checkpoints=sorted({j["checkpoint"] for j in _jobs}),
            data=sorted({j[k] for j in _jobs for k in ("train_beton", "test_beton")}),
        output:
            metrics=[j["out"] for j in _jobs],
            spectrum=[j["spectrum_out"] for j in _jobs if j["spectrum_out"]],
        params:
            jobs=_jobs,
            cfg=P.evaluate.model_dump(),
            arch=P.model.backbone,
        conda:
            "../../envs/jessl.yaml"
        log:
            f"logs/claims/evaluate/{_claim}.log",
        benchmark:
            f"logs/benchmarks/claims_evaluate/{_claim}.tsv"
        threads: 1
        script:
            "../scripts/claims_evaluate.py"


rule claims_duality:
    """Garrido et al. 2023 → results/table_duality.csv, results/dim_sweep.csv, figures/dim_sweep.png."""
    input:
        readable([j["out"] for j in CLAIM_EVALS.get("duality", [])]),
    output:
        csv=report("results/table_duality.csv", caption="../report/claims.rst", category="claims"),
        dims="results/dim_sweep.csv",
        figure=report("results/figures/dim_sweep.png", caption="../report/claims.rst", category="claims"),
        fragment="results/claims/duality.md",
        verdict="results/claims/duality.verdict.json",
    params:
        order=list(P.methods),
        tolerance=P.claims.duality.tolerance if P.claims and P.claims.duality else 0.0,
        pair=P.claims.duality.pair if P.claims and P.claims.duality else [],
        margin=P.claims.margins.duality if P.claims else 0.0,
        configured="duality" in CLAIM_EVALS,  # not: empty outputs saying so (the claims DVC stage declares them)
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/claims/duality.log",
    benchmark:
        "logs/benchmarks/claims_report/duality.tsv"
    script:
        "../scripts/claims_report.py"


rule claims_convergence:
    """Skean et al. 2024 → results/table_convergence.csv, figures/convergence_frossl.png (+ eigenvalues)."""
    input:
        metrics=readable([j["out"] for j in CLAIM_EVALS.get("convergence", []) if j["dataset"] == P.claims.dataset]),
        spectrum=readable([j["spectrum_out"] for j in CLAIM_EVALS.get("convergence", []) if j["spectrum_out"]]),
        transfer=readable([j["out"] for j in CLAIM_EVALS.get("convergence", []) if j["dataset"] != P.claims.dataset]),
    output:
        csv=report("results/table_convergence.csv", caption="../report/claims.rst", category="claims"),
        eigen="results/convergence_eigenvalues.csv",
        figure=report("results/figures/convergence_frossl.png", caption="../report/claims.rst", category="claims"),
        eigen_figure=report("results/figures/convergence_eigenvalues.png", caption="../report/claims.rst",
                            category="claims"),
        fragment="results/claims/convergence.md",
        verdict="results/claims/convergence.verdict.json",
    params:
        order=[pt.variant for pt in CLAIM_POINTS.get("convergence", [])],
        fractions=P.claims.convergence.fractions if P.claims and P.claims.convergence else [],
        # FroSSL at its first listed view count against every other row, all at the same epochs and batch size
        frossl=C.frossl_variant(P.claims.convergence) if P.claims and P.claims.convergence else "",
        others=P.claims.convergence.rows if P.claims and P.claims.convergence else [],
        margin=P.claims.margins.convergence if P.claims else 0.0,
        probe_on=P.claims.convergence.probe_on if P.claims and P.claims.convergence else None,
        configured="convergence" in CLAIM_EVALS,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/claims/convergence.log",
    benchmark:
        "logs/benchmarks/claims_report/convergence.tsv"
    script:
        "../scripts/claims_report.py"


rule claims_ablation:
    """Bordes et al. 2023 → results/table_ablation.csv."""
    input:
        metrics=readable([j["out"] for j in CLAIM_EVALS.get("ablation", []) if j["dataset"] == P.claims.dataset]),
        transfer=readable([j["out"] for j in CLAIM_EVALS.get("ablation", []) if j["dataset"] != P.claims.dataset]),
    output:
        csv=report("results/table_ablation.csv", caption="../report/claims.rst", category="claims"),
        fragment="results/claims/ablation.md",
        verdict="results/claims/ablation.verdict.json",
    params:
        full=P.claims.ablation.row if P.claims and P.claims.ablation else "",
        margin=P.claims.margins.ablation if P.claims else 0.0,
        target=P.claims.ablation.transfer if P.claims and P.claims.ablation else None,
        configured="ablation" in CLAIM_EVALS,
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/claims/ablation.log",
    benchmark:
        "logs/benchmarks/claims_report/ablation.tsv"
    script:
        "../scripts/claims_report.py"


# every claim's section, configured or not (one that is not says so): the claims DVC stage declares them all
CLAIM_FRAGMENTS = [K.claim(c).fragment for c in K.SWEEPS]
CLAIM_ORDER = list(K.ORDER)  # the papers' claims 1 … 5 (jessl.claims.catalogue)

# every claim's section of results/claims.md in the claims' order (the theory claims' when included)
CLAIM_SECTIONS = lambda wc: sorted(  # noqa: E731
    [*CLAIM_FRAGMENTS, *(f for f in THEORY(wc) if str(f).endswith(".md"))], key=lambda f: CLAIM_ORDER.index(Path(f).stem)
)


rule claims_report:
    """Every claim's section → results/claims.md, claims 1 … 5 in order; their verdicts → results/claims.json."""
    input:
        fragments=CLAIM_SECTIONS,
        verdicts=lambda wc: [str(f).removesuffix(".md") + ".verdict.json" for f in CLAIM_SECTIONS(wc)],
    output:
        md=report("results/claims.md", caption="../report/claims.rst", category="claims"),
        json="results/claims.json",
    conda:
        "../../envs/jessl.yaml"
    log:
        "logs/claims/report.log",
    benchmark:
        "logs/benchmarks/claims_report/report.tsv"
    script:
        "../scripts/claims_report.py"


CLAIM_TABLES = [*rules.claims_duality.output, *rules.claims_convergence.output, *rules.claims_ablation.output]


rule claims:
    """Every claim: its tables and figures, and results/claims.md (`snakemake --cores all claims`)."""
    input:
        rules.claims_report.output,
        CLAIM_TABLES,
        THEORY,
