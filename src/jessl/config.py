"""The experiment's configuration (`params.yaml` or a profile in `config/`), typed and validated once.

Unknown keys, unknown methods, unknown hyper-parameters and out-of-range values are errors that
name the key and the allowed values. Snakemake and DVC read the same file.
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .methods import registry

BASELINES = ("random_init", "raw_pixels")


class ConfigError(ValueError):
    """A bad configuration; the message names the key and the fix."""


# Dataset and row names become folder names and Snakemake wildcard alternatives (`a|b|…`): only
# characters that are literal in a regular expression and safe in a path.
NAME = re.compile(r"[A-Za-z0-9_]+")


def _check_names(names: Any) -> None:
    for name in names:
        if not isinstance(name, str) or not NAME.fullmatch(name):
            fixed = re.sub(r"[^A-Za-z0-9_]+", "_", str(name)).strip("_") or "x"
            raise ValueError(
                f"name {name!r} may only use letters, digits and _ (it names folders and Snakemake wildcards); "
                f"rename it, e.g. {fixed!r}"
            )


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


FOLDER_MAX_RESOLUTION = 256  # longest side of an image folder's stored JPEGs (FFCV's ImageNet recipe)
FOLDER_JPEG_QUALITY = 90  # FFCV's RGBImageField default


class DatasetConfig(Strict):
    source: Literal["digits", "mnist5k", "cifar10", "cifar100", "stl10", "folder"] = "digits"
    root: str | None = Field(None, description="where the raw dataset lives (not used by digits/mnist5k)")
    download: bool = False
    image_size: int = Field(16, ge=8, le=512)
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0, description="digits/mnist5k/folder: held-out share")
    split_seed: int = 0
    classes: list[int] | None = Field(None, min_length=1, description="keep only these labels (after the split)")
    role: Literal["main", "source", "target"] = Field(
        "main", description="main: pretrained, in table1; source: pretrained for transfer only; target: probed only")
    unlabeled: bool = Field(False, description="stl10: pretrain on train + the 100k unlabeled images (probes: "
                                               "train/test only)")
    max_resolution: int | None = Field(None, ge=8, description="folder: longest side of the JPEGs stored in the "
                                                                ".beton (default 256)")
    jpeg_quality: int | None = Field(None, ge=1, le=100, description="folder: JPEG quality in the .beton "
                                                                     "(default 90)")

    @field_validator("classes")
    @classmethod
    def _distinct_labels(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (len(set(v)) != len(v) or min(v) < 0):
            raise ValueError(f"need distinct labels >= 0, got {v}")
        return v

    @model_validator(mode="after")
    def _source_keys(self) -> DatasetConfig:
        """Keys that only mean something for one source are errors elsewhere (they would do nothing)."""
        if self.unlabeled and self.source != "stl10":
            raise ValueError(f"unlabeled: only STL-10 has an unlabeled split (source is {self.source!r}); "
                             f"remove `unlabeled`")
        if self.unlabeled and self.classes is not None:
            raise ValueError("unlabeled: the unlabeled images have no class, so `classes` cannot select them; "
                             "remove `classes` or `unlabeled`")
        for key in ("max_resolution", "jpeg_quality"):
            if key in self.model_fields_set and self.source != "folder":
                raise ValueError(f"{key}: only image folders are stored as JPEG (source is {self.source!r}; "
                                 f"it is stored raw); remove `{key}`")
        if self.source == "folder":
            fixed = {"max_resolution": self.max_resolution or FOLDER_MAX_RESOLUTION,
                     "jpeg_quality": self.jpeg_quality or FOLDER_JPEG_QUALITY}
            object.__setattr__(self, "max_resolution", fixed["max_resolution"])
            object.__setattr__(self, "jpeg_quality", fixed["jpeg_quality"])
            if self.max_resolution < self.image_size:
                raise ValueError(f"max_resolution: {self.max_resolution} is below image_size {self.image_size} "
                                 f"(images would be stored smaller than they are read); raise it to >= "
                                 f"{self.image_size}")
        return self

    def data_params(self) -> dict[str, Any]:
        """What the converted data depends on (the role only decides what is done with it); keys that do
        not apply to the source are left out, so adding them changed no existing dataset's params."""
        skip = {"role"} | ({"unlabeled"} if not self.unlabeled else set())
        skip |= {"max_resolution", "jpeg_quality"} if self.source != "folder" else set()
        return self.model_dump(mode="json", exclude=skip)

    def manifest_params(self) -> dict[str, Any]:
        """What an image folder's manifest (its files, their classes and splits) depends on."""
        return self.model_dump(mode="json", include={"source", "root", "test_fraction", "split_seed", "classes"})


