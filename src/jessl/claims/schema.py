"""`claims:` of params.yaml: the papers' claims as sweeps of table1 rows (claims 2, 3, 5) and the sizes of the
theory claims (1, 4); validated with the rest of the params, cross-checked against the rows (`check_claims`)."""

from __future__ import annotations

from itertools import product
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from ..methods import registry
from ..runs import kept_clash
from ..schema import AugmentConfig, Distinct, Strict, check_seeds

if TYPE_CHECKING:
    from ..config import Params

Percents = Distinct(int, "percentages", gt=0, lt=100, sort=True)
Dims = Distinct(int, "dimensions", ge=1)
Views = Distinct(int, "view counts", ge=2)
Batches = Distinct(int, "batch sizes", ge=2)
Weights = Distinct(float, "invariance weights", gt=0, lt=float("inf"))


class DualityClaim(Strict):
    """Garrido et al. 2023: contrastive ≈ non-contrastive after tuning; each row swept under one budget."""

    epochs: int = Field(3, ge=1, description="epochs of every sweep point (one budget)")
    sweeps: dict[str, dict[str, list[Any]]] = Field(
        min_length=1, description="table1 row → hyper-parameter → values (a grid: one point per combination)")
    contrastive: list[str] = Field(
        min_length=1, description="sample-contrastive rows (Prop. 3.2); the rest are dimension-contrastive")
    dims: Dims = Field(default_factory=list, description="projector output dimensions of figures/dim_sweep.png")
    dim_rows: list[str] = Field(default_factory=list, description="rows swept over `dims` (at their recipe)")
    tolerance: float = Field(1.0, ge=0.0, description="top-1 points within which two results count as equal")
    pair: list[str] = Field(default_factory=lambda: ["simclr", "vicreg"], min_length=2, max_length=2,
                            description="the paper's pair: their tuned points (chosen on validation) are compared")

    @field_validator("sweeps")
    @classmethod
    def _values(cls, v: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, list[Any]]]:
        for row, grid in v.items():
            for key, values in grid.items():
                if not values or len(set(map(repr, values))) != len(values):
                    raise ValueError(f"sweeps.{row}.{key}: need distinct values, got {values}")
        return v


class ConvergenceClaim(Strict):
    """Skean et al. 2024: FroSSL (2, 4, 8 views) reaches a fraction of its final accuracy in fewer epochs."""

    epochs: int = Field(4, ge=1)
    keep_epochs: Percents = Field(
        default_factory=lambda: [25, 50, 75], description="% of the epochs at which checkpoints are probed")
    frossl_row: str = "frossl"
    frossl_views: Views = Field(default_factory=lambda: [2, 4, 8], min_length=1)
    rows: list[str] = Field(default_factory=lambda: ["vicreg", "simclr", "barlow_twins", "byol"])
    fractions: Percents = Field(default_factory=lambda: [80, 90], min_length=1, description="% of the final accuracy")
    probe_on: str | None = Field(None, description="dataset the verdict's curves are probed on: a transfer target "
                                 "where the untrained backbone is well below the trained ones (e.g. mnist5k); "
                                 "None: claims.dataset")

    @model_validator(mode="after")
    def _kept_distinct(self) -> ConvergenceClaim:
        clash = kept_clash(self.keep_epochs, self.epochs)
        if clash:
            raise ValueError(f"keep_epochs: {clash}")
        return self


class AblationClaim(Strict):
    """Bordes et al. 2023: SimCLR with one negative, noise-only views, small batches, and all three together."""

    epochs: int = Field(3, ge=1)
    row: str = "simclr"
    num_negatives: int = Field(1, ge=1)
    full_augment: dict[str, Any] = Field(
        default_factory=dict, description="augment keys of the full recipe (the complete augmentation set the "
        "paper starts from); every point but noise-only trains with them over the row's own `augment`")
    noise_only: dict[str, Any] = Field(
        description="augment keys replaced for the noise-only views (over the full recipe's)")
    batch_sizes: Batches = Field(default_factory=lambda: [16, 64, 256], description="the small-batch points")
    transfer: str | None = Field("mnist5k", description="dataset the frozen backbones are also probed on")
    lr_scaling: Literal["none", "linear"] = Field(
        "none", description="linear: a batch-size point's lr is the recipe's lr × its batch / the recipe's batch "
        "(the comparison at equal epochs, the lr scaled per batch size); none: the recipe's lr")


