"""`results/table1.csv` (+ a Markdown twin): one row per (dataset, method), mean over seeds."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COLUMNS = [
    "dataset", "method", "loss", "linear_top1", "fewshot_top1", "knn_top1", "rankme", "epochs", "seed", "n_seeds",
]
METRICS = ("linear_top1", "fewshot_top1", "knn_top1", "rankme")


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


def build_rows(entries: list[dict[str, Any]], order: list[str] | None = None) -> list[dict[str, Any]]:
    """Group evaluation entries by (dataset, method); average each metric over seeds."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in entries:
        groups.setdefault((e["dataset"], e["method"]), []).append(e)
    rank = {m: i for i, m in enumerate(order or [])}
    rows = []
    for (dataset, method), es in sorted(groups.items(), key=lambda kv: (kv[0][0], rank.get(kv[0][1], 1e9), kv[0][1])):
        es.sort(key=lambda e: e["seed"])
        row: dict[str, Any] = {"dataset": dataset, "method": method, "loss": es[0].get("loss") or "-"}
        for m in METRICS:
            vals = [_metric(e, m) for e in es]
            row[m] = round(statistics.fmean(vals), 2)
            if len(vals) > 1:
                row[f"{m}_std"] = round(statistics.stdev(vals), 2)
        row["epochs"] = es[0]["epochs"]
        row["seed"] = ";".join(str(e["seed"]) for e in es)
        row["n_seeds"] = len(es)
        rows.append(row)
    return rows


def write_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """CSV text of `rows` with these columns (missing cells empty), "\n" line ends on every platform."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def to_csv(rows: list[dict[str, Any]]) -> str:
    return write_csv(rows, COLUMNS + sorted({k for r in rows for k in r} - set(COLUMNS)))


def to_markdown(rows: list[dict[str, Any]], title: str = "Table 1") -> str:
    head = ["dataset", "method", "loss", "linear top-1 %", "few-label top-1 %", "k-NN top-1 %", "RankMe",
            "epochs", "seeds"]
    lines = [f"**{title}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    def cell(r: dict[str, Any], m: str) -> str:
        std = r.get(f"{m}_std")
        return f"{r[m]:.2f}" + (f" ± {std:.2f}" if std is not None else "")

    for r in rows:
        lines.append("| " + " | ".join([r["dataset"], r["method"], r["loss"], cell(r, "linear_top1"),
                                         cell(r, "fewshot_top1"), cell(r, "knn_top1"), cell(r, "rankme"),
                                         str(r["epochs"]), r["seed"]]) + " |")
    lines += [
        "",
        "Linear: logistic regression on standardised frozen backbone features, all training labels. "
        "Few-label: the same with a few labels per class, mean over seeded draws. k-NN: cosine, "
        "exp(s/τ)-weighted votes. RankMe: effective rank of the test features. Baselines: `random_init` "
        "(same backbone, untrained) and `raw_pixels` (the flattened image).",
        "",
    ]
    return "\n".join(lines)


# --- transfer (table 2) ------------------------------------------------------------------------------

PROBES = (("linear_top1", "linear"), ("fewshot_top1", "few-label"), ("knn_top1", "k-NN"))


def _mean(vals: list[float]) -> float:
    return round(statistics.fmean(vals), 2)


def transfer_rows(entries: list[dict[str, Any]], order: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per method; columns `{source}_to_{target}_{probe}` (top-1 %, mean over seeds) per transfer pair."""
    rank = {m: i for i, m in enumerate(order or [])}
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for e in entries:
        groups.setdefault(e["method"], {}).setdefault(f"{e['source']}_to_{e['dataset']}", []).append(e)
    rows = []
    for method, by_pair in sorted(groups.items(), key=lambda kv: (rank.get(kv[0], 1e9), kv[0])):
        row: dict[str, Any] = {"method": method}
        for pair in sorted(by_pair):
            for key, _ in PROBES:
                row[f"{pair}_{key}"] = _mean([e["metrics"][key] for e in by_pair[pair]])
        row["seeds"] = ";".join(sorted({str(e["seed"]) for es in by_pair.values() for e in es}))
        rows.append(row)
    return rows


def transfer_pairs(rows: list[dict[str, Any]]) -> list[str]:
    """The `{source}_to_{target}` column groups of transfer rows."""
    return sorted({k.removesuffix(f"_{key}") for r in rows for k in r for key, _ in PROBES if k.endswith(f"_{key}")})


