"""The blocks of the configuration (`datasets:`, `augment:`, `model:`, `optim:`, `pretrain:`, `methods:`,
`evaluate:`), typed and validated; `Params` (jessl.config) aggregates them.

Unknown keys and out-of-range values are errors that name the key and the allowed values.
"""

from __future__ import annotations

import difflib
import re
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from .yamlio import string_hint

# Dataset and row names become folder names and Snakemake wildcard alternatives (`a|b|…`): only
# characters that are literal in a regular expression and safe in a path.
NAME = re.compile(r"[A-Za-z0-9_]+")


def _check_names(names: Any) -> None:
    for name in names:
        if isinstance(name, str) and name.startswith("x-"):
            raise ValueError(f"{name!r}: `x-` blocks (reused through YAML anchors) belong at the top level of a layer, "
                             f"where they are dropped; move it out of this section")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            fixed = re.sub(r"[^A-Za-z0-9_]+", "_", str(name)).strip("_") or "x"
            raise ValueError(
                f"name {name!r} may only use letters, digits and _ (it names folders and Snakemake wildcards); "
                f"rename it, e.g. {fixed!r}"
            )


def check_seeds(v: list[int]) -> list[int]:
    """Seeds name folders (`seed<N>`) and count as samples of the statistics: each >= 0, each once."""
    for i, s in enumerate(v):
        if s < 0:
            raise ValueError(f"seed {s} is negative (seeds name folders seed<N>); use seeds >= 0")
        if s in v[:i]:
            raise ValueError(f"seed {s} is listed twice (it would be counted as two seeds); list each seed once")
    return v


def Distinct(item: type, what: str, *, ge: float | None = None, gt: float | None = None, lt: float | None = None,
             sort: bool = False, note: str = "") -> Any:  # noqa: N802 (a type)
    """A list of distinct `what` (items of type `item`) with every value >= `ge`, or in (`gt`, `lt`); sorted
    if `sort`. `note` ends the error (e.g. why 100 % is left out)."""
    rule = f"in ({gt:g}, {lt:g})" if gt is not None else f">= {ge:g}"

    def check(v: list[Any]) -> list[Any]:
        inside = all((ge is None or x >= ge) and (gt is None or x > gt) and (lt is None or x < lt) for x in v)
        if not inside or len(set(v)) != len(v):
            raise ValueError(f"need distinct {what} {rule}, got {v}{note}")
        return sorted(v) if sort else v

    return Annotated[list[item], AfterValidator(check)]


Labels = Distinct(int, "labels", ge=0)
KeptPercents = Distinct(int, "percentages", gt=0, lt=100, sort=True, note=" (100 % is the final checkpoint)")
LabelPercents = Distinct(float, "percentages", gt=0, lt=100, note=" (100 % is the linear probe)")


