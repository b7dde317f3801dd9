"""Rules `table_transfer`, `table_spectrum`, `convergence`: evaluations → tables and figures."""

from jessl.stages import convergence, main, spectrum_table, transfer_table

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
common = {"outputs": sm.output, "order": list(sm.params.order), "table_csv": sm.output.csv,
          "figure": sm.output.figure}
if sm.rule == "table_transfer":
    main(sm.log[0], transfer_table, metrics_files=list(sm.input), table_md=sm.output.md,
         summary_json=sm.output.summary, **common)
elif sm.rule == "table_spectrum":
    main(sm.log[0], spectrum_table, spectrum_files=list(sm.input), table_md=sm.output.md,
         curves_csv=sm.output.curves, **common)
else:
    main(sm.log[0], convergence, kept_files=list(sm.input.kept), final_files=list(sm.input.final), **common)
