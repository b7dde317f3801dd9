"""`jessl compare`: a rebuild within the runs' own noise is reproduced, a moved number is not, and tables that
cannot be compared are a clear error."""

from __future__ import annotations

import json

import pytest

from conftest import scored_entry
from jessl import cli
from jessl.config import load
from jessl.report import tables
from jessl.report.compare import CompareError, compare, identity, read_summary, verdict

RUNS = {"random_init": (60.0, 40.0, 55.0, 9.0), "simclr": (93.0, 85.0, 91.0, 18.0), "vicreg": (95.0, 88.0, 94.0, 19.0)}
N = 1000  # test images: intervals about ±1.5 points with 3 seeds


def summary(shift=None, seeds=(0, 1, 2), params="p1", dataset="digits", drop=()):
    """A summary.json built from simulated per-image scores; `shift` moves (method, probe) by some points per
    seed, `seeds` picks which seeds ran (another seed set = other images right or wrong)."""
    shift = shift or {}
    entries = []
    for method, values in RUNS.items():
        if method in drop:
            continue
        for i, s in enumerate(seeds):
            metrics = dict(zip(tables.METRICS, values, strict=True))
            metrics["linear_top1"] += (i - 1) * 0.6  # seed-to-seed spread
            for (m, key), d in shift.items():
                if m == method:
                    metrics[key] += d
            entries.append(scored_entry(method, s, dataset, n=N, loss=method, metrics=metrics))
    rows = tables.build_rows(entries, list(RUNS))
    return json.loads(json.dumps(tables.summary(rows, params, list(seeds))))


def test_a_rebuild_within_the_noise_is_reproduced():
    reported = summary()
    rebuilt = summary(seeds=(3, 4, 5), shift={("simclr", "linear_top1"): 0.4, ("vicreg", "knn_top1"): -0.5})
    checks = compare(reported, rebuilt)
    assert len(checks) == 3 * 4 + 2 * 2  # 3 rows x 4 metrics, 2 methods x 2 probes of P(> random_init)
    assert all(c.reproduced for c in checks), [c.line() for c in checks if not c.reproduced]
    assert any(c.delta != 0 for c in checks)  # the numbers did move
    assert verdict(checks).startswith("REPRODUCED:")


def test_a_number_moved_by_a_few_points_is_not_reproduced():
    checks = compare(summary(), summary(seeds=(3, 4, 5), shift={("simclr", "knn_top1"): -4.0}))
    bad = [c for c in checks if not c.reproduced]
    assert [(c.row, c.key) for c in bad if c.key == "knn_top1"] == [("digits/simclr", "knn_top1")]
    knn = bad[[c.key for c in bad].index("knn_top1")]
    assert 1.0 < knn.tolerance < 4.0 and knn.delta == pytest.approx(-4.0, abs=0.3)
    assert verdict(checks).startswith("NOT REPRODUCED: ")


@pytest.mark.parametrize("rebuilt, message", [
    (lambda: summary(params="p2"), "params differ"),
    (lambda: summary(drop=("vicreg",)), "rows differ: rebuilt lacks ['digits/vicreg']"),
    (lambda: summary(dataset="mnist5k"), "another dataset"),
])
def test_tables_that_cannot_be_compared_are_an_error(rebuilt, message):
    with pytest.raises(CompareError, match=message.replace("[", r"\[").replace("]", r"\]")):
        compare(summary(), rebuilt())


def test_cli_compare_exit_codes_and_one_verdict_line(tmp_path, capsys):
    paths = {}
    for name, s in (("reported", summary()), ("same", summary(seeds=(3, 4, 5))),
                    ("moved", summary(shift={("vicreg", "linear_top1"): 5.0})), ("other", summary(params="p2"))):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(s))
    assert cli.main(["compare", str(paths["reported"]), str(paths["same"])]) == 0
    assert capsys.readouterr().out.strip().startswith("REPRODUCED")
    assert cli.main(["compare", str(paths["reported"]), str(paths["moved"])]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("NOT REPRODUCED") and any("[FAIL] digits/vicreg linear_top1" in line for line in out)
    assert cli.main(["compare", str(paths["reported"]), str(paths["other"])]) == 2
    assert "params differ" in capsys.readouterr().err
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"digits/simclr": {"linear_top1": 90.0}}))
    with pytest.raises(CompareError, match="without `meta`"):
        read_summary(old)
    with pytest.raises(CompareError, match="not in the DVC cache"):
        read_summary("dvc:results/summary.json", root=tmp_path if (tmp_path / "dvc.lock").write_text(
            "stages:\n  table:\n    outs:\n    - path: results/summary.json\n      md5: 0123456789abcdef\n") else ".")


def test_identity_ignores_resources_and_sees_the_recipe():
    from conftest import ROOT

    p = load(ROOT / "params.yaml")
    same = p.model_copy(update={"pretrain": p.pretrain.model_copy(update={"threads": 7})})
    other = p.model_copy(update={"pretrain": p.pretrain.model_copy(update={"epochs": p.pretrain.epochs + 1})})
    assert identity(same) == identity(p) != identity(other)
