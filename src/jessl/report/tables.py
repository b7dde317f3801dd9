"""The results tables and their layouts: table1 (+ its Markdown twin and summary), table2 (transfer), table3
(spectrum), convergence; each cell a mean over seeds with its 95 % interval (`jessl.stats`)."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..evaluate import per_image as _per_image
from ..stats import Interval, accuracy_interval, beats, prob_greater, seed_interval

PROBES = (("linear_top1", "linear"), ("fewshot_top1", "few-label"), ("knn_top1", "k-NN"))
PROBE_NAMES = dict(PROBES)
ACCURACY = tuple(k for k, _ in PROBES)  # the probes with per-image scores (top-1 %)
METRICS = (*ACCURACY, "rankme")  # table1's metric columns, each with `_low` and `_high`
COMPARED = ("linear_top1", "knn_top1")  # the probes of P(method > baseline)
BASELINES = ("random_init", "raw_pixels")


class MetricError(ValueError):
    """An evaluation entry without a usable (finite) metric; the message names the run and its file."""


def read_metrics(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """The evaluation entries, each remembering the file it came from (`path`, for error messages)."""
    entries = []
    for p in paths:
        try:
            entry = json.loads(Path(p).read_text())
        except (OSError, ValueError) as err:
            raise MetricError(f"{p}: not a readable metrics file ({err}); delete it and rerun snakemake") from None
        entries.append({**entry, "path": str(p)} if isinstance(entry, dict) else entry)
    return entries


def check_readable(paths: Iterable[str | Path]) -> list[str]:
    """`paths`, once those already there are checked readable (`MetricError` naming the file otherwise). A
    table's input function calls it, so a truncated metrics file is refused before the job starts: Snakemake
    removes a job's outputs first, and one bad input would take the good tables down with it."""
    paths = [str(p) for p in paths]
    read_metrics([p for p in paths if Path(p).is_file()])
    return paths


def _metric(e: dict[str, Any], m: str) -> float:
    """One metric of one entry, refused unless it is a finite number."""
    value = (e.get("metrics") or {}).get(m)
    where = f"{e['path']}: " if e.get("path") else ""
    run = f"{e.get('dataset')}/{e.get('method')}/seed{e.get('seed')}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MetricError(f"{where}{run} has no numeric {m} (got {value!r}); delete the file and rerun snakemake")
    if not math.isfinite(value):
        raise MetricError(
            f"{where}{run} has {m} = {value}, not a finite number (NaN features?); refusing to put it in the "
            f"table: find the cause in that run's logs (logs/pretrain/, logs/evaluate/), then delete the file "
            f"and rerun snakemake"
        )
    return float(value)


def per_image(e: dict[str, Any], probe: str) -> np.ndarray:
    """One evaluation entry's per-test-image scores in [0, 1] for `probe` (`linear_top1`, `fewshot_top1` or
    `knn_top1`), in the test split's order (format: `jessl.evaluate.per_image`)."""
    where = f"{e['path']}: " if e.get("path") else ""
    run = f"{e.get('dataset')}/{e.get('method')}/seed{e.get('seed')}"
    stored = (e.get("per_image") or {}).get(probe)
    if stored is None:
        raise MetricError(f"{where}{run} has no per-image {probe} scores (written by an older jessl?); delete the "
                          f"file and rerun snakemake")
    try:
        scores = _per_image.decode(stored)
    except (KeyError, TypeError, ValueError) as err:
        raise MetricError(f"{where}{run}: unreadable per-image {probe} scores ({err}); delete the file and rerun "
                          f"snakemake") from None
    n = (e.get("per_image") or {}).get("n")
    if len(scores) != n:
        raise MetricError(f"{where}{run}: {len(scores)} per-image {probe} scores for n = {n} test images; delete "
                          f"the file and rerun snakemake")
    return scores


def per_image_matrix(entries: list[dict[str, Any]], probe: str) -> np.ndarray:
    """(n_seeds, n_images) per-image scores of one row's entries (sorted by seed), refused unless every entry
    scored the same number of test images."""
    rows = [per_image(e, probe) for e in sorted(entries, key=lambda e: e["seed"])]
    if len({len(r) for r in rows}) > 1:
        raise MetricError(f"{entries[0].get('dataset')}/{entries[0].get('method')}: its seeds scored different "
                          f"numbers of test images ({sorted({len(r) for r in rows})}); rerun its evaluations")
    return np.stack(rows)


