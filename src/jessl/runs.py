"""One pretraining run, resolved from a row of the table: its identity (`RunConfig`, `PretrainRun`), the
`pretrain:` keys that are only resources, and the learning-rate scaling."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, model_validator

from .methods import registry
from .schema import AugmentConfig, ModelConfig, OptimConfig, Strict

OVERRIDDEN_BLOCKS = ("optim", "model", "augment")


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`base` with `over`'s keys; mappings merge key by key, everything else (lists too) is replaced."""
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _deep_merge(out[key], value) if both else value
    return out


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
