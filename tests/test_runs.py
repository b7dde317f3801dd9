"""Run resolution (one derivation of a run from its row, cached), what a stage records and what the audit
expects, the one deep merge and the one "distinct values in range" list type."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from conftest import ROOT
from jessl.claims import sweep as C
from jessl.config import ConfigError, load
from jessl.merge import MergeError, deep_merge
from jessl.recorded import expected_params, stage_params
from jessl.schema import Distinct


@pytest.fixture(scope="module")
def p():
    return load(ROOT / "params.yaml")


def test_a_run_is_resolved_once_per_params_and_change(p):
    run = p.run_config("simclr")
    assert p.run_config("simclr") is run
    short = p.run_config("simclr", changes={"epochs": 1}, rename="x")
    assert short is not run and (short.name, short.pretrain.epochs) == ("x", 1)
    assert short.model_copy(update={"name": "simclr", "pretrain": run.pretrain}) == run  # nothing else changed
    copy = p.model_copy(update={"seeds": [0, 1]})
    assert copy.run_config("simclr") == run and copy.run_config("simclr") is not run  # a copy has its own cache


def test_a_claim_point_is_its_row_with_changes(p):
    point = C.derive(p, "simclr", name="ablation/simclr-batch16", epochs=1, batch_size=16, warmup_epochs=0)
    assert point is p.run_config("simclr", changes={"epochs": 1, "batch_size": 16, "optim": {"warmup_epochs": 0}},
                                 rename="ablation/simclr-batch16")
    row = p.run_config("simclr")
    want = row.optim.lr * 16 / 256 if row.optim.lr_scaling == "linear" else row.optim.lr
    assert point.lr == pytest.approx(want) and point.optim.warmup_epochs == 0 and point.pretrain.batch_size == 16


def test_a_bad_change_is_named_like_a_bad_row(p):
    with pytest.raises(ConfigError, match=r"methods\.simclr\.epochs: Input should be greater than or equal to 0"):
        p.run_config("simclr", changes={"epochs": -1})
    with pytest.raises(ConfigError, match=r"methods\.simclr\.optim\.warmup_epochs: Input should be greater"):
        p.run_config("simclr", changes={"optim": {"warmup_epochs": -2}})


@pytest.mark.parametrize("stage, what", [
    ("pretrain", lambda p: {"name": "vicreg"}),
    ("evaluate", lambda p: {}),
    ("convert", lambda p: {"dataset": "digits", "split": "test"}),
    ("manifest", lambda p: {"dataset": "digits"}),
])
def test_the_audit_expects_what_the_stage_records(p, stage, what):
    params = what(p)
    recorded = {
        "pretrain": lambda: stage_params(stage, run=p.run_config("vicreg")),
        "evaluate": lambda: stage_params(stage, evaluate=p.evaluate),
        "convert": lambda: stage_params(stage, dataset="digits", data=p.datasets["digits"], split="test"),
        "manifest": lambda: stage_params(stage, dataset="digits", data=p.datasets["digits"]),
    }[stage]()
    assert expected_params(p, {"stage": stage, "params": {**params, **recorded}}) == recorded
    assert recorded.get("dataset", "digits") == "digits" and recorded.get("name", "vicreg") == "vicreg"


def test_the_audit_has_no_say_on_what_the_config_does_not_name(p):
    assert expected_params(p, {"stage": "pretrain", "params": {"name": "reference/random_init"}}) is None
    assert expected_params(p, {"stage": "convert", "params": {"dataset": "elsewhere"}}) is None
    assert expected_params(p, {"stage": "claims_theory", "params": {}}) is None
    with pytest.raises(ValueError, match="stage 'table' records no config params"):
        stage_params("table")


def test_deep_merge_merges_mappings_replaces_the_rest_and_keeps_mappings():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": None}
    assert deep_merge(base, {"a": {"y": [3]}, "b": {"c": 1}}) == {"a": {"x": 1, "y": [3]}, "b": {"c": 1}}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": None}
    assert deep_merge({"a": {}}, {"a": None}) == {"a": None}  # an empty mapping loses nothing
    with pytest.raises(MergeError, match=r"^a\.x: null would discard the mapping"):
        deep_merge({"a": {"x": {"k": 1}}}, {"a": {"x": None}})


@pytest.mark.parametrize("kind, value, out", [
    (Distinct(int, "percentages", gt=0, lt=100, sort=True), [75, 25], [25, 75]),
    (Distinct(int, "percentages", gt=0, lt=100), [75, 25], [75, 25]),
    (Distinct(int, "view counts", ge=2), [2, 8, 4], [2, 8, 4]),
    (Distinct(float, "percentages", gt=0, lt=100), [0.5, 99.5], [0.5, 99.5]),
    (Distinct(int, "batch sizes", ge=2), [], []),
])
def test_distinct_accepts_distinct_values_in_range(kind, value, out):
    assert TypeAdapter(kind).validate_python(value) == out


@pytest.mark.parametrize("kind, value, message", [
    (Distinct(int, "percentages", gt=0, lt=100), [0], "need distinct percentages in (0, 100), got [0]"),
    (Distinct(int, "percentages", gt=0, lt=100), [100], "need distinct percentages in (0, 100), got [100]"),
    (Distinct(int, "percentages", gt=0, lt=100, note=" (why)"), [5, 5],
     "need distinct percentages in (0, 100), got [5, 5] (why)"),
    (Distinct(int, "view counts", ge=2), [1, 2], "need distinct view counts >= 2, got [1, 2]"),
    (Distinct(int, "labels", ge=0), [3, -1], "need distinct labels >= 0, got [3, -1]"),
])
def test_distinct_refuses_repeats_and_values_out_of_range(kind, value, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        TypeAdapter(kind).validate_python(value)
