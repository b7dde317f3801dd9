"""The experiment's configuration (`params.yaml` or a profile in `config/`), typed and validated once.

Unknown keys, unknown methods, unknown hyper-parameters and out-of-range values are errors that
name the key and the allowed values. Snakemake and DVC read the same file.

`Params` aggregates the blocks of `schema` and the claims' section (`claims.schema`); a row's run is
`Params.run_config` (`runs.resolve`, cached). The names of `schema`, `runs`, `recorded`, `yamlio` and
`errors` are re-exported, so `from jessl.config import X` reaches all of them. Imports no torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from .claims.schema import AblationClaim, ClaimsConfig, ConvergenceClaim, DualityClaim
from .errors import ConfigError
from .methods import registry
from .recorded import expected_params
from .runs import OVERRIDDEN_BLOCKS, RESOURCES, PretrainRun, RunConfig, _Problems, kept_clash, resolve, scaled_lr
from .schema import (
    FOLDER_JPEG_QUALITY,
    FOLDER_MAX_RESOLUTION,
    NAME,
    AugmentConfig,
    DatasetConfig,
    EvaluateConfig,
    MethodConfig,
    ModelConfig,
    OptimConfig,
    PretrainConfig,
    Strict,
    _check_names,
    _problem,
    check_seeds,
)
from .yamlio import StrictLoader, read_yaml

__all__ = [
    "BASELINES", "FOLDER_JPEG_QUALITY", "FOLDER_MAX_RESOLUTION", "NAME", "OVERRIDDEN_BLOCKS", "RESOURCES",
    "AblationClaim", "AugmentConfig", "ClaimsConfig", "ConfigError", "ConvergenceClaim", "DatasetConfig",
    "DualityClaim", "EvaluateConfig", "MethodConfig", "ModelConfig", "OptimConfig", "Params", "PretrainConfig",
    "PretrainRun", "RunConfig", "Strict", "StrictLoader", "expected_params", "load", "read_yaml", "scaled_lr",
    "validate",
]

BASELINES = ("random_init", "raw_pixels")


class Params(Strict):
    """The whole of params.yaml."""

    datasets: dict[str, DatasetConfig] = Field(min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    methods: dict[str, MethodConfig] = Field(min_length=1)
    baselines: list[Literal["random_init", "raw_pixels"]] = Field(default_factory=lambda: list(BASELINES))
    model: ModelConfig = ModelConfig()
    augment: AugmentConfig = AugmentConfig()
    optim: OptimConfig = OptimConfig()
    pretrain: PretrainConfig = PretrainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    transfer: dict[str, list[str]] = Field(
        default_factory=dict, description="pretraining dataset → datasets its frozen backbones are probed on")
    claims: ClaimsConfig | None = Field(None, description="the papers' claims as sweeps (`snakemake claims`)")
    _runs: dict[str, RunConfig] = PrivateAttr(default_factory=dict)  # `run_config`'s resolved runs

    @field_validator("methods", mode="before")
    @classmethod
    def _none_is_empty(cls, v: Any) -> Any:
        # `simclr:` with nothing under it in YAML means "all defaults".
        if isinstance(v, dict):
            return {k: ({} if c is None else c) for k, c in v.items()}
        return v

    @field_validator("datasets", "methods")
    @classmethod
    def _names(cls, v: dict[str, Any]) -> dict[str, Any]:
        _check_names(v)
        return v

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:
        return check_seeds(v)

    @model_validator(mode="after")
    def _check_methods(self) -> Params:
        """Each row's hyper-parameters against its loss's signature (names, types, bounds) and its
        number of views; every problem is reported, one line each."""
        problems = []
        for name, m in self.methods.items():
            if name in BASELINES:
                raise ValueError(f"methods.{name}: {name!r} is a baseline; list it under `baselines`")
            method = registry.get(m.loss or name)
            try:
                method.validate_hparams(m.hparams)
            except registry.HparamError as err:
                problems += [f"methods.{name}.hparams.{key}: {msg}" for key, msg in err.problems.items()]
            try:
                method.check_views(m.num_views or self.pretrain.num_views)
            except ValueError as err:
                problems.append(f"{f'methods.{name}' if m.num_views else 'pretrain'}.num_views: {err}")
        if problems:
            raise ValueError("\n  - ".join(problems))  # `_format` gives each its own line
        return self

    @model_validator(mode="after")
    def _check_rows(self) -> Params:
        """Rows that would not be what they say: per-method blocks that are invalid once merged,
        `target_ema` without a target network, 0 epochs (untrained), two rows that resolve to one run."""
        problems: list[str] = []
        seen: dict[str, RunConfig] = {}
        for name, m in self.methods.items():
            try:
                run = resolve(self, name)
            except registry.UnknownMethodError:
                continue  # reported by _check_methods
            except _Problems as err:
                problems += err.lines
                continue
            method = run.method
            if "target_ema" in m.model_fields_set and not method.needs_target:
                problems.append(
                    f"methods.{name}.target_ema: {method.name!r} has no target network, so target_ema would do "
                    f"nothing; remove it (target methods: "
                    f"{', '.join(k for k, v in registry.METHODS.items() if v.needs_target)})"
                )
            key = f"methods.{name}.epochs" if m.epochs is not None else "pretrain.epochs"
            if run.pretrain.epochs == 0 and not any(p.startswith(f"{key}:") for p in problems):  # once per key
                problems.append(
                    f"{key}: 0 epochs leaves methods.{name} untrained, i.e. the random_init baseline under another "
                    f"name; set epochs >= 1"
                )
            clash = self.pretrain.keep_epochs and kept_clash(self.pretrain.keep_epochs, run.pretrain.epochs)
            if clash:
                whose = f" (methods.{name}.epochs)" if m.epochs is not None else ""
                problems.append(f"pretrain.keep_epochs{whose}: {clash}")
            views, per_view = run.pretrain.num_views, run.augment.per_view
            if len(per_view) > views:
                key = f"methods.{name}.augment" if "per_view" in m.augment else "augment"
                rows = f"methods.{name}" if "per_view" in m.augment or m.num_views else "the runs"
                problems.append(f"{key}.per_view: {len(per_view)} entries, but {rows} train(s) {views} views, so "
                                f"entries {views}.. would be ignored; remove them or raise num_views")
            same = next((other for other, r in seen.items() if r == run.model_copy(update={"name": other})), None)
            if same is not None:
                problems.append(
                    f"methods.{name} is the same run as methods.{same} (loss {method.name!r}, same hparams and "
                    f"overrides); remove one or change its hparams"
                )
            seen[name] = run
        if "random_init" in self.baselines:
            try:
                resolve(self, "random_init")
            except _Problems as err:
                problems += err.lines
        if problems:
            raise ValueError("\n  - ".join(dict.fromkeys(problems)))  # `_format` gives each its own line
        return self

    # --- what each stage reads -------------------------------------------------------------
    @model_validator(mode="after")
    def _check_transfer(self) -> Params:
        if not self.table_datasets:
            raise ValueError("datasets: none has role main; table1 needs at least one (role: main is the default)")
        for src, targets in self.transfer.items():
            if src not in self.pretrain_datasets:
                raise ValueError(f"transfer.{src}: not a dataset that is pretrained on; pretrained: "
                                 f"{', '.join(self.pretrain_datasets)} (role main or source)")
            for t in targets:
                if t not in self.datasets or t == src:
                    raise ValueError(f"transfer.{src}: target {t!r} must be another dataset under `datasets`")
            if len(set(targets)) != len(targets):
                raise ValueError(f"transfer.{src}: a target is listed twice: {targets}")
            for t in targets:
                a, b = self.datasets[src], self.datasets[t]
                if (a.source, a.root) == (b.source, b.root) and (shared := _shared_classes(a.classes, b.classes)):
                    raise ValueError(
                        f"transfer.{src}: target {t!r} shares classes {shared} with {src!r} (same source "
                        f"{a.source!r}), so its column would not measure transfer to unseen classes; make their "
                        f"`classes` disjoint")
        named = {d for pair in self.transfer_pairs for d in pair}
        for d, c in self.datasets.items():
            if c.role != "main" and d not in named:
                raise ValueError(
                    f"datasets.{d}: role {c.role} but no `transfer:` entry names it, so nothing would be built from "
                    f"it; pair it in `transfer:` (source: [targets]) or remove it")
        return self

    @model_validator(mode="after")
    def _check_claims(self) -> Params:
        if self.claims is not None:
            self.claims.check(self)
        return self

    @property
    def runs(self) -> list[str]:
        """Table rows: the baselines first, then the methods."""
        return [*self.baselines, *self.methods]

    @property
    def pretrain_datasets(self) -> list[str]:
        """Datasets the methods are pretrained on (roles main and source)."""
        return [d for d, c in self.datasets.items() if c.role != "target"]

    @property
    def table_datasets(self) -> list[str]:
        """Datasets of table1 (role main): pretrained on and probed on their own test split."""
        return [d for d, c in self.datasets.items() if c.role == "main"]

    @property
    def transfer_pairs(self) -> list[tuple[str, str]]:
        return [(s, t) for s, ts in self.transfer.items() for t in ts]

    def backbone(self, name: str) -> str:
        """The backbone architecture of a row's checkpoints (a row may override `model.backbone`)."""
        return self.run_config(name).model.backbone if name in self.methods else self.model.backbone

    def run_config(self, name: str, *, changes: Mapping[str, Any] | None = None,
                   rename: str | None = None) -> RunConfig:
        """Everything one pretraining job depends on (Snakemake `params:` gets `.to_params()`): row `name`
        resolved by `runs.resolve` (its `changes`, keys of a `methods:` row, over its own; named `rename`),
        once per (row, changes, name) for this `Params`."""
        if name == "raw_pixels":
            raise ConfigError("raw_pixels has no pretraining; it is evaluated on the pixels directly")
        if name != "random_init" and name not in self.methods:
            raise ConfigError(f"no row {name!r}; rows: {', '.join(self.runs)}")
        key = json.dumps([name, rename, changes], sort_keys=True, default=repr)
        if key not in self._runs:
            try:
                self._runs[key] = resolve(self, name, changes, rename)
            except _Problems as err:  # only for a Params built without validation, or bad `changes`
                raise ConfigError("\n".join(err.lines)) from None
        return self._runs[key]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Params:
        """A copy with its own (empty) cache of resolved runs: `update` may change them."""
        copy = super().model_copy(update=update, deep=deep)
        copy.__pydantic_private__ = {"_runs": {}}
        return copy


def _shared_classes(a: list[int] | None, b: list[int] | None) -> list[int] | str | None:
    """The classes two subsets of one dataset share ('all' where one keeps every class), or None."""
    if a is None or b is None:
        return "all" if (a or b) is None else sorted(a or b)
    return sorted(set(a) & set(b)) or None


def _format(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        if e["loc"]:
            lines.append(f"  - {_problem('', e)}")
        else:  # a top-level (model) validator may report several problems, one per "\n  - " line
            lines += [f"  - {m}" for m in e["msg"].removeprefix("Value error, ").split("\n  - ")]
    return "\n".join([f"{source}: invalid configuration ({len(lines)} problem(s)):", *lines])


def validate(data: dict[str, Any], source: str = "params.yaml") -> Params:
    """Validate a parsed params mapping; raise `ConfigError` naming every bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Params.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format(err, source)) from None
    except registry.UnknownMethodError as err:
        raise ConfigError(f"{source}: {err}") from None


def load(path: str | Path = "params.yaml") -> Params:
    """Read and validate a params file (duplicate keys and YAML errors included)."""
    data = read_yaml(path)
    return validate({} if data is None else data, str(path))