class AugmentConfig(Strict):
    """One view's batched SSL augmentations (applied in torch, on the training device), in the order
    crop → flip → colour jitter → grayscale → blur → solarise → noise (SimCLR / BYOL, solo-learn's keys).

    `per_view[i % len(per_view)]` overrides any of these keys for view i (BYOL's asymmetric recipe).
    """

    crop_scale: tuple[float, float] = Field((0.5, 1.0), description="RandomResizedCrop area share range")
    crop_ratio: tuple[float, float] = Field((0.75, 4 / 3), description="RandomResizedCrop aspect (w/h) range")
    flip_prob: float = Field(0.0, ge=0.0, le=1.0, description="horizontal flip probability")
    color_jitter_prob: float = Field(1.0, ge=0.0, le=1.0, description="probability of the colour jitter")
    brightness: float = Field(0.4, ge=0.0, description="factor drawn from [max(0, 1-b), 1+b]")
    contrast: float = Field(0.4, ge=0.0, description="factor drawn from [max(0, 1-c), 1+c]")
    saturation: float = Field(0.0, ge=0.0, description="factor drawn from [max(0, 1-s), 1+s]")
    hue: float = Field(0.0, ge=0.0, le=0.5, description="hue shift drawn from [-hue, hue] (turns)")
    grayscale_prob: float = Field(0.0, ge=0.0, le=1.0)
    blur_prob: float = Field(0.0, ge=0.0, le=1.0, description="Gaussian blur, kernel ≈ 10 % of the side")
    blur_sigma: tuple[float, float] = Field((0.1, 2.0), description="blur sigma range, in pixels")
    solarize_prob: float = Field(0.0, ge=0.0, le=1.0, description="solarisation at threshold 0.5 of [0, 1]")
    noise_std: float = Field(0.0, ge=0.0, description="additive Gaussian noise, in [0,1] pixel units")
    per_view: list[dict[str, Any]] = Field(
        default_factory=list, description="partial overrides of the keys above; view i uses per_view[i % len]")

    @field_validator("crop_scale", "crop_ratio", "blur_sigma")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= v[1]:
            raise ValueError(f"need 0 < low <= high, got {list(v)}")
        return v

    @field_validator("crop_scale")
    @classmethod
    def _at_most_whole(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[1] > 1:
            raise ValueError(f"the crop's area share cannot exceed the image (1.0), got {list(v)}; use e.g. [0.2, 1.0]")
        return v

    @field_validator("per_view")
    @classmethod
    def _overrides(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        keys = set(cls.model_fields) - {"per_view"}
        for i, o in enumerate(v):
            if not isinstance(o, dict):
                raise ValueError(f"per_view[{i}] must be a mapping of augment keys, got {o!r}")
            unknown = sorted(set(o) - keys)
            if unknown:
                raise ValueError(f"per_view[{i}]: unknown key(s) {unknown}; allowed: {sorted(keys)}")
        return v

    @model_validator(mode="after")
    def _views_valid(self) -> AugmentConfig:
        base = self.model_dump(exclude={"per_view"})
        for i, o in enumerate(self.per_view):
            try:
                AugmentConfig(**{**base, **o})
            except ValidationError as err:
                probs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                                  for e in err.errors())
                raise ValueError(f"per_view[{i}] gives an invalid view: {probs}") from None
        return self

    def view(self, i: int) -> AugmentConfig:
        """View i's parameters: `per_view[i % len(per_view)]` over the base (no per_view of its own)."""
        if not self.per_view:
            return self
        base = self.model_dump(exclude={"per_view"})
        return AugmentConfig(**{**base, **self.per_view[i % len(self.per_view)]})


class ModelConfig(Strict):
    backbone: Literal["resnet_tiny", "resnet18", "resnet50"] = "resnet_tiny"
    stem: Literal["cifar", "imagenet"] = Field(
        "cifar", description="cifar: 3×3 stride-1 conv, no max-pool (small images); imagenet: torchvision's 7×7 "
                             "stride-2 conv + max-pool (solo-learn for STL-10 and ImageNet)")
    projector: list[int] = Field(default_factory=lambda: [128, 128], min_length=1)
    predictor_hidden: int = Field(128, ge=1, description="BYOL-style predictor (target methods only)")
    sync_bn: bool = Field(False, description="under DDP (world > 1): BatchNorm statistics over the global batch "
                                             "(SyncBatchNorm); one process has them already")

    @model_validator(mode="after")
    def _tiny_is_cifar(self) -> ModelConfig:
        if self.backbone == "resnet_tiny" and self.stem != "cifar":
            raise ValueError("stem: resnet_tiny has only the cifar stem (it is sized for 16-32 px images); use "
                             "stem: cifar, or backbone: resnet18 for the imagenet stem")
        return self

    @field_validator("projector")
    @classmethod
    def _widths(cls, v: list[int]) -> list[int]:
        if any(w < 1 for w in v):
            raise ValueError(f"every layer width must be >= 1, got {v} (a 0-wide layer cuts the loss off from "
                             f"the backbone); remove the 0 or give the layer a width")
        return v


class OptimConfig(Strict):
    """The optimiser and its warm-up + cosine schedule (solo-learn's meanings of the keys)."""

    name: Literal["adamw", "sgd", "lars"] = "adamw"
    lr: float = Field(2e-3, gt=0.0, description="peak learning rate; per 256 images under lr_scaling: linear")
    lr_scaling: Literal["none", "linear"] = Field(
        "none", description="linear: the run's lr is lr × pretrain.batch_size / 256 (Goyal et al. 2017; solo-learn)")
    weight_decay: float = Field(1e-4, ge=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="sgd and lars")
    eta: float = Field(1e-3, gt=0.0, description="lars: trust coefficient η of the ratio η‖w‖/‖g + λw‖")
    clip_lr: bool = Field(False, description="lars: a layer's rate is min(lr·ratio, lr) (LARC clipping)")
    exclude_bias_n_norm: bool = Field(
        False, description="biases and normalisation parameters get no weight decay (any optimiser) and no "
                           "LARS trust ratio")
    warmup_epochs: int = Field(2, ge=0)
    warmup_start_lr: float = Field(0.0, ge=0.0, description="the linear warm-up rises from this rate to the lr")
    min_lr: float = Field(0.0, ge=0.0, description="the cosine decay ends at this rate (absolute, not scaled)")


class PretrainConfig(Strict):
    epochs: int = Field(30, ge=0)
    batch_size: int = Field(128, ge=2)
    num_views: int = Field(2, ge=2)
    checkpoint_every: int = Field(1, ge=1, description="epochs between resumable checkpoints")
    keep_epochs: list[int] = Field(
        default_factory=list, description="also keep checkpoints at these % of each run's epochs (convergence)")

    @field_validator("keep_epochs")
    @classmethod
    def _keep_percent(cls, v: list[int]) -> list[int]:
        if any(not 0 < q < 100 for q in v) or len(set(v)) != len(v):
            raise ValueError(f"need distinct percentages in (0, 100), got {v} (100 % is the final checkpoint)")
        return sorted(v)
    threads: int = Field(2, ge=1, description="Snakemake `threads:` of a pretraining job")
    gpus: int = Field(0, ge=0, description="Snakemake `resources: gpu=` of a pretraining job")
    compile: bool = Field(False, description="torch.compile the trained network (CUDA only; a resource)")
    channels_last: bool = Field(False, description="channels-last model and inputs (CUDA only; a resource)")
    online_probe: bool = Field(
        False, description="train a linear classifier on detached backbone features during pretraining, "
        "logged per epoch (solo-learn's online linear evaluation); it never changes the backbone")


class MethodConfig(Strict):
    """One row of the table: a registered loss with its hyper-parameters."""

    loss: str | None = Field(None, description="registry name; defaults to the row's name")
    hparams: dict[str, Any] = Field(default_factory=dict)
    lr: float | None = Field(None, gt=0.0, description="overrides optim.lr for this method")
    epochs: int | None = Field(None, ge=0, description="overrides pretrain.epochs for this method")
    num_views: int | None = Field(None, ge=2, description="overrides pretrain.num_views (multi-view FroSSL)")
    target_ema: float = Field(0.99, ge=0.0, lt=1.0, description="EMA base of target methods (BYOL), in [0, 1)")
    batch_size: int | None = Field(None, ge=2, description="overrides pretrain.batch_size for this method")
    # Partial blocks, deep-merged over the global ones and validated after the merge (`Params.run_config`).
    optim: dict[str, Any] = Field(default_factory=dict, description="keys of `optim:` for this method")
    model: dict[str, Any] = Field(default_factory=dict, description="keys of `model:` for this method")
    augment: dict[str, Any] = Field(default_factory=dict, description="keys of `augment:` (incl. per_view)")

    @model_validator(mode="after")
    def _one_lr(self) -> MethodConfig:
        if self.lr is not None and "lr" in self.optim:
            raise ValueError(f"lr ({self.lr}) and optim.lr ({self.optim['lr']}) both set this method's learning "
                             f"rate; keep one")
        return self


OVERRIDDEN_BLOCKS = ("optim", "model", "augment")


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`base` with `over`'s keys; mappings merge key by key, everything else (lists too) is replaced."""
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _deep_merge(out[key], value) if both else value
    return out


class EvaluateConfig(Strict):
    knn_k: int = Field(20, ge=1)
    knn_temperature: float = Field(0.07, gt=0.0)
    linear_c: float = Field(1.0, gt=0.0, description="inverse L2 strength of the logistic probe")
    few_shot_per_class: int = Field(10, ge=1)
    few_shot_repeats: int = Field(5, ge=1)
    label_fractions: list[float] = Field(
        default_factory=list, description="% of training labels for extra linear probes (semi-supervised view)")
    batch_size: int = Field(512, ge=1)

    @field_validator("label_fractions")
    @classmethod
    def _percent(cls, v: list[float]) -> list[float]:
        if any(not 0 < f < 100 for f in v) or len(set(v)) != len(v):
            raise ValueError(f"need distinct percentages in (0, 100), got {v} (100 % is the linear probe)")
        return v


class Params(Strict):
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
        for i, s in enumerate(v):
            if s < 0:
                raise ValueError(f"seed {s} is negative (seeds name folders seed<N>); use seeds >= 0")
            if s in v[:i]:
                raise ValueError(f"seed {s} is listed twice (it would be counted as two seeds); list each seed once")
        return v

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
                run = self._resolve(name)
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
            same = next((other for other, r in seen.items() if r == run.model_copy(update={"name": other})), None)
            if same is not None:
                problems.append(
                    f"methods.{name} is the same run as methods.{same} (loss {method.name!r}, same hparams and "
                    f"overrides); remove one or change its hparams"
                )
            seen[name] = run
        if "random_init" in self.baselines:
            try:
                self._resolve("random_init")
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

    def run_config(self, name: str) -> RunConfig:
        """Everything one pretraining job depends on (Snakemake `params:` gets `.to_params()`): the row's
        shorthands and partial `optim:`/`model:`/`augment:` blocks merged over the global ones."""
        if name == "raw_pixels":
            raise ConfigError("raw_pixels has no pretraining; it is evaluated on the pixels directly")
        if name != "random_init" and name not in self.methods:
            raise ConfigError(f"no row {name!r}; rows: {', '.join(self.runs)}")
        try:
            return self._resolve(name)
        except _Problems as err:  # only for a Params built without validation
            raise ConfigError("\n".join(err.lines)) from None

    def _resolve(self, name: str) -> RunConfig:
        pre = self.pretrain.model_dump(exclude=RESOURCES)  # not part of the run's result
        blocks = {key: getattr(self, key) for key in OVERRIDDEN_BLOCKS}
        if name == "random_init":
            where, loss, hparams, target_ema = name, None, {}, None
            pre["epochs"] = 0
        else:
            where, m = f"methods.{name}", self.methods[name]
            method = registry.get(m.loss or name)
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
                    blocks[key] = type(base).model_validate(_deep_merge(base.model_dump(exclude_unset=True), over))
                except ValidationError as err:
                    problems += [_problem(f"{where}.{key}", e) for e in err.errors()]
            if problems:
                raise _Problems(problems)
        pretrain = PretrainRun(**pre)
        try:
            return RunConfig(name=name, loss=loss, hparams=hparams, target_ema=target_ema, **blocks,
                             lr=scaled_lr(blocks["optim"], pretrain.batch_size), pretrain=pretrain)
        except ValidationError as err:
            raise _Problems([_problem(where, e) for e in err.errors()]) from None


class _Problems(Exception):
    """Problems of one run's resolved configuration, one line each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


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


def _known_keys() -> list[str]:
    models = [Params, *Strict.__subclasses__()]
    return sorted({k for m in models for k in m.model_fields})


def expected_params(p: Params, record: dict[str, Any]) -> dict[str, Any] | None:
    """The params the config `p` would record for the output of `record` (None if it has no say)."""
    params, stage = record.get("params") or {}, record.get("stage")
    if stage == "pretrain" and params.get("name") in p.runs:
        return p.run_config(params["name"]).to_params()
    if stage == "evaluate":
        return p.evaluate.model_dump()
    if stage == "convert" and params.get("dataset") in p.datasets:
        cfg = p.datasets[params["dataset"]].data_params()
        return {"dataset": params["dataset"], **cfg, "split": params.get("split")}
    if stage == "manifest" and params.get("dataset") in p.datasets:
        return {"dataset": params["dataset"], **p.datasets[params["dataset"]].manifest_params()}
    return None


def _problem(prefix: str, e: Any) -> str:
    """One pydantic error as `key.path: message` (`prefix` first), with a spelling hint for unknown keys."""
    loc = ".".join(str(p) for p in (prefix, *e["loc"]) if p != "")
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(e["loc"][-1]), _known_keys(), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "remove it or fix its spelling"
        msg = f"unknown key; {hint}"
    return f"{loc}: {msg}"


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


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, line: int, first: int) -> None:
        super().__init__(f"line {line}: key {key!r} appears twice (first on line {first}); keep one")


class StrictLoader(yaml.SafeLoader):
    """yaml's SafeLoader, except that a key written twice in one mapping is an error (PyYAML keeps the
    last one, so the first block would vanish without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in first:
                    raise _DuplicateKey(key, line, first[key])
            except TypeError:  # an unhashable key: SafeLoader reports it below
                continue
            first[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> Any:
    """Parse a params file strictly; every problem is one `ConfigError` line naming the file and line."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such params file; write one with `jessl profile NAME` (e.g. embedded)")
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, not a params file; pass a YAML file such as params.yaml")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read it ({err.strerror}); check its permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not a UTF-8 text file (byte 0x{raw[err.start]:02x} at offset {err.start}); "
            f"pass a YAML params file such as params.yaml"
        ) from None
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader)
    except _DuplicateKey as err:
        raise ConfigError(f"{path}, {err}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = err.problem or err.context or "invalid YAML"
        if err.context and err.context_mark and err.problem and err.context_mark.line != getattr(mark, "line", None):
            problem += f" ({err.context} that starts on line {err.context_mark.line + 1})"
        fix = ("YAML indents with spaces, not tabs; replace the tab" if "\\t" in problem
               else "check the indentation, brackets and quotes there")
        raise ConfigError(f"{path}{where}: YAML syntax error: {problem}; {fix}") from None
    except yaml.YAMLError as err:  # e.g. reader errors: control characters in the text
        detail = " ".join(str(err).split())
        raise ConfigError(f"{path}: not a readable YAML file ({detail}); pass a YAML params file") from None


def load(path: str | Path = "params.yaml") -> Params:
    """Read and validate a params file (duplicate keys and YAML errors included)."""
    data = read_yaml(path)
    return validate({} if data is None else data, str(path))


# --- claims: the papers' claims as pipeline targets (workflow/rules/claims.smk, jessl.claims) ---------------

class DualityClaim(Strict):
    """Garrido et al. 2023: contrastive ≈ non-contrastive after tuning; each row swept under one budget."""

    epochs: int = Field(3, ge=1, description="epochs of every sweep point (one budget)")
    sweeps: dict[str, dict[str, list[Any]]] = Field(
        min_length=1, description="table1 row → hyper-parameter → values (a grid: one point per combination)")
    contrastive: list[str] = Field(
        min_length=1, description="sample-contrastive rows (Prop. 3.2); the rest are dimension-contrastive")
    dims: list[int] = Field(default_factory=list, description="projector output dimensions of figures/dim_sweep.png")
    dim_rows: list[str] = Field(default_factory=list, description="rows swept over `dims` (at their recipe)")
    tolerance: float = Field(1.0, ge=0.0, description="top-1 points within which two results count as equal")

    @field_validator("sweeps")
    @classmethod
    def _values(cls, v: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, list[Any]]]:
        for row, grid in v.items():
            for key, values in grid.items():
                if not values or len(set(map(repr, values))) != len(values):
                    raise ValueError(f"sweeps.{row}.{key}: need distinct values, got {values}")
        return v

    @field_validator("dims")
    @classmethod
    def _dims(cls, v: list[int]) -> list[int]:
        if any(d < 1 for d in v) or len(set(v)) != len(v):
            raise ValueError(f"need distinct dimensions >= 1, got {v}")
        return v


class ConvergenceClaim(Strict):
    """Skean et al. 2024: FroSSL (2, 4, 8 views) reaches a fraction of its final accuracy in fewer epochs."""

    epochs: int = Field(4, ge=1)
    keep_epochs: list[int] = Field(
        default_factory=lambda: [25, 50, 75], description="% of the epochs at which checkpoints are probed")
    frossl_row: str = "frossl"
    frossl_views: list[int] = Field(default_factory=lambda: [2, 4, 8], min_length=1)
    rows: list[str] = Field(default_factory=lambda: ["vicreg", "simclr", "barlow_twins", "byol"])
    fractions: list[int] = Field(default_factory=lambda: [80, 90], min_length=1, description="% of the final accuracy")

    @field_validator("keep_epochs", "fractions")
    @classmethod
    def _percent(cls, v: list[int]) -> list[int]:
        if any(not 0 < q < 100 for q in v) or len(set(v)) != len(v):
            raise ValueError(f"need distinct percentages in (0, 100), got {v}")
        return sorted(v)

    @field_validator("frossl_views")
    @classmethod
    def _views(cls, v: list[int]) -> list[int]:
        if any(n < 2 for n in v) or len(set(v)) != len(v):
            raise ValueError(f"need distinct view counts >= 2, got {v}")
        return v


class AblationClaim(Strict):
    """Bordes et al. 2023: SimCLR with one negative, noise-only views, small batches, and all three together."""

    epochs: int = Field(3, ge=1)
    row: str = "simclr"
    num_negatives: int = Field(1, ge=1)
    noise_only: dict[str, Any] = Field(
        description="augment keys replaced for the noise-only views (the rest of `augment:` is kept)")
    batch_sizes: list[int] = Field(default_factory=lambda: [16, 64, 256], description="the small-batch points")
    transfer: str | None = Field("mnist5k", description="dataset the frozen backbones are also probed on")

    @field_validator("batch_sizes")
    @classmethod
    def _batches(cls, v: list[int]) -> list[int]:
        if any(b < 2 for b in v) or len(set(v)) != len(v):
            raise ValueError(f"need distinct batch sizes >= 2, got {v}")
        return v


class ClaimsConfig(Strict):
    """`claims:`: the sweeps of `snakemake claims`, each point a table1 row's run with a few keys changed."""

    dataset: str = Field("digits", description="pretrained on and probed on (role main)")
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    warmup_epochs: int | None = Field(1, ge=0, description="optim.warmup_epochs of every claim run (short budgets)")
    duality: DualityClaim | None = None
    convergence: ConvergenceClaim | None = None
    ablation: AblationClaim | None = None

    def check(self, p: Params) -> None:
        """What the claims name must exist in `p`; every sweep value must be a valid hyper-parameter."""
        from .claims import check_claims  # the sweep expansion owns the details

        check_claims(self, p)


Params.model_rebuild()
