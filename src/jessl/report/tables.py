"""`results/table1.csv` (+ a Markdown twin): one row per (dataset, method), mean over seeds."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COLUMNS = [
    "dataset", "method", "loss", "linear_top1", "fewshot_top1", "knn_top1", "rankme", "epochs", "seed", "n_seeds",
]
METRICS = ("linear_top1", "fewshot_top1", "knn_top1", "rankme")


def read_metrics(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    return [json.loads(Path(p).read_text()) for p in paths]


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
            vals = [e["metrics"][m] for e in es]
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
