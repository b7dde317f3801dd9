"""The params each stage writes into its run records, and what a config expects them to be (`jessl audit`
compares the two): one function says what is recorded, for the stages and for the audit alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Params
    from .runs import RunConfig
    from .schema import DatasetConfig, EvaluateConfig


def stage_params(stage: str, *, dataset: str | None = None, data: DatasetConfig | None = None,
                 split: str | None = None, run: RunConfig | None = None,
                 evaluate: EvaluateConfig | None = None) -> dict[str, Any]:
    """The `params` of a run record of `stage`: the resolved run (pretrain), the probes' settings (evaluate),
    what a dataset's converted split or folder manifest depends on (convert, manifest)."""
    if stage == "pretrain":
        return run.to_params()
    if stage == "evaluate":
        return evaluate.model_dump()
    if stage == "convert":
        return {"dataset": dataset, **data.data_params(), "split": split}
    if stage == "manifest":
        return {"dataset": dataset, **data.manifest_params()}
    raise ValueError(f"stage {stage!r} records no config params; stages: pretrain, evaluate, convert, manifest")


def expected_params(p: Params, record: dict[str, Any]) -> dict[str, Any] | None:
    """The params the config `p` would record for the output of `record` (None if it has no say)."""
    params, stage = record.get("params") or {}, record.get("stage")
    dataset = params.get("dataset")
    if stage == "pretrain" and params.get("name") in p.runs:
        return stage_params(stage, run=p.run_config(params["name"]))
    if stage == "evaluate":
        return stage_params(stage, evaluate=p.evaluate)
    if stage in ("convert", "manifest") and dataset in p.datasets:
        return stage_params(stage, dataset=dataset, data=p.datasets[dataset], split=params.get("split"))
    return None
