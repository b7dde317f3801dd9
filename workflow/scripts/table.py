"""Rule `table`: evaluation JSONs → results/table1.csv, results/table1.md, results/summary.json."""

from jessl.stages import main, report

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
main(sm.log[0], report, outputs=sm.output, metrics_files=list(sm.input), order=list(sm.params.order),
     table_csv=sm.output.csv, table_md=sm.output.md, summary_json=sm.output.summary,
     params_id=sm.params.params_id, seeds=list(sm.params.seeds))
