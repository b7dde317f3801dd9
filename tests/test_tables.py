"""The multi-seed table path: means with intervals over seeds and test images, P(> baseline), the seed lists,
and the CSV / Markdown / summary rendering."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from conftest import scored_entry
from jessl.report import tables
from jessl.report.tables import COLUMNS, METRICS, build_rows, to_csv, to_markdown
from jessl.stats import accuracy_interval

# Per seed: linear, few-label, k-NN, RankMe (top-1 on 200 test images: multiples of 0.5).
SIMCLR = {2: (97.0, 80.0, 91.0, 18.5), 0: (90.0, 84.0, 90.0, 17.0), 1: (92.0, 86.0, 93.0, 19.0)}
UNTRAINED = {0: (60.0, 40.0, 55.0, 9.0), 1: (62.0, 41.0, 57.0, 9.5), 2: (61.0, 39.0, 54.0, 8.5)}


def _entry(method, seed, values, loss=None, dataset="digits"):
    return scored_entry(method, seed, dataset, loss=loss, metrics=dict(zip(METRICS, values, strict=True)))


def _entries():
    return [
        _entry("vicreg", 0, (98.0, 94.0, 97.0, 19.0), loss="vicreg"),
        *(_entry("simclr", s, v, loss="simclr") for s, v in SIMCLR.items()),  # seeds arrive out of order
        *(_entry("random_init", s, v) for s, v in UNTRAINED.items()),
        _entry("raw_pixels", 0, (96.0, 88.0, 97.0, 25.8)),
        _entry("simclr", 0, (50.0, 50.0, 50.0, 5.0), loss="simclr", dataset="cifar10"),  # another dataset
    ]


def _rows():
    return {(r["dataset"], r["method"]): r for r in build_rows(_entries(), ["random_init", "raw_pixels", "simclr",
                                                                           "vicreg"])}


def test_build_rows_means_with_intervals_over_seeds_and_images():
    rows = build_rows(_entries(), order=["random_init", "raw_pixels", "simclr", "vicreg"])
    assert [(r["dataset"], r["method"]) for r in rows] == [
        ("cifar10", "simclr"), ("digits", "random_init"), ("digits", "raw_pixels"), ("digits", "simclr"),
        ("digits", "vicreg"),
    ]
    simclr = rows[3]
    assert simclr["seed"] == "0;1;2" and simclr["n_seeds"] == 3 and simclr["loss"] == "simclr"
    assert simclr["epochs"] == 12 and simclr["interval"] == "seeds x test images"
    for i, metric in enumerate(METRICS):
        assert simclr[metric] == pytest.approx(round(np.mean([v[i] for v in SIMCLR.values()]), 2))
        assert simclr[f"{metric}_low"] < simclr[metric] < simclr[f"{metric}_high"]
    # linear: 90, 92, 97 → mean 93, interval = stats.accuracy_interval of the same per-image scores
    scores = tables.per_image_matrix([e for e in _entries() if e["method"] == "simclr" and e["dataset"] == "digits"],
                                     "linear_top1")
    iv = accuracy_interval(scores)
    assert (simclr["linear_top1"], simclr["linear_top1_low"], simclr["linear_top1_high"]) == (
        93.0, round(iv.low, 2), round(iv.high, 2))
    # RankMe: the t-interval over the three seeds (t_{0.975, 2} = 4.3027)
    sd = np.std([17.0, 19.0, 18.5], ddof=1)
    assert simclr["rankme_high"] == pytest.approx(round(np.mean([17.0, 19.0, 18.5]) + 4.302653 * sd / np.sqrt(3), 2))
    # one seed: the test-image bootstrap alone, labelled; RankMe without an interval; no loss → "-"
    vicreg, raw = rows[4], rows[2]
    assert vicreg["linear_top1"] == 98.0 and vicreg["n_seeds"] == 1
    assert vicreg["interval"] == "test images only (1 seed)"
    assert vicreg["linear_top1_low"] < 98.0 < vicreg["linear_top1_high"]
    assert vicreg["rankme_low"] == vicreg["rankme_high"] == 19.0 and raw["loss"] == "-"


def test_more_seeds_of_a_spread_method_widen_its_interval():
    """Seed-to-seed spread enters the interval: the same images with the seeds' accuracies spread apart."""
    tight = build_rows([_entry("m", s, (90.0, 80.0, 90.0, 5.0)) for s in range(3)])[0]
    spread = build_rows([_entry("m", s, (v, 80.0, 90.0, 5.0)) for s, v in enumerate((84.0, 90.0, 96.0))])[0]
    assert spread["linear_top1"] == tight["linear_top1"] == 90.0
    assert spread["linear_top1_high"] - spread["linear_top1_low"] > tight["linear_top1_high"] - tight["linear_top1_low"]