class SpectralLinear(Strict):
    """Claim 1 (a): the toy linear problem whose gradient-descent optima are compared with the closed forms."""

    samples: int = Field(12, ge=2, description="points of the toy problem")
    dim: int = Field(6, ge=1, description="their dimension")
    k: int = Field(3, ge=1, description="embedding dimension (<= dim)")
    views: int = Field(2, ge=2)
    beta: float = Field(1.0, gt=0.0, description="weight of the criteria's regulariser")
    lr: float = Field(0.01, gt=0.0, description="gradient descent's step")
    max_steps: int = Field(5000, ge=1)

    @model_validator(mode="after")
    def _k_fits(self) -> SpectralLinear:
        if self.k > self.dim:
            raise ValueError(f"k: {self.k} embedding dimensions exceed the data's dim {self.dim}; use k <= dim")
        return self


class ToySize(Strict):
    samples: int = Field(ge=4)
    dim: int = Field(ge=2)
    k: int = Field(ge=1)

    @model_validator(mode="after")
    def _k_fits(self) -> ToySize:
        if self.k >= self.dim:
            raise ValueError(f"k: {self.k} must be below dim {self.dim} (a subspace, not the whole space)")
        return self


class SpectralTrained(Strict):
    """Claim 1 (a'): linear encoders trained with the real VICReg and SimCLR losses, one per size × seed."""

    sizes: list[ToySize] = Field(default_factory=lambda: [ToySize(samples=32, dim=6, k=2),
                                                          ToySize(samples=64, dim=8, k=3)], min_length=1)
    steps: int = Field(300, ge=1, description="full-batch Adam steps")
    lr: float = Field(0.05, gt=0.0)


class SpectralClaim(Strict):
    """Balestriero & LeCun 2022 (claim 1): (a) the linear regime, (a') real losses, (b) the closed forms on a
    dataset's pixels and the invariance-weight sweep on misaligned graphs."""

    linear: SpectralLinear = SpectralLinear()
    trained: SpectralTrained = SpectralTrained()
    k: int = Field(16, ge=1, description="(b): embedding dimension of the closed forms on the pixels")
    ridge: float = Field(1e-6, gt=0.0, description="(b): ridge added to the covariances before solving")
    max_images: int | None = Field(None, ge=2, description="(b): at most this many train images (seeded subsample)")
    invariance_weights: Weights = Field(default_factory=lambda: [0.1, 1.0, 2.0, 4.0, 8.0], min_length=1,
                                            description="(b): the sweep's invariance weights (β = 1/w)")
    sweep_k: int = Field(64, ge=1, description="(b): embedding dimension of the invariance-weight sweep")


class HsicClaim(Strict):
    """Li et al. 2021 (claim 4): SSL-HSIC runs with and without a target, InfoNCE and SSL-HSIC at every epoch."""

    epochs: int = Field(6, ge=1, description="epochs of each run (a checkpoint per epoch)")
    batch_size: int = Field(128, ge=2, description="fixed evaluation batches of the test split")
    num_batches: int = Field(2, ge=1)
    temperature: float = Field(0.5, gt=0.0, description="InfoNCE's temperature")
    gamma: float = Field(3.0, ge=0.0, description="SSL-HSIC's weight of √HSIC(Z, Z)")
    scale: float = Field(1.0, gt=0.0, description="SSL-HSIC's IMQ kernel scale")


class Validation(Strict):
    """The validation split every selection reads (a stratified part of the train split, fixed seed)."""

    fraction: float = Field(0.2, gt=0.0, lt=1.0, description="share of each class of the train split held out")
    seed: int = Field(0, ge=0, description="seed of the held-out draw (fixed: every point sees the same split)")


class Margins(Strict):
    """Each claim's margin, in its effect's unit; its test is in `jessl.claims.decide.TESTS`. A verdict is
    computed from the effect's interval against it (`jessl.stats.decide`), never tuned to decide."""

    spectral: float = Field(10.0, ge=0.0, description="degrees: largest principal angle counted as 'in the subspace'")
    duality: float = Field(2.0, ge=0.0, description="top-1 points: tuned SimCLR − tuned VICReg counted as equal")
    convergence: float = Field(0.0, ge=0.0, description="top-1 points: FroSSL's lead over every other method early on")
    hsic_infonce: float = Field(0.0, ge=0.0, description="Pearson r: co-movement beyond the shuffled-pair null")
    ablation: float = Field(3.0, ge=0.0, description="top-1 points: how far below the full recipe is 'as good'")


