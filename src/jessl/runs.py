"""One pretraining run, resolved from a row of the table: its identity (`RunConfig`, `PretrainRun`), the
`pretrain:` keys that are only resources, and the learning-rate scaling."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError, model_validator

from .merge import deep_merge
from .methods import registry
from .schema import AugmentConfig, MethodConfig, ModelConfig, OptimConfig, Strict, _problem

if TYPE_CHECKING:
    from .config import Params

OVERRIDDEN_BLOCKS = ("optim", "model", "augment")


class _Problems(Exception):
    """Problems of one run's resolved configuration, one line each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def kept_epoch(pct: int, epochs: int) -> int:
    """The epoch at which the `pct` % checkpoint of a run is taken (0 = the initial weights)."""
    return round(pct * epochs / 100)


def kept_clash(keep: list[int], epochs: int) -> str | None:
    """Why checkpoints kept at `keep` % of `epochs` would not be distinct points of the run, or None: two at
    one epoch, or one at the untrained 0 or at the final epoch (byte-identical files under different names)."""
    at = [kept_epoch(q, epochs) for q in keep]
    if len(set(at)) == len(at) and all(0 < e < epochs for e in at):
        return None
    fix = (f"each must fall on a distinct epoch in 1..{epochs - 1}" if epochs >= 2 else
           "no epoch lies between the untrained and the final one")
    return (f"{keep} % of {epochs} epoch(s) are epochs {at}: kept checkpoints would coincide (with each other, the "
            f"untrained epoch 0 or the final epoch {epochs}); keep fewer percentages or train more epochs ({fix})")


def scaled_lr(optim: OptimConfig, batch_size: int) -> float:
    """The learning rate the schedule peaks at: `optim.lr`, × batch_size/256 under `lr_scaling: linear`
    (Goyal et al. 2017; solo-learn's yaml lr is per 256 images of the global batch)."""
    return optim.lr * batch_size / 256 if optim.lr_scaling == "linear" else optim.lr


# `pretrain:` keys that are resources of a job, not part of its result (`PretrainRun` leaves them out):
# threads, GPUs, which checkpoints are also kept, and the CUDA speed-ups (on CPU they are not applied,
# so a run's bytes stay a function of its params and seed).
RESOURCES = {"threads", "gpus", "keep_epochs", "compile", "channels_last"}


class PretrainRun(Strict):
    """The part of `pretrain:` that changes a run's result (threads, GPUs, compile, … are `RESOURCES`)."""

    epochs: int = Field(ge=0)
    batch_size: int = Field(ge=2)
    num_views: int = Field(ge=2)
    checkpoint_every: int = Field(ge=1)
    online_probe: bool = False


class RunConfig(Strict):
    """One pretraining run, resolved: the loss and its hyper-parameters, model, augmentations, optimiser.

    Plain data only at the Snakemake `params:` boundary (`to_params` / `RunConfig.model_validate`); the
    final checkpoint and the run record store `to_params()`.
    """

    name: str
    loss: str | None
    hparams: dict[str, Any]
    target_ema: float | None
    model: ModelConfig
    augment: AugmentConfig
    optim: OptimConfig
    lr: float = Field(gt=0.0, description="the rate the schedule peaks at: optim.lr, scaled (`scaled_lr`)")
    pretrain: PretrainRun

    @model_validator(mode="after")
    def _schedule(self) -> RunConfig:
        o, batch = self.optim, self.pretrain.batch_size
        want = scaled_lr(o, batch)
        if not math.isclose(self.lr, want, rel_tol=1e-12):
            raise ValueError(f"lr={self.lr} but optim.lr={o.lr} with lr_scaling {o.lr_scaling!r} and batch_size "
                             f"{batch} gives {want}; resolve runs with Params.run_config")
        how = f" (optim.lr {o.lr} × batch_size {batch} / 256)" if o.lr_scaling == "linear" else ""
        for key in ("warmup_start_lr", "min_lr"):
            if getattr(o, key) > self.lr:
                raise ValueError(f"optim.{key}={getattr(o, key)} is above the run's learning rate {want}{how}; "
                                 f"lower {key} or raise lr")
        return self

    def to_params(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @property
    def method(self) -> registry.Method | None:
        """The registered loss (None for the untrained `random_init`)."""
        return registry.get(self.loss) if self.loss else None


def resolve(p: Params, row: str, changes: Mapping[str, Any] | None = None, name: str | None = None) -> RunConfig:
    """The one derivation of a run from a row of `p` (use `Params.run_config`, which caches it): the row's
    shorthands and partial `optim:`/`model:`/`augment:` blocks merged over the global ones, `changes` (keys of
    a `methods:` row, e.g. a claim's epochs or hparams) merged over the row's own first, the peak rate scaled
    for the run's batch size (`scaled_lr`). Raises `_Problems`, one line per problem."""
    pre = p.pretrain.model_dump(exclude=RESOURCES)  # not part of the run's result
    blocks = {key: getattr(p, key) for key in OVERRIDDEN_BLOCKS}
    if row == "random_init":
        where, loss, hparams, target_ema = row, None, {}, None
        pre["epochs"] = 0
    else:
        where, m = f"methods.{row}", p.methods[row]
        if changes:
            try:
                m = MethodConfig.model_validate(deep_merge(m.model_dump(exclude_unset=True), dict(changes)))
            except ValidationError as err:
                raise _Problems([_problem(where, e) for e in err.errors()]) from None
        method = registry.get(m.loss or row)
        loss, hparams = method.name, {**method.hparams, **m.hparams}
        target_ema = m.target_ema if method.needs_target else None
        pre["epochs"] = pre["epochs"] if m.epochs is None else m.epochs
        pre["num_views"] = m.num_views or pre["num_views"]
        pre["batch_size"] = m.batch_size or pre["batch_size"]
        overrides = {"optim": m.optim if m.lr is None else {**m.optim, "lr": m.lr},
                     "model": m.model, "augment": m.augment}
        problems = []
        for key, over in overrides.items():
            if not over:
                continue
            base = blocks[key]  # merged over what the user wrote, so defaults and validators apply as usual
            try:
                blocks[key] = type(base).model_validate(deep_merge(base.model_dump(exclude_unset=True), over))
            except ValidationError as err:
                problems += [_problem(f"{where}.{key}", e) for e in err.errors()]
        if problems:
            raise _Problems(problems)
    pretrain = PretrainRun(**pre)
    try:
        return RunConfig(name=name or row, loss=loss, hparams=hparams, target_ema=target_ema, **blocks,
                         lr=scaled_lr(blocks["optim"], pretrain.batch_size), pretrain=pretrain)
    except ValidationError as err:
        raise _Problems([_problem(where, e) for e in err.errors()]) from None