class Strict(BaseModel):
    """Unknown keys are errors, and types are strict: a string is never read as a number, a bool or a list of
    them (`lr: '1e-4'`, `online_probe: 'yes'`, `classes: ['5']`), the same rule as methods' `hparams`. A YAML
    list is read as a pair where a field is one."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _lists_as_tuples(cls, data: Any) -> Any:
        if isinstance(data, dict):
            pairs = {k for k, f in cls.model_fields.items() if typing.get_origin(f.annotation) is tuple}
            data = {k: tuple(v) if k in pairs and isinstance(v, list) else v for k, v in data.items()}
        return data


FOLDER_MAX_RESOLUTION = 256  # longest side of an image folder's stored JPEGs (FFCV's ImageNet recipe)
FOLDER_JPEG_QUALITY = 90  # FFCV's RGBImageField default


class DatasetConfig(Strict):
    source: Literal["digits", "mnist5k", "cifar10", "cifar100", "stl10", "folder"] = "digits"
    root: str | None = Field(None, description="where the raw dataset lives (not used by digits/mnist5k)")
    download: bool = False
    image_size: int = Field(16, ge=8, le=512)
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0, description="digits/mnist5k/folder: held-out share")
    split_seed: int = 0
    classes: Labels | None = Field(None, min_length=1, description="keep only these labels (after the split)")
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
    def _two_classes(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and len(v) < 2:
            raise ValueError(f"one class ({v}) leaves the probes nothing to tell apart; list at least 2 classes, or "
                             f"remove `classes` to keep them all")
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


LATER_MODEL_KEYS = {"projector_bn": True, "memory_format": "contiguous"}


class ModelConfig(Strict):
    backbone: Literal["resnet_tiny", "resnet18", "resnet50"] = "resnet_tiny"
    stem: Literal["cifar", "imagenet"] = Field(
        "cifar", description="cifar: 3×3 stride-1 conv, no max-pool (small images); imagenet: torchvision's 7×7 "
                             "stride-2 conv + max-pool (solo-learn for STL-10 and ImageNet)")
    projector: list[int] = Field(default_factory=lambda: [128, 128], min_length=1)
    predictor_hidden: int = Field(128, ge=1, description="BYOL-style predictor (target methods only)")
    sync_bn: bool = Field(False, description="under DDP (world > 1): BatchNorm statistics over the global batch "
                                             "(SyncBatchNorm); one process has them already")
    projector_bn: bool = Field(True, description="hidden projector layers Linear-BN-ReLU; false: Linear-ReLU with a "
                                                 "bias (solo-learn's SimCLR projector)")
    memory_format: Literal["contiguous", "channels_last"] = Field(
        "contiguous", description="the model's and views' memory layout on every device, part of the run (on the "
                                  "CPU channels-last changes the bits; pretrain.channels_last is the CUDA-only "
                                  "resource)")

    @model_serializer(mode="wrap")
    def _later_keys_at_their_default_left_out(self, handler) -> dict[str, Any]:
        """Keys added after runs were recorded are dumped only when set: a run that does not use them keeps
        its identity (`run_hash`) and its checkpoint's bytes."""
        data = handler(self)
        for key, default in LATER_MODEL_KEYS.items():
            if data.get(key) == default:
                data.pop(key)
        return data

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
    keep_epochs: KeptPercents = Field(
        default_factory=list, description="also keep checkpoints at these % of each run's epochs (convergence)")

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


class EvaluateConfig(Strict):
    knn_k: int = Field(20, ge=1)
    knn_temperature: float = Field(0.07, gt=0.0)
    linear_c: float = Field(1.0, gt=0.0, description="inverse L2 strength of the logistic probe")
    few_shot_per_class: int = Field(10, ge=1)
    few_shot_repeats: int = Field(5, ge=1)
    label_fractions: LabelPercents = Field(
        default_factory=list, description="% of training labels for extra linear probes (semi-supervised view)")
    batch_size: int = Field(512, ge=1)


def _known_keys() -> list[str]:
    """Every key of every block (the spelling hints of unknown keys)."""
    seen, todo = set(), [Strict]
    while todo:
        model = todo.pop()
        seen |= set(model.model_fields)
        todo += model.__subclasses__()
    return sorted(seen)


def _problem(prefix: str, e: Any) -> str:
    """One pydantic error as `key.path: message` (`prefix` first), with a spelling hint for unknown keys."""
    loc = ".".join(str(p) for p in (prefix, *e["loc"]) if p != "")
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(e["loc"][-1]), _known_keys(), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "remove it or fix its spelling"
        msg = f"unknown key; {hint}"
    elif e["type"] in ("float_type", "int_type", "int_from_float", "bool_type"):
        want = {"float_type": "a number", "bool_type": "true or false"}.get(e["type"], "an integer")
        given = e.get("input")
        shown = ("true" if given else "false") if isinstance(given, bool) else repr(given)
        msg = f"expected {want}, got {shown}{string_hint(given)}"
    return f"{loc}: {msg}"