def _cells(key: str, iv: Interval) -> dict[str, float]:
    """`key`, `key_low`, `key_high` of one interval (2 decimals)."""
    return {key: round(iv.mean, 2), f"{key}_low": round(iv.low, 2), f"{key}_high": round(iv.high, 2)}


def interval_kind(n_seeds: int) -> str:
    """The `interval` column: which bootstrap a row's accuracy intervals are."""
    return "seeds x test images" if n_seeds > 1 else "test images only (1 seed)"


def row_cells(es: list[dict[str, Any]]) -> dict[str, Any]:
    """One row's metric cells over its seeds' entries: each probe's mean with its bootstrap interval over
    seeds × test images (`stats.accuracy_interval` on the per-image scores), RankMe's with its t-interval
    over seeds."""
    cells: dict[str, Any] = {}
    for key in ACCURACY:
        for e in es:
            _metric(e, key)  # a NaN / missing metric is refused with its file's name
        cells.update(_cells(key, accuracy_interval(per_image_matrix(es, key))))
    cells.update(_cells("rankme", seed_interval([_metric(e, "rankme") for e in es])))
    return cells


def _grouped(entries: list[dict[str, Any]], order: list[str] | None,
             key=lambda e: (e["dataset"], e["method"])) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Entries grouped by `key` (dataset, method), in (dataset, configured order, name) order, seeds sorted."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for e in entries:
        groups.setdefault(key(e), []).append(e)
    rank = {m: i for i, m in enumerate(order or [])}
    return [(k, sorted(es, key=lambda e: e["seed"]))
            for k, es in sorted(groups.items(), key=lambda kv: (kv[0][0], rank.get(kv[0][1], 1e9), kv[0][1:]))]


def comparisons(entries: list[dict[str, Any]], method: str, dataset: str) -> dict[str, Any]:
    """P(method > baseline) per baseline of this dataset and compared probe, with its interval
    (`stats.prob_greater` on the per-image scores of the same test images), and the computed `beats`:
    the baselines (probe) whose P's lower bound is above 0.5."""
    if method in BASELINES:
        return {}
    mine = [e for e in entries if e["dataset"] == dataset and e["method"] == method]
    cells: dict[str, Any] = {}
    won = []
    for base in BASELINES:
        theirs = [e for e in entries if e["dataset"] == dataset and e["method"] == base]
        if not theirs:
            continue
        for key in COMPARED:
            p = prob_greater(per_image_matrix(mine, key), per_image_matrix(theirs, key))
            cells.update(_cells(p_column(base, key), p))
            if beats(p):
                won.append(f"{base} ({PROBE_NAMES[key]})")
    cells["beats"] = "; ".join(won) if won else "none"
    return cells


def p_column(baseline: str, key: str) -> str:
    """The column of P(method > baseline) under one probe, e.g. `p_gt_random_init_linear`."""
    return f"p_gt_{baseline}_{key.removesuffix('_top1')}"


def build_rows(entries: list[dict[str, Any]], order: list[str] | None = None) -> list[dict[str, Any]]:
    """table1: one row per (dataset, method) over its seeds: means with 95 % intervals, P(> baselines)."""
    rows = []
    for (dataset, method), es in _grouped(entries, order):
        row: dict[str, Any] = {"dataset": dataset, "method": method, "loss": es[0].get("loss") or "-"}
        row.update(row_cells(es))
        row["epochs"] = es[0]["epochs"]
        row["seed"] = ";".join(str(e["seed"]) for e in es)
        row["n_seeds"] = len(es)
        row["interval"] = interval_kind(len(es))
        row.update(comparisons(entries, method, dataset))
        rows.append(row)
    return rows


