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


def to_csv(rows: list[dict[str, Any]]) -> str:
    extra = sorted({k for r in rows for k in r} - set(COLUMNS))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS + extra, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def to_markdown(rows: list[dict[str, Any]], title: str = "Table 1") -> str:
    head = ["dataset", "method", "loss", "linear top-1 %", "few-label top-1 %", "k-NN top-1 %", "RankMe",
            "epochs", "seeds"]
    lines = [f"# {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
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
