"""The multi-seed table path: mean and sample std over seeds, seed lists, and the CSV / Markdown rendering."""

from __future__ import annotations

import csv
import io
import math

import pytest

from jessl.report.tables import COLUMNS, METRICS, build_rows, to_csv, to_markdown

# Per seed: linear, few-label, k-NN, RankMe.
SIMCLR = {2: (97.0, 80.0, 91.0, 18.5), 0: (90.0, 84.0, 90.0, 17.0), 1: (92.0, 86.0, 93.0, 19.0)}


def _entry(method, seed, values, loss=None, epochs=12, dataset="digits"):
    return {"dataset": dataset, "method": method, "loss": loss, "seed": seed, "epochs": epochs,
            "metrics": dict(zip(METRICS, values, strict=True))}


def _entries():
    return [
        _entry("vicreg", 0, (98.0, 94.1, 97.2, 19.0), loss="vicreg"),
        *(_entry("simclr", s, v, loss="simclr") for s, v in SIMCLR.items()),  # seeds arrive out of order
        _entry("raw_pixels", 0, (96.11, 87.83, 96.94, 25.8), epochs=0),
        _entry("simclr", 0, (50.0, 50.0, 50.0, 5.0), loss="simclr", dataset="cifar10"),  # another dataset
    ]


def _mean_std(values):
    m = sum(values) / len(values)
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))  # sample std (n − 1)


def test_build_rows_averages_seeds_with_sample_std():
    rows = build_rows(_entries(), order=["raw_pixels", "simclr", "vicreg"])
    assert [(r["dataset"], r["method"]) for r in rows] == [
        ("cifar10", "simclr"), ("digits", "raw_pixels"), ("digits", "simclr"), ("digits", "vicreg"),
    ]
    simclr = rows[2]
    assert simclr["seed"] == "0;1;2" and simclr["n_seeds"] == 3 and simclr["loss"] == "simclr"
    assert simclr["epochs"] == 12
    for i, metric in enumerate(METRICS):
        mean, std = _mean_std([v[i] for v in SIMCLR.values()])
        assert simclr[metric] == pytest.approx(round(mean, 2))
        assert simclr[f"{metric}_std"] == pytest.approx(round(std, 2))
    # linear: 90, 92, 97 → mean 93, sample std √13 = 3.61 (the population std would be 2.94)
    assert (simclr["linear_top1"], simclr["linear_top1_std"]) == (93.0, 3.61)
    # a single seed: its value, no std columns; no loss → "-"
    vicreg, raw = rows[3], rows[1]
    assert vicreg["linear_top1"] == 98.0 and vicreg["seed"] == "0" and vicreg["n_seeds"] == 1
    assert not any(k.endswith("_std") for k in vicreg) and raw["loss"] == "-"


def test_to_csv_has_std_columns_and_empty_cells_for_single_seeds():
    rows = build_rows(_entries(), order=["raw_pixels", "simclr", "vicreg"])
    text = to_csv(rows)
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == COLUMNS + sorted(f"{m}_std" for m in METRICS)
    parsed = {(r["dataset"], r["method"]): r for r in reader}
    simclr = parsed["digits", "simclr"]
    assert (simclr["linear_top1"], simclr["linear_top1_std"]) == ("93.0", "3.61")
    assert (simclr["seed"], simclr["n_seeds"]) == ("0;1;2", "3")
    assert parsed["digits", "vicreg"]["linear_top1_std"] == ""
    # one seed everywhere: exactly the documented columns, no std
    single = to_csv(build_rows([e for e in _entries() if e["method"] != "simclr"]))
    assert single.splitlines()[0] == ",".join(COLUMNS)


def test_to_markdown_renders_mean_plus_minus_std():
    rows = build_rows(_entries(), order=["raw_pixels", "simclr", "vicreg"])
    lines = to_markdown(rows, title="T").splitlines()
    assert lines[0] == "**T**"
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines if line.startswith("| ")]
    assert cells[0][:4] == ["dataset", "method", "loss", "linear top-1 %"]
    body = {(c[0], c[1]): c for c in cells[1:]}
    mean, std = _mean_std([v[1] for v in SIMCLR.values()])
    simclr = body["digits", "simclr"]
    assert simclr[3] == "93.00 ± 3.61"
    assert simclr[4] == f"{round(mean, 2):.2f} ± {round(std, 2):.2f}"
    assert simclr[-1] == "0;1;2"
    vicreg = body["digits", "vicreg"]
    assert vicreg[3:7] == ["98.00", "94.10", "97.20", "19.00"] and "±" not in "".join(vicreg)