def write_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """CSV text of `rows` with these columns (missing cells empty), "\n" line ends on every platform."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _with_bounds(keys: Iterable[str]) -> list[str]:
    return [c for k in keys for c in (k, f"{k}_low", f"{k}_high")]


COLUMNS = ["dataset", "method", "loss", *_with_bounds(METRICS), "epochs", "seed", "n_seeds", "interval",
           *_with_bounds(p_column(b, k) for b in BASELINES for k in COMPARED), "beats"]


def to_csv(rows: list[dict[str, Any]]) -> str:
    return write_csv(rows, COLUMNS)


def summary(rows: list[dict[str, Any]], params_id: str | None = None, seeds: list[int] | None = None) -> dict[str, Any]:
    """`results/summary.json` (a DVC metric): every numeric cell per `dataset/method`; per
    `dataset/baseline/probe` the methods that beat that baseline (P's lower bound above 0.5); and `meta`, what
    `jessl compare` checks before comparing (the params identity, the datasets, the seeds)."""
    out: dict[str, Any] = {f"{r['dataset']}/{r['method']}": {k: r[k] for k in COLUMNS if k in r
                                                             and isinstance(r[k], int | float)
                                                             and k not in ("epochs", "n_seeds")}
                           for r in rows}
    out["beats"] = {f"{r['dataset']}/{b}/{PROBE_NAMES[k]}": [x["method"] for x in rows if x["dataset"] == r["dataset"]
                                                             and f"{b} ({PROBE_NAMES[k]})" in x.get("beats", "")]
                    for r in rows if r["method"] in BASELINES for b in [r["method"]] for k in COMPARED}
    out["meta"] = {"params": params_id, "datasets": sorted({r["dataset"] for r in rows}), "seeds": seeds,
                   "interval": "95 %, bootstrap over seeds x test images (scipy.stats.bootstrap, percentile)"}
    return out


def cell(r: dict[str, Any], key: str) -> str:
    """`mean [low, high]` (2 decimals), or the mean alone where there is no interval."""
    if r.get(key) is None or r.get(key) == "":
        return ""
    if r.get(f"{key}_low") in (None, "") or r[f"{key}_low"] == r[f"{key}_high"] == r[key]:
        return f"{r[key]:.2f}"
    return f"{r[key]:.2f} [{r[f'{key}_low']:.2f}, {r[f'{key}_high']:.2f}]"


INTERVAL_CAPTION = (
    "Cells: mean over seeds [95 % interval]. Accuracy intervals: percentile bootstrap over seeds × test "
    "images (crossed: seeds and test images resampled independently, the same image resample for every "
    "seed drawn; `scipy.stats.bootstrap`, 4000 resamples, fixed seed); a row with one seed (†) has the "
    "test-image bootstrap only, which leaves out seed-to-seed variance. RankMe: t-interval over seeds.")
P_CAPTION = (
    "P(method > baseline): the probability that a seed-run of the method scores a higher top-1 than a "
    "seed-run of the baseline on the same test sample (Bouthillier et al. 2021), ties counted ½, with its "
    "95 % percentile bootstrap interval over seeds × test images. A method beats a baseline when the "
    "interval's lower bound is above 0.5 (computed, not read off the means).")


def to_markdown(rows: list[dict[str, Any]], title: str = "Table 1") -> str:
    head = ["dataset", "method", "loss", "linear top-1 %", "few-label top-1 %", "k-NN top-1 %", "RankMe",
            "epochs", "seeds"]
    lines = [f"**{title}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        dagger = " †" if r["n_seeds"] == 1 else ""
        lines.append("| " + " | ".join([r["dataset"], r["method"] + dagger, r["loss"],
                                         *(cell(r, k) for k in METRICS), str(r["epochs"]), r["seed"]]) + " |")
    lines += [
        "",
        "Linear: logistic regression on standardised frozen backbone features, all training labels. "
        "Few-label: the same with a few labels per class, mean over seeded draws. k-NN: cosine, "
        "exp(s/τ)-weighted votes. RankMe: effective rank of the test features. Baselines: `random_init` "
        "(same backbone, untrained, the same seeds) and `raw_pixels` (the flattened image). " + INTERVAL_CAPTION,
        "",
    ]
    compared = [r for r in rows if "beats" in r]
    bases = [b for b in BASELINES if any(p_column(b, COMPARED[0]) in r for r in compared)]
    if compared and bases:
        head = ["dataset", "method", *(f"P(> {b}) {PROBE_NAMES[k]}" for b in bases for k in COMPARED), "beats"]
        lines += [f"**{title}: P(method > baseline)**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in compared:
            lines.append("| " + " | ".join([r["dataset"], r["method"], *(cell(r, p_column(b, k)) for b in bases
                                                                          for k in COMPARED), r["beats"]]) + " |")
        lines += ["", P_CAPTION, ""]
    return "\n".join(lines)


# --- transfer (table 2) ------------------------------------------------------------------------------


def transfer_column(pair: str, key: str) -> str:
    """The column of one probe on one transfer pair: `{source}_to_{target}_{probe}`."""
    return f"{pair}_{key}"


class Column(NamedTuple):
    """What a table column shows: an evaluation `metric`, on a transfer `pair` (or None), as its mean over
    seeds or an interval bound (`bound`: "mean", "low" or "high")."""

    metric: str
    pair: str | None
    bound: str


def parse_column(column: str) -> Column:
    """`linear_top1_low` → (`linear_top1`, None, "low"); `digits_to_mnist5k_knn_top1` → (`knn_top1`,
    `digits_to_mnist5k`, "mean"); a column that is no metric (`epochs`) → (itself, None, "mean")."""
    bound = next((b for b in ("low", "high") if column.endswith(f"_{b}")), "mean")
    base = column.removesuffix(f"_{bound}") if bound != "mean" else column
    for key in METRICS:
        if base == key:
            return Column(key, None, bound)
        if base.endswith(f"_{key}") and "_to_" in base:
            return Column(key, base.removesuffix(f"_{key}"), bound)
    return Column(column, None, "mean")


def is_table1(rows: list[dict[str, str]]) -> bool:
    """A table with one row per configured (dataset, method) over all seeds (table1's layout)."""
    return bool(rows) and {"dataset", "method", "seed"} <= set(rows[0]) and "pct" not in rows[0]


def transfer_rows(entries: list[dict[str, Any]], order: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per method; per transfer pair and probe the mean top-1 over seeds with its interval (as
    table1), columns `{source}_to_{target}_{probe}` (+ `_low`, `_high`)."""
    rows = []
    pairs = lambda e: f"{e['source']}_to_{e['dataset']}"  # noqa: E731
    for (_, method), es in _grouped(entries, order, key=lambda e: ("", e["method"])):
        row: dict[str, Any] = {"method": method}
        for pair in sorted({pairs(e) for e in es}):
            mine = [e for e in es if pairs(e) == pair]
            for key in ACCURACY:
                row.update(_cells(transfer_column(pair, key), accuracy_interval(per_image_matrix(mine, key))))
        row["seeds"] = ";".join(sorted({str(e["seed"]) for e in es}, key=int))
        rows.append(row)
    return rows


def transfer_pairs(rows: list[dict[str, Any]]) -> list[str]:
    """The `{source}_to_{target}` column groups of transfer rows."""
    return sorted({c.pair for r in rows for k in r for c in [parse_column(k)] if c.pair})


def transfer_csv(rows: list[dict[str, Any]]) -> str:
    return write_csv(rows, ["method", *_with_bounds(transfer_column(p, k) for p in transfer_pairs(rows)
                                                    for k in ACCURACY), "seeds"])


def transfer_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """`results/summary_transfer.json`: every top-1 cell (with its bounds) per method."""
    return {r["method"]: {k: v for k, v in r.items() if parse_column(k).pair} for r in rows}


def transfer_markdown(rows: list[dict[str, Any]]) -> str:
    pairs = transfer_pairs(rows)
    head = ["method"] + [f"{p.replace('_to_', ' → ')} {label} %" for p in pairs for _, label in PROBES]
    lines = ["**Table 2: transfer**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([r["method"], *(cell(r, transfer_column(p, k)) for p in pairs
                                                        for k in ACCURACY)]) + " |")
    lines += ["", "source → target: backbone pretrained on the source and frozen; every probe is fitted on the "
              "target's train split and scored on its test split (top-1 %). `raw_pixels` probes the target's "
              "pixels; `random_init` is the untrained backbone. " + INTERVAL_CAPTION.split(" RankMe")[0], ""]
    return "\n".join(lines)


# --- spectrum (table 3) ------------------------------------------------------------------------------

SPECTRUM_COLUMNS = ["dataset", "method", "features_dim", "features_rankme", "features_rankme_low",
                    "features_rankme_high", "features_collapsed", "projector_dim", "projector_rankme",
                    "projector_rankme_low", "projector_rankme_high", "projector_collapsed", "seeds"]


def spectrum_rows(entries: list[dict[str, Any]], order: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per (dataset, method): dimension, RankMe (mean with its t-interval over seeds) and collapsed
    dimensions of the frozen features and of the projector's output (mean over seeds; collapsed = eigenvalue
    < 1e-6 × the largest)."""
    rows = []
    for (dataset, method), es in _grouped(entries, order):
        row: dict[str, Any] = {"dataset": dataset, "method": method}
        for part in ("features", "projector"):
            parts = [e[part] for e in es if e.get(part)]
            for key in ("dim", "rankme", "collapsed"):
                vals = [p[key] for p in parts]
                same_int = vals and all(isinstance(v, int) for v in vals) and len(set(vals)) == 1
                row[f"{part}_{key}"] = "" if not vals else vals[0] if same_int else round(statistics.fmean(vals), 2)
            if parts:
                row.update(_cells(f"{part}_rankme", seed_interval([p["rankme"] for p in parts])))
        row["seeds"] = ";".join(str(e["seed"]) for e in es)
        rows.append(row)
    return rows


def spectrum_csv(rows: list[dict[str, Any]]) -> str:
    return write_csv(rows, SPECTRUM_COLUMNS)


def spectrum_markdown(rows: list[dict[str, Any]]) -> str:
    head = ["dataset", "method", "feature dim", "feature RankMe", "collapsed feature dims", "projector dim",
            "projector RankMe", "collapsed projector dims", "seeds"]
    shown = ["dataset", "method", "features_dim", "features_rankme", "features_collapsed", "projector_dim",
             "projector_rankme", "projector_collapsed", "seeds"]
    lines = ["**Table 3: spectrum**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(cell(r, c) if c.endswith("rankme") else str(r[c]) for c in shown) + " |")
    lines += ["", "Covariance eigenvalues of the frozen backbone features and of the projector outputs on the "
              "training split; RankMe = effective rank, mean over seeds [95 % t-interval over seeds]; a dimension "
              "is collapsed when its eigenvalue is below 1e-6 of the largest (mean over seeds).", ""]
    return "\n".join(lines)


def spectrum_curves_csv(entries: list[dict[str, Any]]) -> str:
    """Long format for plotting (`dvc plots`): dataset, method, seed, part, index, eigenvalue / largest."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["dataset", "method", "seed", "part", "index", "relative_eigenvalue"])
    for e in sorted(entries, key=lambda e: (e["dataset"], e["method"], e["seed"])):
        for part in ("features", "projector"):
            eigs = (e.get(part) or {}).get("eigenvalues") or []
            if eigs and eigs[0] > 0:
                writer.writerows([e["dataset"], e["method"], e["seed"], part, i + 1, f"{v / eigs[0]:.6g}"]
                                 for i, v in enumerate(eigs))
    return buf.getvalue()


# --- convergence ---------------------------------------------------------------------------------------

CONVERGENCE_COLUMNS = ["dataset", "method", "pct", "epoch", *_with_bounds(ACCURACY), "seeds", "n_seeds"]


def convergence_rows(kept: list[dict[str, Any]], final: list[dict[str, Any]],
                     order: list[str] | None = None) -> list[dict[str, Any]]:
    """Accuracy vs epoch: one row per (dataset, method, % of epochs), each probe's mean over seeds with its
    interval (as table1); 100 % = the final checkpoint's evaluation."""
    methods = {e["method"] for e in kept}
    runs = [*kept, *({**f, "pct": 100} for f in final if f["method"] in methods)]
    rows = []
    by_point = lambda e: (e["dataset"], e["method"], e.get("pct", 100))  # noqa: E731
    for (dataset, method, pct), es in _grouped(runs, order, key=by_point):
        row: dict[str, Any] = {"dataset": dataset, "method": method, "pct": pct, "epoch": es[0]["epochs"]}
        for key in ACCURACY:
            row.update(_cells(key, accuracy_interval(per_image_matrix(es, key))))
        row["seeds"] = ";".join(str(e["seed"]) for e in es)
        row["n_seeds"] = len(es)
        rows.append(row)
    return rows


def untrained(final: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per dataset, the untrained backbone's (`random_init`) cells per probe: the convergence figure's
    reference band."""
    return {r["dataset"]: {k: {"mean": r[k], "low": r[f"{k}_low"], "high": r[f"{k}_high"]} for k in ACCURACY}
            for (dataset, _), es in _grouped([f for f in final if f["method"] == "random_init"], None)
            for r in [{"dataset": dataset, **row_cells(es)}]}


def convergence_csv(rows: list[dict[str, Any]]) -> str:
    return write_csv(rows, CONVERGENCE_COLUMNS)
