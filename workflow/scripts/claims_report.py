"""Rules `claims_duality`, `claims_convergence`, `claims_ablation`, `claims_report`: evaluations → the claims'
tables, figures and results/claims.md."""

from jessl.stages import claims_ablation, claims_convergence, claims_duality, claims_report, main

sm = snakemake  # noqa: F821 (injected by Snakemake's `script:`)
o, p = sm.output, sm.params
if sm.rule == "claims_duality":
    main(sm.log[0], claims_duality, outputs=o, metrics_files=list(sm.input), order=list(p.order),
         tolerance=p.tolerance, pair=list(p.pair), margin=float(p.margin), table_csv=o.csv, dims_csv=o.dims,
         dims_figure=o.figure, fragment=o.fragment, verdict_out=o.verdict, configured=p.configured)
elif sm.rule == "claims_convergence":
    main(sm.log[0], claims_convergence, outputs=o, metrics_files=list(sm.input.metrics),
         spectrum_files=list(sm.input.spectrum), fractions=list(p.fractions), order=list(p.order), frossl=p.frossl,
         others=list(p.others), margin=float(p.margin), transfer_files=list(sm.input.transfer),
         probe_on=p.probe_on, table_csv=o.csv, eigen_csv=o.eigen, figure=o.figure,
         eigen_figure=o.eigen_figure, fragment=o.fragment, verdict_out=o.verdict, configured=p.configured)
elif sm.rule == "claims_ablation":
    main(sm.log[0], claims_ablation, outputs=o, metrics_files=list(sm.input.metrics),
         transfer_files=list(sm.input.transfer), full=p.full, target=p.target, margin=float(p.margin),
         table_csv=o.csv, fragment=o.fragment, verdict_out=o.verdict, configured=p.configured)
else:
    main(sm.log[0], claims_report, outputs=o, fragments=list(sm.input.fragments), verdicts=list(sm.input.verdicts),
         out=o.md, json_out=o.json)