def test_p_greater_than_baselines_and_beats_are_computed():
    rows = _rows()
    simclr = rows["digits", "simclr"]
    assert simclr["p_gt_random_init_linear"] == 1.0 and simclr["p_gt_random_init_linear_low"] > 0.5
    assert "random_init (linear)" in simclr["beats"] and "random_init (k-NN)" in simclr["beats"]
    assert simclr["p_gt_raw_pixels_linear"] < 0.5 and "raw_pixels" not in simclr["beats"]
    assert "p_gt_random_init_linear" not in rows["digits", "random_init"]  # baselines are not compared
    assert "p_gt_random_init_linear" not in rows["cifar10", "simclr"]  # no baseline on that dataset
    assert rows["cifar10", "simclr"]["beats"] == "none"
    summary = tables.summary(list(rows.values()))
    assert summary["beats"]["digits/random_init/linear"] == ["simclr", "vicreg"]
    assert summary["beats"]["digits/raw_pixels/k-NN"] == []
    assert summary["digits/simclr"]["linear_top1_low"] == simclr["linear_top1_low"]


def test_identical_runs_do_not_beat_each_other():
    same = [_entry(m, s, (90.0, 80.0, 90.0, 5.0)) for m in ("random_init", "copy") for s in range(3)]
    for e in same:  # the same per-image scores for both methods
        e["per_image"] = same[0]["per_image"] if e["seed"] == 0 else same[1 if e["seed"] == 1 else 2]["per_image"]
    row = {r["method"]: r for r in build_rows(same)}["copy"]
    assert row["p_gt_random_init_linear"] == 0.5 and row["beats"] == "none"


def test_to_csv_has_the_documented_columns():
    rows = list(_rows().values())
    reader = csv.DictReader(io.StringIO(to_csv(rows)))
    assert reader.fieldnames == COLUMNS
    parsed = {(r["dataset"], r["method"]): r for r in reader}
    simclr = parsed["digits", "simclr"]
    assert (simclr["linear_top1"], simclr["seed"], simclr["n_seeds"]) == ("93.0", "0;1;2", "3")
    assert float(simclr["linear_top1_low"]) < 93.0 < float(simclr["linear_top1_high"])
    assert parsed["digits", "random_init"]["beats"] == ""


def test_to_markdown_renders_mean_and_interval_and_names_the_method():
    rows = list(_rows().values())
    md = to_markdown(rows, title="T")
    lines = md.splitlines()
    assert lines[0] == "**T**"
    table, p_table = md.split("**T: P(method > baseline)**")
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines() if line.startswith("| ")]
    assert cells[0][:4] == ["dataset", "method", "loss", "linear top-1 %"]
    body = {(c[0], c[1]): c for c in cells[1:]}
    simclr = _rows()["digits", "simclr"]
    assert body["digits", "simclr"][3] == (f"93.00 [{simclr['linear_top1_low']:.2f}, "
                                           f"{simclr['linear_top1_high']:.2f}]")
    assert body["digits", "simclr"][8] == "0;1;2"
    assert ("digits", "vicreg †") in body and body["digits", "vicreg †"][6] == "19.00"  # 1 seed: no RankMe interval
    assert "bootstrap over seeds × test images" in md and "test-image bootstrap only" in md
    assert "Bouthillier et al. 2021" in p_table
    p_rows = {(c[0], c[1]): c for c in ([c.strip() for c in line.strip("|").split("|")]
                                        for line in p_table.splitlines() if line.startswith("| "))}
    assert p_rows["digits", "simclr"][-1] == simclr["beats"]


@pytest.mark.parametrize("column, parsed", [
    ("linear_top1", ("linear_top1", None, "mean")), ("knn_top1_low", ("knn_top1", None, "low")),
    ("rankme_high", ("rankme", None, "high")),
    ("digits_to_mnist5k_knn_top1", ("knn_top1", "digits_to_mnist5k", "mean")),
    ("digits_0to4_to_digits_5to9_fewshot_top1_high", ("fewshot_top1", "digits_0to4_to_digits_5to9", "high")),
    ("epochs", ("epochs", None, "mean")),
])
def test_parse_column(column, parsed):
    assert tables.parse_column(column) == parsed
