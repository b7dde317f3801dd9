"""The pipeline's stages as functions of files: what each Snakemake rule (and `jessl` command) runs.

Every stage writes its outputs atomically and a run record beside each.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from . import provenance
from .config import DatasetConfig, EvaluateConfig
from .io import write_json, write_text

log = logging.getLogger("jessl")


def setup_logging(logfile: str | Path | None = None) -> None:
    """Log to stderr and, when given, to the rule's log file."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if logfile:
        Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(logfile, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", handlers=handlers, force=True)
    for noisy in ("numba", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def convert(dataset: str, cfg: DatasetConfig, train_out: str | Path, test_out: str | Path) -> None:
    """Raw dataset → `train.beton` and `test.beton`."""
    from .data import beton, sources

    t0 = time.perf_counter()
    splits = sources.load(cfg)
    raw = sources.raw_files(cfg)
    for split, out in (("train", train_out), ("test", test_out)):
        beton.write_beton(splits[split], out)
        provenance.write_record(out, stage="convert", inputs=raw,
                                params={"dataset": dataset, **cfg.model_dump(mode="json"), "split": split},
                                seed=cfg.split_seed, wall_time_s=time.perf_counter() - t0,
                                metrics={"samples": len(splits[split])})
        log.info("%s: wrote %s (%d samples)", dataset, out, len(splits[split]))


def pretrain(run: dict[str, Any], train_beton: str | Path, out: str | Path, seed: int, threads: int) -> None:
    from .pretrain import pretrain as train

    t0 = time.perf_counter()
    summary = train(train_beton, out, run, seed, threads)
    provenance.write_record(out, stage="pretrain", inputs=[train_beton], params=run, seed=seed,
                            wall_time_s=time.perf_counter() - t0, metrics=summary,
                            env=provenance.environment(summary["device"], threads))
    log.info("%s: saved %s (final loss %s)", run["name"], out, summary["final_loss"])


def evaluate(dataset: str, method: str, seed: int, train_beton: str | Path, test_beton: str | Path,
             checkpoint: str | Path | None, cfg: EvaluateConfig, out: str | Path, threads: int,
             expected_arch: str | None = None, epochs: int = 0, loss: str | None = None) -> dict[str, Any]:
    import torch

    from .evaluate.run import evaluate as run_eval

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    metrics = run_eval(train_beton, test_beton, checkpoint, cfg, expected_arch)
    entry = {"dataset": dataset, "method": method, "loss": loss, "seed": seed, "epochs": epochs, "metrics": metrics}
    write_json(out, entry)
    inputs = [train_beton, test_beton] + ([checkpoint] if checkpoint else [])
    provenance.write_record(out, stage="evaluate", inputs=inputs, params=cfg.model_dump(), seed=seed,
                            wall_time_s=time.perf_counter() - t0, metrics=metrics,
                            env=provenance.environment("cpu", threads))
    log.info("%s/%s/seed%d: %s", dataset, method, seed, metrics)
    return entry


def report(metrics_files: list[str | Path], order: list[str], table_csv: str | Path, table_md: str | Path,
           summary_json: str | Path) -> None:
    """Evaluation JSONs → table1.csv, table1.md and a flat metrics summary (DVC `metrics:`)."""
    from .report import tables

    t0 = time.perf_counter()
    entries = tables.read_metrics(metrics_files)
    rows = tables.build_rows(entries, order)
    write_text(table_csv, tables.to_csv(rows))
    write_text(table_md, tables.to_markdown(rows))
    write_json(summary_json, {f"{r['dataset']}/{r['method']}": {k: r[k] for k in tables.METRICS} for r in rows})
    for out in (table_csv, table_md, summary_json):
        provenance.write_record(out, stage="report", inputs=metrics_files, params={"order": order},
                                wall_time_s=time.perf_counter() - t0)
    log.info("wrote %s (%d rows)", table_csv, len(rows))


def figures(metrics_files: list[str | Path], checkpoints: list[str | Path], order: list[str],
            accuracy_png: str | Path, loss_png: str | Path) -> None:
    import torch

    from .report import figures as fig
    from .report import tables

    t0 = time.perf_counter()
    rows = tables.build_rows(tables.read_metrics(metrics_files), order)
    fig.accuracy_bars(rows, accuracy_png)
    histories = {}
    for ck in checkpoints:
        c = torch.load(ck, map_location="cpu", weights_only=True)
        histories[f"{Path(ck).parts[-4]}/{c['run']['name']} s{c['seed']}"] = c["history"]
    fig.loss_curves(histories, loss_png)
    provenance.write_record(accuracy_png, stage="figures", inputs=metrics_files,
                            wall_time_s=time.perf_counter() - t0)
    provenance.write_record(loss_png, stage="figures", inputs=checkpoints, wall_time_s=time.perf_counter() - t0)


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors whose message already names the problem and the fix (no traceback needed)."""
    from .config import ConfigError
    from .data.beton import BetonError
    from .data.sources import DatasetMissingError
    from .io import DiskFullError
    from .methods.registry import UnknownMethodError
    from .pretrain import CheckpointError, NonFiniteLossError
    from .report.tables import MetricError

    return (ConfigError, BetonError, DatasetMissingError, UnknownMethodError, CheckpointError, NonFiniteLossError,
            DiskFullError, MetricError)


def main(logfile: str | Path | None, stage, *args: Any, **kwargs: Any) -> None:
    """Run one stage from a workflow script: log to the rule's log, turn known errors into one clear line."""
    import sys

    setup_logging(logfile)
    try:
        stage(*args, **kwargs)
    except user_errors() as err:
        log.error("error: %s", err)
        sys.exit(1)