def transfer_csv(rows: list[dict[str, Any]]) -> str:
    return write_csv(rows, ["method"] + [f"{p}_{k}" for p in transfer_pairs(rows) for k, _ in PROBES] + ["seeds"])


def transfer_markdown(rows: list[dict[str, Any]]) -> str:
    pairs = transfer_pairs(rows)
    head = ["method"] + [f"{p.replace('_to_', ' → ')} {label} %" for p in pairs for _, label in PROBES]
    lines = ["**Table 2: transfer**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["method"]] + [f"{r[f'{p}_{k}']:.2f}" if f"{p}_{k}" in r else "" for p in pairs for k, _ in PROBES]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "source → target: backbone pretrained on the source and frozen; every probe is fitted on the "
              "target's train split and scored on its test split (top-1 %). `raw_pixels` probes the target's "
              "pixels; `random_init` is the untrained backbone.", ""]
    return "\n".join(lines)


# --- spectrum (table 3) ------------------------------------------------------------------------------

SPECTRUM_COLUMNS = ["dataset", "method", "features_dim", "features_rankme", "features_collapsed",
                    "projector_dim", "projector_rankme", "projector_collapsed", "seeds"]


def spectrum_rows(entries: list[dict[str, Any]], order: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per (dataset, method): dimension, RankMe and collapsed dimensions of the frozen features and of
    the projector's output (mean over seeds; collapsed = eigenvalue < 1e-6 × the largest)."""
    rank = {m: i for i, m in enumerate(order or [])}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in entries:
        groups.setdefault((e["dataset"], e["method"]), []).append(e)
    rows = []
    for (dataset, method), es in sorted(groups.items(), key=lambda kv: (kv[0][0], rank.get(kv[0][1], 1e9), kv[0][1])):
        row: dict[str, Any] = {"dataset": dataset, "method": method}
        for part in ("features", "projector"):
            parts = [e[part] for e in es if e.get(part)]
            for key in ("dim", "rankme", "collapsed"):
                vals = [p[key] for p in parts]
                same_int = vals and all(isinstance(v, int) for v in vals) and len(set(vals)) == 1
                row[f"{part}_{key}"] = "" if not vals else vals[0] if same_int else _mean(vals)
        row["seeds"] = ";".join(str(e["seed"]) for e in sorted(es, key=lambda e: e["seed"]))
        rows.append(row)
    return rows


def spectrum_csv(rows: list[dict[str, Any]]) -> str:
    return write_csv(rows, SPECTRUM_COLUMNS)


def spectrum_markdown(rows: list[dict[str, Any]]) -> str:
    head = ["dataset", "method", "feature dim", "feature RankMe", "collapsed feature dims", "projector dim",
            "projector RankMe", "collapsed projector dims"]
    lines = ["**Table 3: spectrum**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(str(r[c]) for c in SPECTRUM_COLUMNS[:-1]) + " |")
    lines += ["", "Covariance eigenvalues of the frozen backbone features and of the projector outputs on the "
              "training split; RankMe = effective rank; a dimension is collapsed when its eigenvalue is below "
              "1e-6 of the largest.", ""]
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

CONVERGENCE_COLUMNS = ["dataset", "method", "seed", "pct", "epoch", "linear_top1", "fewshot_top1", "knn_top1"]


def convergence_rows(kept: list[dict[str, Any]], final: list[dict[str, Any]],
                     order: list[str] | None = None) -> list[dict[str, Any]]:
    """Accuracy vs epoch, long format: one row per (dataset, method, seed, % of epochs); 100 % = the final
    checkpoint's evaluation."""
    rank = {m: i for i, m in enumerate(order or [])}
    methods = {e["method"] for e in kept}
    rows = [{"dataset": e["dataset"], "method": e["method"], "seed": e["seed"], "pct": e.get("pct", 100),
             "epoch": e["epochs"], **{k: e["metrics"][k] for k, _ in PROBES}}
            for e in [*kept, *(f for f in final if f["method"] in methods)]]
    return sorted(rows, key=lambda r: (r["dataset"], rank.get(r["method"], 1e9), r["method"], r["seed"], r["pct"]))


def convergence_csv(rows: list[dict[str, Any]]) -> str:
    return write_csv(rows, CONVERGENCE_COLUMNS)