class ClaimsConfig(Strict):
    """`claims:`: the sweeps of `snakemake claims`, each point a table1 row's run with a few keys changed."""

    dataset: str = Field("digits", description="pretrained on and probed on (role main)")
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    warmup_epochs: int | None = Field(1, ge=0, description="optim.warmup_epochs of every claim run (short budgets)")
    duality: DualityClaim | None = None
    convergence: ConvergenceClaim | None = None
    ablation: AblationClaim | None = None
    spectral: SpectralClaim = SpectralClaim()
    hsic_infonce: HsicClaim = HsicClaim()
    validation: Validation = Validation()
    margins: Margins = Margins()

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:
        return check_seeds(v)

    def check(self, p: Params) -> None:
        """What the claims name must exist in `p`; every sweep value must be a valid hyper-parameter."""
        check_claims(self, p)


def _need_rows(rows: list[str], p: Params, key: str) -> list[str]:
    return [f"claims.{key}: {r!r} is not a row of `methods`; add it there or remove it here (rows: "
            f"{', '.join(p.methods)})" for r in rows if r not in p.methods]


def check_claims(c: ClaimsConfig, p: Params) -> None:
    """Names, rows, hyper-parameter values and augment keys of `claims:`; raises ValueError (one line each)."""
    problems: list[str] = []
    if c.dataset not in p.pretrain_datasets:
        problems.append(f"claims.dataset: {c.dataset!r} is not a dataset that is pretrained on; use one of "
                        f"{', '.join(p.pretrain_datasets)}")
    if "claims" in p.datasets:
        problems.append("datasets.claims: the name `claims` is taken by the claims' folders; rename the dataset")
    d = c.duality
    if d is not None:
        rows = list(d.sweeps)
        problems += _need_rows([*rows, *d.dim_rows], p, "duality.sweeps")
        problems += [f"claims.duality.contrastive: {r!r} has no sweep; list rows of claims.duality.sweeps"
                     for r in d.contrastive if r not in rows]
        if rows and all(r in d.contrastive for r in rows):
            problems.append("claims.duality.contrastive: every swept row is contrastive, so there is no gap to "
                            "measure; leave at least one dimension-contrastive row out of the list")
        sizes = {r: len(list(product(*d.sweeps[r].values()))) for r in d.pair if r in d.sweeps}
        if len(sizes) < 2:
            problems.append(f"claims.duality.pair: {d.pair} must be two different rows of claims.duality.sweeps")
        elif len(set(sizes.values())) > 1:
            problems.append(f"claims.duality.pair: unequal sweeps ({sizes} points); give both rows as many points")
        if d.dim_rows and not d.dims:
            problems.append("claims.duality.dims: empty, but dim_rows are given; list projector dimensions")
        for row, grid in d.sweeps.items():
            if row in p.methods:
                method = registry.get(p.methods[row].loss or row)
                for key, values in grid.items():
                    for v in values:
                        try:
                            method.validate_hparams({key: v})
                        except registry.HparamError as err:
                            problems.append(f"claims.duality.sweeps.{row}.{key}: {err.problems[key]}")
    v = c.convergence
    if v is not None:
        problems += _need_rows([v.frossl_row, *v.rows], p, "convergence")
        if v.frossl_row in p.methods:
            method = registry.get(p.methods[v.frossl_row].loss or v.frossl_row)
            for views in v.frossl_views:
                try:
                    method.check_views(views)
                except ValueError as err:
                    problems.append(f"claims.convergence.frossl_views: {err}")
    if v is not None and v.probe_on is not None and (v.probe_on not in p.datasets or v.probe_on == c.dataset):
        problems.append(f"claims.convergence.probe_on: {v.probe_on!r} must be another dataset under `datasets`")
    a = c.ablation
    if a is not None:
        problems += _need_rows([a.row], p, "ablation.row")
        if a.row in p.methods:
            try:
                registry.get(p.methods[a.row].loss or a.row).validate_hparams({"num_negatives": a.num_negatives})
            except registry.HparamError as err:
                problems.append(f"claims.ablation.num_negatives: {next(iter(err.problems.values()))}")
        for key, over in (("full_augment", a.full_augment), ("noise_only", {**a.full_augment, **a.noise_only})):
            try:
                AugmentConfig.model_validate({**p.augment.model_dump(), **over})
            except ValueError as err:
                first = str(err).splitlines()
                problems.append(f"claims.ablation.{key}: {' '.join(first[1:3]).strip() or first[0]}")
        if a.transfer is not None and (a.transfer not in p.datasets or a.transfer == c.dataset):
            problems.append(f"claims.ablation.transfer: {a.transfer!r} must be another dataset under `datasets`")
    if problems:
        raise ValueError("\n  - ".join(problems))
