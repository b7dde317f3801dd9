"""The pipeline's stages as functions of files: what each Snakemake rule (and `jessl` command) runs.

Every stage writes its outputs atomically and a run record beside each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import provenance
from .claims import decide
from .claims.catalogue import claim
from .io import write_json, write_text
from .recorded import stage_params

if TYPE_CHECKING:  # annotations only: the report jobs (tables, figures) then import no torch (≈ 3 s each)
    from .config import DatasetConfig, EvaluateConfig, RunConfig

log = logging.getLogger("jessl")


def setup_logging(logfile: str | Path | None = None, append: bool = False) -> None:
    """Log to stderr and, when given, to the rule's log file (truncated first unless `append`)."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if logfile:
        Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(logfile, mode="a" if append else "w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", handlers=handlers, force=True)
    for noisy in ("numba", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def convert(*, dataset: str, cfg: DatasetConfig, train_out: str | Path, test_out: str | Path,
            manifest: str | Path | None = None) -> None:
    """Raw dataset → `train.beton` and `test.beton`. An image folder is read from its `manifest` (each
    file checked against its hash) and stored as JPEGs of at most `max_resolution` pixels a side."""
    from .data import beton, sources
    from .data import manifest as folder_manifest

    t0 = time.perf_counter()
    if cfg.source == "folder":
        if manifest is None:
            raise ValueError(f"{dataset}: an image folder is converted from its manifest; pass `manifest`")
        splits = folder_manifest.splits(manifest, cfg)
        inputs, jpeg = [manifest], {"max_resolution": cfg.max_resolution, "jpeg_quality": cfg.jpeg_quality}
    else:
        splits, inputs, jpeg = sources.load(cfg), [], {}
    for split, out in (("train", train_out), ("test", test_out)):
        beton.write_beton(splits[split], out, **jpeg)
        provenance.write_record(out, stage="convert", inputs=inputs, raw_inputs=sources.raw_files(cfg, split),
                                params=stage_params("convert", dataset=dataset, data=cfg, split=split),
                                seed=cfg.split_seed, wall_time_s=time.perf_counter() - t0,
                                metrics={"samples": len(splits[split])})
        log.info("%s: wrote %s (%d samples)", dataset, out, len(splits[split]))


# Facts of one job, not of its result: the untracked half of the run record (`provenance.write_record`).
PRETRAIN_VOLATILE = ("images_per_s", "s_per_epoch", "peak_gpu_mem_mib", "compile", "channels_last",
                     "resumed_from_epoch")


def convert_pretrain(*, dataset: str, cfg: DatasetConfig, out: str | Path) -> None:
    """STL-10 with `unlabeled: true` → `pretrain.beton`: the train split then the 100k unlabeled images
    (label -1). Only the pretrain rule reads it; every probe reads `train.beton`/`test.beton`."""
    from .data import beton, sources

    t0 = time.perf_counter()
    data = sources.load_pretrain(cfg)
    beton.write_beton(data, out)
    provenance.write_record(out, stage="convert", inputs=[], raw_inputs=sources.raw_files(cfg, "pretrain"),
                            params=stage_params("convert", dataset=dataset, data=cfg, split="pretrain"),
                            seed=cfg.split_seed, wall_time_s=time.perf_counter() - t0,
                            metrics={"samples": len(data), "unlabeled": int((data.labels < 0).sum())})
    log.info("%s: wrote %s (%d samples)", dataset, out, len(data))


def manifest(*, dataset: str, cfg: DatasetConfig, out: str | Path) -> None:
    """An image folder → `manifest.json`: its files (sorted relative paths) with sha256, label and split."""
    from .data import manifest as folder_manifest

    t0 = time.perf_counter()
    m = folder_manifest.build(cfg)
    write_json(out, m)
    provenance.write_record(out, stage="manifest", inputs=[],
                            params=stage_params("manifest", dataset=dataset, data=cfg), seed=cfg.split_seed,
                            wall_time_s=time.perf_counter() - t0, metrics={"files": len(m["files"])})
    log.info("%s: wrote %s (%d files)", dataset, out, len(m["files"]))


def pretrain(*, run: RunConfig | dict[str, Any], train_beton: str | Path, out: str | Path, seed: int, threads: int,
             kept: list[str | Path] | None = None, compile: bool = False, channels_last: bool = False, gpus: int = 0,
             job_log: str | Path | None = None) -> None:
    """Pretrain one run: the final checkpoint `out` and the checkpoints `kept` (`keep/pct{q}.pt`: at q % of
    its epochs). Which to keep is read from the declared files, not passed as a job parameter, so dropping
    one from keep_epochs reruns no training (adding one must: the run saves no other epochs).
    `compile`, `channels_last`: CUDA speed-ups, resources that are not part of the run. `gpus` > 1 runs the
    job in that many processes under torchrun (`jessl.launch`; refused without CUDA GPUs)."""
    import os

    from .checkpoint import kept_path, kept_pct
    from .config import RunConfig
    from .launch import per_process_batch, processes, torchrun, under_torchrun
    from .pretrain import pretrain as train

    run = run if isinstance(run, RunConfig) else RunConfig.model_validate(run)
    kept = [Path(k) for k in kept or []]
    keep = [kept_pct(k) for k in kept]
    if kept != [kept_path(out, q) for q in keep]:
        raise ValueError(f"kept checkpoints {kept} are not where the checkpoint module puts them for {keep}")
    nproc = processes(gpus)
    if nproc > 1 and not under_torchrun():
        per_process_batch(run.pretrain.batch_size, nproc, run.name)  # refused here, before any process starts
        torchrun("pretrain", dict(run=run.to_params(), train_beton=str(train_beton), out=str(out), seed=seed,
                                  threads=max(1, threads // nproc), kept=[str(k) for k in kept],
                                  compile=compile, channels_last=channels_last, gpus=gpus), nproc, job_log)
        return
    t0 = time.perf_counter()
    summary = train(train_beton, out, run, seed, threads, keep, compile=compile, channels_last=channels_last)
    if int(os.environ.get("RANK", 0)) != 0:
        return  # rank 0 wrote the checkpoints; it writes their records
    for path in [out, *kept]:
        provenance.write_record(path, stage="pretrain", inputs=[train_beton],
                                params=stage_params("pretrain", run=run), seed=seed,
                                wall_time_s=time.perf_counter() - t0, metrics=summary,
                                env=provenance.environment(summary["device"], threads),
                                volatile={k: summary[k] for k in PRETRAIN_VOLATILE})
    log.info("%s: saved %s (final loss %s)", run.name, out, summary["final_loss"])


def pretrain_seeds(*, seeds: list[int], outs: list[str | Path], kept: list[str | Path], **common: Any) -> None:
    """`pretrain` for each seed (its final checkpoint `outs[i]`, its kept ones among `kept`: those in its
    folder) in one process: the imports and FFCV's compile once per run, not once per seed."""
    mine = [[Path(k) for k in kept if Path(k).parent.parent == Path(out).parent] for out in outs]
    if sum(map(len, mine)) != len(kept):
        raise ValueError(f"kept checkpoints {kept} are not where the checkpoint module puts them for {outs}")
    for seed, out, ks in zip(seeds, outs, mine, strict=True):
        pretrain(seed=seed, out=out, kept=ks, **common)


def evaluate(*, dataset: str, method: str, seed: int, train_beton: str | Path, test_beton: str | Path,
             checkpoint: str | Path | None, cfg: EvaluateConfig, out: str | Path, threads: int,
             expected_arch: str | None = None, epochs: int = 0, loss: str | None = None,
             spectrum_out: str | Path | None = None, tags: dict[str, Any] | None = None,
             validation: dict[str, Any] | None = None) -> dict[str, Any]:
    """Probe a frozen backbone (or the raw pixels): metrics JSON at `out` and, if asked, the spectrum of
    its features and projections at `spectrum_out`. `dataset` is the probed dataset, `tags` extra facts
    of the entry (the source dataset of a transfer, the epoch of a kept checkpoint); `validation`
    ({fraction, seed}) adds the validation-split probe a selection reads."""
    import torch

    from .data.beton import check_pair
    from .evaluate.run import evaluate as run_eval

    check_pair(train_beton, test_beton)  # one dataset's two splits, never a mix of runs
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    metrics, scores, spectrum = run_eval(train_beton, test_beton, checkpoint, cfg, expected_arch,
                                         spectrum_out is not None,
                                         online="source" not in (tags or {}),  # a transfer: other classes
                                         validation=validation)
    entry = {"dataset": dataset, "method": method, "loss": loss, "seed": seed, "epochs": epochs, **(tags or {}),
             "metrics": metrics, "per_image": scores}
    inputs = [train_beton, test_beton] + ([checkpoint] if checkpoint else [])
    outputs = [(out, entry, metrics)]
    if spectrum_out is not None:
        outputs.append((spectrum_out, {**{k: v for k, v in entry.items() if k not in ("metrics", "per_image")},
                                       **spectrum}, None))
    for path, content, m in outputs:
        write_json(path, content)
        provenance.write_record(path, stage="evaluate", inputs=inputs, params=stage_params("evaluate", evaluate=cfg),
                                seed=seed,
                                wall_time_s=time.perf_counter() - t0, metrics=m,
                                env=provenance.environment("cpu", threads))
    log.info("%s/%s/seed%d: %s", dataset, method, seed, metrics)
    return entry


def report(*, metrics_files: list[str | Path], order: list[str], table_csv: str | Path, table_md: str | Path,
           summary_json: str | Path, params_id: str | None = None, seeds: list[int] | None = None) -> None:
    """Evaluation JSONs → table1.csv, table1.md and a flat metrics summary (DVC `metrics:`; `params_id`, the
    identity of the params behind it, and `seeds` go to its `meta` for `jessl compare`)."""
    from .report import tables

    t0 = time.perf_counter()
    rows = tables.build_rows(tables.read_metrics(metrics_files), order)
    write_text(table_csv, tables.to_csv(rows))
    write_text(table_md, tables.to_markdown(rows))
    write_json(summary_json, tables.summary(rows, params_id, seeds))
    _record_all([table_csv, table_md, summary_json], list(metrics_files), {"order": order}, t0)
    log.info("wrote %s (%d rows)", table_csv, len(rows))


def figures(*, metrics_files: list[str | Path], checkpoints: list[str | Path], datasets: list[str],
            order: list[str], accuracy_png: str | Path, loss_png: str | Path) -> None:
    """Accuracy bars and loss curves; `datasets[i]` names the dataset `checkpoints[i]` was trained on."""
    from . import checkpoint
    from .report import figures as fig
    from .report import tables

    t0 = time.perf_counter()
    rows = tables.build_rows(tables.read_metrics(metrics_files), order)
    fig.accuracy_bars(rows, accuracy_png)
    histories: dict[str, dict[str, list[float]]] = {}
    for ck, dataset in zip(checkpoints, datasets, strict=True):
        c = checkpoint.read_final(ck).describe()
        histories.setdefault(f"{dataset}/{c['name']}", {})[f"seed {c['seed']}"] = c["history"]
    fig.loss_curves(histories, loss_png)
    provenance.write_record(accuracy_png, stage="figures", inputs=metrics_files,
                            wall_time_s=time.perf_counter() - t0)
    provenance.write_record(loss_png, stage="figures", inputs=checkpoints, wall_time_s=time.perf_counter() - t0)


def _record_all(outputs: list[str | Path], inputs: list[str | Path], params: dict[str, Any], t0: float) -> None:
    for out in outputs:
        provenance.write_record(out, stage="report", inputs=inputs, params=params,
                                wall_time_s=time.perf_counter() - t0)


def transfer_table(*, metrics_files: list[str | Path], order: list[str], table_csv: str | Path,
                   table_md: str | Path, summary_json: str | Path, figure: str | Path) -> None:
    """Transfer evaluations → results/table2_transfer.{csv,md}, a flat summary (DVC `metrics:`), a bar chart."""
    from .report import figures as fig
    from .report import tables

    t0 = time.perf_counter()
    rows = tables.transfer_rows(tables.read_metrics(metrics_files), order)
    write_text(table_csv, tables.transfer_csv(rows))
    write_text(table_md, tables.transfer_markdown(rows))
    write_json(summary_json, tables.transfer_summary(rows))
    fig.transfer_bars(rows, figure)
    _record_all([table_csv, table_md, summary_json, figure], list(metrics_files), {"order": order}, t0)
    log.info("wrote %s (%d rows)", table_csv, len(rows))


def spectrum_table(*, spectrum_files: list[str | Path], order: list[str], table_csv: str | Path,
                   table_md: str | Path, curves_csv: str | Path, figure: str | Path) -> None:
    """Spectra of the final checkpoints → results/table3_spectrum.{csv,md}, the eigenvalue curves (long CSV
    for `dvc plots`) and the eigenvalue figure."""
    from .report import figures as fig
    from .report import tables

    t0 = time.perf_counter()
    entries = tables.read_metrics(spectrum_files)
    rows = tables.spectrum_rows(entries, order)
    write_text(table_csv, tables.spectrum_csv(rows))
    write_text(table_md, tables.spectrum_markdown(rows))
    write_text(curves_csv, tables.spectrum_curves_csv(entries))
    fig.spectrum(entries, figure)
    _record_all([table_csv, table_md, curves_csv, figure], list(spectrum_files), {"order": order}, t0)
    log.info("wrote %s (%d rows)", table_csv, len(rows))


def convergence(*, kept_files: list[str | Path], final_files: list[str | Path], order: list[str],
                table_csv: str | Path, figure: str | Path) -> None:
    """Evaluations of the kept and final checkpoints → results/convergence.csv and accuracy vs epoch."""
    from .report import figures as fig
    from .report import tables

    t0 = time.perf_counter()
    final = tables.read_metrics(final_files)
    rows = tables.convergence_rows(tables.read_metrics(kept_files), final, order)
    write_text(table_csv, tables.convergence_csv(rows))
    fig.convergence(rows, figure, tables.untrained(final))
    _record_all([table_csv, figure], [*kept_files, *final_files], {"order": order}, t0)
    log.info("wrote %s (%d rows)", table_csv, len(rows))


def spectral_claim(*, dataset: str, cfg: DatasetConfig, augment: dict[str, Any], linear: dict[str, Any],
                   real: dict[str, Any], trained: dict[str, Any], sweep: dict[str, Any], seeds: list[int],
                   margin: float, threads: int, table_csv: str | Path, figure: str | Path,
                   fragment: str | Path, verdict_out: str | Path) -> None:
    """Claim 1 (Balestriero & LeCun 2022) → results/spectral.csv, figures/spectral.png and its section of
    results/claims.md (`fragment`): (a) the linear
    regime on a toy problem (`linear`: samples, dim, k, views, beta, lr, max_steps), (b) the closed forms on
    the raw pixels of `dataset` with graphs from the pipeline's `augment` or from label pairings (`real`:
    k, probe_c, ridge, max_images); (a') linear encoders trained with the real losses for each of `seeds`
    (`trained`: sizes, steps, lr), the claim's verdict (`verdict_out`); the invariance-weight sweep (`sweep`:
    weights, k) on misaligned graphs."""
    import torch
    from threadpoolctl import threadpool_limits

    from .analysis import spectral_claim as sc
    from .config import AugmentConfig
    from .data import augment as aug
    from .data import sources
    from .report import claims as rc
    from .report import theory_figures
    from .report.tables import write_csv

    torch.set_num_threads(threads)
    threadpool_limits(threads)  # numpy's BLAS too: oversubscribed cores slow the eigensolvers tenfold
    t0 = time.perf_counter()
    seed = seeds[0]
    rows = sc.linear_regime(seed=seed, **linear)
    rows += sc.trained_losses(seeds=seeds, **trained)
    splits = sources.load(cfg)
    train, test = splits["train"], splits["test"]
    images = torch.from_numpy(train.images)
    v1, v2 = aug.views(images, AugmentConfig(**augment), 2, torch.Generator().manual_seed(seed))

    def flat(x):  # grey images: one channel of the normalised float images
        return x[:, 0].reshape(len(x), -1)

    pixels = {"x1": flat(v1), "x2": flat(v2), "train_x": flat(aug.to_float(images)), "train_y": train.labels,
              "test_x": flat(aug.to_float(torch.from_numpy(test.images))), "test_y": test.labels,
              "probe_c": real["probe_c"], "ridge": real["ridge"], "max_images": real.get("max_images")}
    rows += sc.graph_alignment(**pixels, k=real["k"], seed=seed)
    rows += sc.invariance_sweep(**pixels, k=min(sweep["k"], pixels["x1"].shape[1]), seeds=seeds,
                                weights=sweep["weights"], graphs=sc.PAIRINGS)
    write_text(table_csv, write_csv(rows, sc.COLUMNS))
    theory_figures.spectral(rows, figure)
    verdict = decide.verdict("spectral", decide.spectral_effects(rows), margin)
    _claim_md(fragment, claim('spectral').heading, rc.spectral_finding(rows),
              rc.markdown_table([r for r in rows if r["part"] != "c_invariance"], sc.COLUMNS) + "\n\n"
              + rc.markdown_table(rc.invariance_table(rows), rc.INVARIANCE_COLUMNS), [figure], verdict, verdict_out)
    params = {"dataset": dataset, **cfg.data_params(), "augment": augment, "linear": linear, "real": real,
              "trained": trained, "sweep": sweep, "seeds": seeds, "margin": margin}
    metrics = {f"{r['part']}/{r['criterion'].split(' (')[0]}/{r['graph']}/{k}": r[k] for r in rows
               for k in ("rel_gap", "max_angle_deg", "linear_top1") if k in r}
    for out in (table_csv, figure, fragment, verdict_out):
        provenance.write_record(out, stage="claims_theory", inputs=[], raw_inputs=sources.raw_files(cfg),
                                params=params, seed=seed, wall_time_s=time.perf_counter() - t0, metrics=metrics,
                                env=provenance.environment("cpu", threads))
    log.info("wrote %s (%d rows)", table_csv, len(rows))


def hsic_infonce(*, dataset: str, cfg: DatasetConfig, augment: dict[str, Any],
                 checkpoints: dict[str, dict[str, list[str]]], batches: dict[str, Any], objective: dict[str, Any],
                 seed: int, margin: float, threads: int, table_csv: str | Path, figure: str | Path,
                 fragment: str | Path, verdict_out: str | Path) -> None:
    """Claim 4 (Li et al. 2021) → results/hsic_infonce.csv, figures/hsic_infonce.png and its section of
    results/claims.md (`fragment`): InfoNCE and the
    SSL-HSIC objective of every checkpoint of each run (`checkpoints`: run → seed → its kept and final checkpoints)
    on the same fixed batches of views of the test split of `dataset` (`batches`: batch_size, num_batches;
    `objective`: temperature, gamma, scale)."""
    import torch
    from threadpoolctl import threadpool_limits

    from . import checkpoint as ck
    from .analysis import hsic_infonce as hi
    from .config import AugmentConfig
    from .data import sources
    from .report import claims as rc
    from .report import theory_figures
    from .report.tables import write_csv

    torch.set_num_threads(threads)
    threadpool_limits(threads)
    t0 = time.perf_counter()
    fixed = hi.eval_batches(sources.load(cfg)["test"].images, AugmentConfig(**augment), seed=seed, **batches)
    rows = []
    for method, by_seed in checkpoints.items():
        for run_seed, paths in sorted(by_seed.items(), key=lambda kv: int(kv[0])):
            mine = []
            for path in paths:
                epoch = len(ck.read_final(path).describe()["history"])
                mine.append({"method": method, "seed": int(run_seed), "epoch": epoch,
                             **hi.objectives(path, fixed, **objective, null_seed=seed)})
            corr = hi.correlations(mine)
            rows += [{**r, **corr} for r in sorted(mine, key=lambda r: r["epoch"])]
    write_text(table_csv, write_csv(rows, hi.COLUMNS))
    theory_figures.hsic_infonce([r for r in rows if r["seed"] == min(x["seed"] for x in rows)], figure)
    summary = rc.hsic_summary(rows)
    verdict = decide.verdict("hsic_infonce", decide.hsic_effects(rows), margin)
    _claim_md(fragment, claim('hsic_infonce').heading, rc.hsic_finding(summary),
              rc.markdown_table(summary, rc.HSIC_SUMMARY_COLUMNS), [figure], verdict, verdict_out)
    params = {"dataset": dataset, **cfg.data_params(), "augment": augment, "batches": batches,
              "objective": objective}
    metrics = {f"{r['method']}/seed{r['seed']}/{k}": r[k] for r in rows for k in r
               if k.startswith(("pearson", "spearman"))}
    inputs = [p for by_seed in checkpoints.values() for paths in by_seed.values() for p in paths]
    for out in (table_csv, figure, fragment, verdict_out):
        provenance.write_record(out, stage="claims_theory", inputs=inputs, raw_inputs=sources.raw_files(cfg),
                                params=params, seed=seed, wall_time_s=time.perf_counter() - t0, metrics=metrics,
                                env=provenance.environment("cpu", threads))
    log.info("wrote %s (%d rows)", table_csv, len(rows))


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors whose message already names the problem and the fix (no traceback needed)."""
    from .checkpoint import CheckpointError
    from .config import ConfigError
    from .data.beton import BetonError
    from .data.manifest import ManifestError
    from .data.sources import DatasetMissingError
    from .io import DiskFullError
    from .methods.registry import LossError, UnknownMethodError
    from .pretrain import NonFiniteLossError
    from .report.tables import MetricError

    return (ConfigError, BetonError, DatasetMissingError, ManifestError, UnknownMethodError, CheckpointError,
            NonFiniteLossError, DiskFullError, LossError, MetricError)


def main(logfile: str | Path | None, stage, outputs: Iterable[str | Path] = (), **kwargs: Any) -> None:
    """Run one stage from a workflow script: log to the rule's log, turn known errors into one clear line.

    The run records of the rule's `outputs` go first: Snakemake has already removed the outputs, and a
    record must never describe a file that a failed job did not write.
    """
    import sys

    setup_logging(logfile)
    for out in outputs:
        provenance.record_path(out).unlink(missing_ok=True)
    try:
        stage(**kwargs)
    except user_errors() as err:
        log.error("error: %s", err)
        sys.exit(1)


# --- claims (workflow/rules/claims.smk): sweeps of table1 rows → one table or figure per paper's claim ------

def evaluate_many(*, jobs: list[dict[str, Any]], **common: Any) -> None:
    """`evaluate` for each of `jobs` (its own keyword arguments; `common` the shared ones) in one process: the
    imports and the data load once per job list (the checkpoints kept during a run, a claim's points), not once
    per evaluation (the probes are a few seconds each, the start-up as much)."""
    for job in jobs:
        evaluate(**common, **job)


def _claim_md(path: str | Path, title: str, finding: str, table: str, figures: list[str | Path] = (),
              verdict: Any = None, verdict_out: str | Path | None = None) -> None:
    """A claim's section of results/claims.md: heading, the verdict's line (from `verdict`, a `Verdict`, also
    written to `verdict_out` as JSON), the finding, the table and the figures."""
    from .report.claims import relative

    links = [f"![{Path(f).stem}]({relative(f, Path(path).parent.parent)})" for f in figures]
    lines = [f"## {title}", *([decide.sentence(verdict)] if verdict is not None else []), finding, table, *links]
    write_text(path, "\n\n".join(lines) + "\n")
    if verdict_out is not None:
        write_text(verdict_out, verdict.to_json() + "\n")


def _claim_unset(key: str, title: str, csvs: dict[str | Path, list[str]], figures: list[str | Path],
                 fragment: str | Path, verdict_out: str | Path, t0: float) -> None:
    """A claim that params.yaml does not configure: its outputs say so (header-only tables, a figure and a
    section saying what to set), so every output the `claims` DVC stage declares exists whatever the profile."""
    from .report.claims import csv_text
    from .report.figures import _nothing

    for path, columns in csvs.items():
        write_text(path, csv_text([], columns))
    for path in figures:
        _nothing(path, f"not run: set {key} in params.yaml")
    _claim_md(fragment, title, f"Not run: params.yaml sets no `{key}`.", "")
    write_text(verdict_out, "null\n")  # no verdict: claims_report leaves the claim out of claims.json
    _record_all([*csvs, *figures, fragment, verdict_out], [], {"configured": False}, t0)
    log.info("%s is not configured: wrote empty outputs", key)


EIGEN_COLUMNS = ["method", "seed", "epoch", "index", "relative_eigenvalue"]


def claims_duality(*, metrics_files: list[str | Path], order: list[str], tolerance: float, pair: list[str],
                   margin: float, table_csv: str | Path, dims_csv: str | Path, dims_figure: str | Path,
                   fragment: str | Path, verdict_out: str | Path, configured: bool = True) -> None:
    """Garrido et al. 2023: best and median per method over its sweep, the family gap; accuracy vs dimension;
    the verdict on `pair` (tuned SimCLR vs tuned VICReg, each chosen on the validation split)."""
    from .report import claims as rc
    from .report.tables import read_metrics

    t0 = time.perf_counter()
    if not configured:
        return _claim_unset("claims.duality", claim('duality').heading,
                            {table_csv: rc.DUALITY_COLUMNS, dims_csv: rc.DIM_COLUMNS}, [dims_figure], fragment,
                            verdict_out, t0)
    entries = read_metrics(metrics_files)
    rows, dims = rc.duality_rows(entries, order), rc.dim_rows(entries)
    write_text(table_csv, rc.csv_text(rows, rc.DUALITY_COLUMNS))
    write_text(dims_csv, rc.csv_text(dims, rc.DIM_COLUMNS))
    rc.dim_figure(dims, dims_figure)
    _, chosen = decide.duality_effects(entries, pair)
    verdict = decide.paired_verdict("duality", decide.finals(entries, chosen[pair[0]]),
                                    decide.finals(entries, chosen[pair[1]]), margin,
                                    f"test linear top-1 of tuned {pair[0]} ({chosen[pair[0]]}) − tuned {pair[1]} "
                                    f"({chosen[pair[1]]}), each chosen on the validation split over an equal sweep")
    finding = rc.duality_finding(rows, dims, tolerance)
    table = rc.markdown_table(rows, rc.DUALITY_COLUMNS[:-1]) + "\n\n" + rc.markdown_table(dims, rc.DIM_COLUMNS[:5])
    _claim_md(fragment, claim('duality').heading, finding, table, [dims_figure], verdict, verdict_out)
    _record_all([table_csv, dims_csv, dims_figure, fragment, verdict_out], list(metrics_files),
                {"order": order, "tolerance": tolerance, "pair": pair, "margin": margin}, t0)
    log.info("wrote %s: %s", table_csv, finding)


def claims_convergence(*, metrics_files: list[str | Path], spectrum_files: list[str | Path], fractions: list[int],
                       order: list[str], frossl: str, others: list[str], margin: float, table_csv: str | Path,
                       eigen_csv: str | Path, figure: str | Path, eigen_figure: str | Path, fragment: str | Path,
                       verdict_out: str | Path, transfer_files: list[str | Path] = (),
                       probe_on: str | None = None, configured: bool = True) -> None:
    """Skean et al. 2024: epochs to a fraction of the final accuracy (equal steps, equal images) and the
    eigenvalues of the embedding covariance over training; the verdict on the curves probed on `probe_on`
    (`transfer_files`: a target where the untrained backbone is well below the trained ones) when given."""
    from .report import claims as rc
    from .report.tables import read_metrics

    t0 = time.perf_counter()
    if not configured:
        return _claim_unset("claims.convergence", claim('convergence').heading,
                            {table_csv: rc.CONVERGENCE_COLUMNS, eigen_csv: EIGEN_COLUMNS}, [figure, eigen_figure],
                            fragment, verdict_out, t0)
    entries = read_metrics(metrics_files)
    rows = rc.convergence_rows(entries, fractions, order)
    eig = rc.eigen_rows(read_metrics(spectrum_files))
    write_text(table_csv, rc.csv_text(rows, rc.CONVERGENCE_COLUMNS))
    write_text(eigen_csv, rc.csv_text(eig, EIGEN_COLUMNS))
    rc.convergence_figure(rc.curves(entries), figure)
    rc.eigen_figure(eig, eigen_figure)
    finding = " ".join(rc.convergence_finding(rows, f) for f in fractions[:1])
    wide: dict[str, dict[str, Any]] = {}
    for r in rows:
        w = wide.setdefault(r["method"], {"method": r["method"], "views": r["views"], "epochs": r["epochs"]})
        probe = r["probe"].removesuffix("_top1")
        if r["of"] == "gain":
            cell = "no gain" if r["final_top1"] <= r["untrained_top1"] else "never"
            if r["epochs_equal_steps"] is not None:
                cell = f"{r['epochs_equal_steps']} / {r['epochs_equal_images']:g}"
            w[f"{probe}: {r['fraction']} % of gain, steps / images"] = cell
        elif probe == "linear" and r["fraction"] == 80:
            w["linear: 80 % of final (paper's measure)"] = r["epochs_equal_steps"]
        w["STL-10 reference (80 % of final)"] = r["stl10_epochs_to_80_reference"]
    cols = list(dict.fromkeys(k for w in wide.values() for k in w))
    far = read_metrics(transfer_files) if transfer_files else []
    where = probe_on if far else "the pretraining data"
    verdict = decide.verdict("convergence", decide.convergence_effects(far or entries, frossl, others), margin,
                             f"{frossl}'s mean linear top-1 over the kept checkpoints − the best of "
                             f"{', '.join(others)} (equal steps; probed on {where})")
    if far:
        rows_far = rc.convergence_rows(far, fractions, order)
        finding += " " + rc.convergence_finding(rows_far, fractions[0]).replace(
            "To ", f"Probed on {probe_on} (untrained {rows_far[0]['untrained_top1']:.2f} %): to ", 1)
    _claim_md(fragment, claim('convergence').heading, finding,
              rc.markdown_table(list(wide.values()), cols), [figure, eigen_figure], verdict, verdict_out)
    _record_all([table_csv, figure, fragment, verdict_out], list(metrics_files),
                {"order": order, "fractions": fractions, "frossl": frossl, "others": others, "margin": margin}, t0)
    _record_all([eigen_csv, eigen_figure], list(spectrum_files), {}, t0)
    log.info("wrote %s: %s", table_csv, finding)


def claims_ablation(*, metrics_files: list[str | Path], transfer_files: list[str | Path], full: str,
                    target: str | None, margin: float, table_csv: str | Path, fragment: str | Path,
                    verdict_out: str | Path, compare: str = "combination", configured: bool = True) -> None:
    """Bordes et al. 2023: one negative, noise-only views, small batches, the combination vs the full recipe
    and the untrained backbone, on the probes and on transfer."""
    from .report import claims as rc
    from .report.tables import read_metrics

    t0 = time.perf_counter()
    if not configured:
        return _claim_unset("claims.ablation", claim('ablation').heading, {table_csv: rc.ABLATION_COLUMNS}, [],
                            fragment, verdict_out, t0)
    entries = read_metrics(metrics_files)
    rows = rc.ablation_rows(entries, read_metrics(transfer_files), full)
    write_text(table_csv, rc.csv_text(rows, rc.ABLATION_COLUMNS))
    finding = rc.ablation_finding(rows, target)
    combo = next((r["method"] for r in rows if r["label"] == compare), None)
    if combo is None:
        labels = [r["label"] for r in rows]
        raise ValueError(f"claims_ablation: no {compare!r} variant among the evaluations (labels: {labels})")
    verdict = decide.paired_verdict("ablation", decide.finals(entries, combo), decide.finals(entries, full), margin,
                                    f"linear top-1 of {combo} ({compare}; same epochs, so a smaller batch takes more "
                                    f"steps; lr as claims.ablation.lr_scaling says) − the full recipe {full}")
    _claim_md(fragment, claim('ablation').heading, finding,
              rc.markdown_table(rows, rc.ABLATION_COLUMNS[:-1]), [], verdict, verdict_out)
    _record_all([table_csv, fragment, verdict_out], [*metrics_files, *transfer_files],
                {"full": full, "target": target, "margin": margin}, t0)
    log.info("wrote %s: %s", table_csv, finding)


def claims_report(*, fragments: list[str | Path], verdicts: list[str | Path], out: str | Path,
                  json_out: str | Path) -> None:
    """`results/claims.md`: each claim's section (its verdict, finding, table and figure links), in the order
    given; `results/claims.json`: every claim's `Verdict` (what the README's labels are checked against)."""
    from .claims.verdict import Verdict

    t0 = time.perf_counter()
    texts = [Path(f).read_text().strip() for f in verdicts]
    found = [Verdict.from_json(t) for t in texts if t != "null"]  # "null": a claim params.yaml does not configure
    table = ["| claim | verdict | effect [95 % interval] | margin | test | seeds |", "|---|---|---|---|---|---|"]
    table += [f"| {v.claim} | {v.verdict.replace('_', ' ')} | {v.effect:+.2f} [{v.low:+.2f}, {v.high:+.2f}] "
              f"{v.unit} | {v.margin:g} | {v.test.replace('_', '-')} | {v.n_seeds} |"
              for v in sorted(found, key=lambda v: v.claim)]
    parts = ["# Claims", "Each section: the claim's verdict (reproduced, not reproduced or inconclusive: a test of "
             "its effect's 95 % interval against the margin declared in params.yaml, `claims.margins`), what the "
             "claim's runs showed here (computed from the numbers), its table and figures. `snakemake --cores all "
             "claims` rebuilds every number; `results/claims.json` holds the verdicts.", "\n".join(table)]
    parts += [Path(f).read_text().strip() for f in fragments]
    write_text(out, "\n\n".join(parts) + "\n")
    decide.write_json(json_out, found)
    _record_all([out, json_out], [*fragments, *verdicts], {}, t0)
