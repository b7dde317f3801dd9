"""Rule `table`: evaluation JSONs → results/table1.csv, results/table1.md, results/summary.json."""

from jessl.stages import main, report

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(sm.log[0], report, list(sm.input), list(sm.params.order), sm.output.csv, sm.output.md, sm.output.summary)
