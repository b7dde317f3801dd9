"""The papers' claims as sweeps: every point is a table1 row's `RunConfig` with a few keys changed.

`sweep_points` expands the `claims:` section of params.yaml into named points (Snakemake wildcards
`{claim}/{variant}`); `derive` says what a point changes in its row, and `Params.run_config` resolves it like any row;
`evaluation_jobs` says which checkpoint each claim's evaluations probe, on which data, into which file.
A variant's name lists only what differs from its row's recipe, so two sweeps that ask for the same run
(e.g. the temperature sweep's default and the dimension sweep's default) share one checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from typing import TYPE_CHECKING, Any

from .catalogue import SWEEPS

if TYPE_CHECKING:
    from ..config import Params
    from ..runs import RunConfig
    from .schema import ClaimsConfig

CLAIMS = SWEEPS  # the claims that are sweeps of table1 rows
REFERENCE = "reference"  # the untrained backbone every claim compares with (a 0-epoch run)
UNTRAINED = "random_init"


@dataclass(frozen=True)
class Point:
    """One sweep point: its claim, its variant name (a folder name), the run, and the facts its tables need."""

    claim: str
    variant: str
    run: RunConfig
    tags: dict[str, Any] = field(default_factory=dict)


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def variant_name(row: str, changes: dict[str, Any]) -> str:
    """`row` plus `-{key}{value}` for each change, in the given order (e.g. ``simclr-temperature0.1``)."""
    return row + "".join(f"-{k}{_fmt(v)}" for k, v in changes.items())


def derive(p: Params, row: str, *, name: str, epochs: int, warmup_epochs: int | None = None,
           hparams: dict[str, Any] | None = None, projector_out: int | None = None, batch_size: int | None = None,
           num_views: int | None = None, augment: dict[str, Any] | None = None, lr: float | None = None) -> RunConfig:
    """The run of `row` with these keys changed, resolved like the row itself (`Params.run_config`: validated,
    the peak rate scaled for the batch size)."""
    changes: dict[str, Any] = {"epochs": epochs}
    if batch_size:
        changes["batch_size"] = batch_size
    if num_views:
        changes["num_views"] = num_views
    if hparams:
        changes["hparams"] = hparams
    if projector_out:
        changes["model"] = {"projector": [*p.run_config(row).model.projector[:-1], projector_out]}
    if augment:
        changes["augment"] = augment
    optim = {**({"warmup_epochs": warmup_epochs} if warmup_epochs is not None else {}), **({"lr": lr} if lr else {})}
    if optim:
        changes["optim"] = optim
    return p.run_config(row, changes=changes, rename=name)


def _changes(base: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if base.get(k) != v}


def _untrained(p: Params) -> Point:
    run = p.run_config(UNTRAINED, rename=f"{REFERENCE}/{UNTRAINED}")
    return Point(REFERENCE, UNTRAINED, run, {"row": UNTRAINED, "family": "untrained"})


def _duality(p: Params, c: ClaimsConfig) -> list[Point]:
    d = c.duality
    points: dict[str, Point] = {}

    def add(row: str, hp: dict[str, Any], dim: int | None, role: str) -> None:
        recipe = p.run_config(row)
        changes = _changes(recipe.hparams, hp)
        if dim is not None and dim != recipe.model.projector[-1]:
            changes["dim"] = dim
        variant = variant_name(row, changes)
        if variant not in points:
            run = derive(p, row, name=f"duality/{variant}", epochs=d.epochs, warmup_epochs=c.warmup_epochs,
                         hparams=hp or None, projector_out=dim)
            family = "contrastive" if row in d.contrastive else "non-contrastive"
            points[variant] = Point("duality", variant, run, {"row": row, "family": family, "roles": [],
                                                                "swept": {}, "dim": run.model.projector[-1]})
        tags = points[variant].tags
        tags["roles"].append(role)
        if role == "sweep":
            tags["swept"] = {k: _fmt(v) for k, v in hp.items()}

    for row, grid in d.sweeps.items():
        keys = list(grid)
        for values in product(*(grid[k] for k in keys)):
            add(row, dict(zip(keys, values, strict=True)), None, "sweep")
    for row in d.dim_rows:
        for dim in d.dims:
            add(row, {}, dim, "dims")
    return list(points.values())


def frossl_variant(v: Any, views: int | None = None) -> str:
    """The convergence point of FroSSL with `views` views (default: the first listed, the one the verdict reads)."""
    return f"{v.frossl_row}-views{v.frossl_views[0] if views is None else views}"


def _convergence(p: Params, c: ClaimsConfig) -> list[Point]:
    v = c.convergence
    points = []
    for views in v.frossl_views:
        variant = frossl_variant(v, views)
        run = derive(p, v.frossl_row, name=f"convergence/{variant}", epochs=v.epochs, warmup_epochs=c.warmup_epochs,
                     num_views=views)
        points.append(Point("convergence", variant, run, {"row": v.frossl_row, "views": views}))
    for row in v.rows:
        run = derive(p, row, name=f"convergence/{row}", epochs=v.epochs, warmup_epochs=c.warmup_epochs)
        points.append(Point("convergence", row, run, {"row": row, "views": run.pretrain.num_views}))
    return points


def _ablation(p: Params, c: ClaimsConfig) -> list[Point]:
    a = c.ablation
    recipe = p.run_config(a.row)
    smallest = min(a.batch_sizes) if a.batch_sizes else None
    wanted: list[tuple[str, dict[str, Any]]] = [("full recipe", {}), ("one negative", {"negatives": a.num_negatives}),
                                                 ("noise only", {"noise_only": True})]
    wanted += [(f"batch {b}", {"batch": b}) for b in a.batch_sizes]
    combo = {"negatives": a.num_negatives, "noise_only": True, **({"batch": smallest} if smallest else {})}
    wanted.append(("combination", combo))
    points: dict[str, Point] = {}
    for label, ch in wanted:
        changes = {k: ("" if k == "noise_only" else val) for k, val in ch.items()
                   if not (k == "batch" and val == recipe.pretrain.batch_size)}
        variant = variant_name(a.row, changes)
        if variant in points:  # e.g. a batch size equal to the recipe's: the full recipe itself
            continue
        # `lr_scaling: linear`: a smaller batch gets the recipe's lr × batch / recipe batch (Goyal et al. 2017)
        batch = ch.get("batch")
        lr = recipe.optim.lr * batch / recipe.pretrain.batch_size if batch and a.lr_scaling == "linear" else None
        run = derive(p, a.row, name=f"ablation/{variant}", epochs=a.epochs, warmup_epochs=c.warmup_epochs,
                     hparams={"num_negatives": ch["negatives"]} if "negatives" in ch else None,
                     batch_size=batch, augment={**a.full_augment, **(a.noise_only if ch.get("noise_only") else {})},
                     lr=lr)
        tags = {"row": a.row, "label": label, "batch_size": run.pretrain.batch_size,
                "num_negatives": run.hparams.get("num_negatives"), "noise_only": bool(ch.get("noise_only"))}
        points[variant] = Point("ablation", variant, run, tags)
    return list(points.values())


def sweep_points(p: Params) -> dict[str, list[Point]]:
    """Every claim's points (only the configured claims; `reference` holds the untrained backbone)."""
    c = p.claims
    if c is None:
        return {}
    out: dict[str, list[Point]] = {}
    for claim, expand in (("duality", _duality), ("convergence", _convergence), ("ablation", _ablation)):
        if getattr(c, claim) is not None:
            out[claim] = expand(p, c)
    if c.convergence is not None or c.ablation is not None:
        out[REFERENCE] = [_untrained(p)]
    return out


def wildcard_alternatives(points: dict[str, list[Point]], claims: list[str]) -> str:
    """The `{variant}` wildcard's alternatives for these claims (a regular expression; never empty)."""
    import re

    names = sorted({pt.variant for c in claims for pt in points.get(c, [])})
    return "|".join(re.escape(v) for v in names) or "(?!)"


def checkpoint_path(claim: str, variant: str, seed: int) -> str:
    """Beside the point's evaluations, under results/claims/ (the claims' own DVC output: `checkpoints/` is the
    pretrain stage's, and DVC outputs may not overlap)."""
    return f"{result_dir(claim, variant, seed)}/final.pt"


def result_dir(claim: str, variant: str, seed: int) -> str:
    return f"results/claims/{claim}/{variant}/seed{seed}"


def evaluation_jobs(p: Params, claim: str) -> list[dict[str, Any]]:
    """Keyword arguments of `stages.evaluate` for each evaluation `claim`'s tables read (plain data)."""
    from ..checkpoint import kept_epoch, kept_path  # (imports torch: not at params.yaml validation)

    c, points = p.claims, sweep_points(p)
    ds = c.dataset
    betons = {"train_beton": f"data/{ds}/train.beton", "test_beton": f"data/{ds}/test.beton", "dataset": ds}
    with_ref = points[claim] + ([] if claim == "duality" else points[REFERENCE])
    jobs = []
    for seed in c.seeds:
        for pt in with_ref:
            ck = checkpoint_path(pt.claim, pt.variant, seed)
            out = result_dir(claim, pt.variant, seed)
            info = {"method": pt.variant, "seed": seed, "loss": pt.run.loss, "epochs": pt.run.pretrain.epochs,
                    "tags": {"claim": claim, **pt.tags}}
            # a sweep's best point is chosen on a validation split of the train split, never on test
            val = {"validation": c.validation.model_dump()} if claim == "duality" else {}
            jobs.append({**betons, **info, "checkpoint": ck, "out": f"{out}/metrics.json",
                         "spectrum_out": f"{out}/spectrum.json", **val})
            probe = c.convergence.probe_on if claim == "convergence" else None
            if probe:  # the final (or untrained) checkpoint on the transfer target the verdict reads
                far = {"dataset": probe, "train_beton": f"data/{probe}/train.beton",
                       "test_beton": f"data/{probe}/test.beton"}
                jobs.append({**info, **far, "tags": {**info["tags"], "source": ds}, "checkpoint": ck,
                             "out": f"{out}/transfer_{probe}.json", "spectrum_out": None})
            if claim == "convergence" and pt.claim == "convergence":
                for pct in c.convergence.keep_epochs:
                    epoch = kept_epoch(pct, pt.run.pretrain.epochs)
                    jobs.append({**betons, **info, "epochs": epoch, "tags": {**info["tags"], "pct": pct},
                                 "checkpoint": str(kept_path(ck, pct)), "out": f"{out}/pct{pct}.json",
                                 "spectrum_out": f"{out}/pct{pct}.spectrum.json"})
                    if probe:
                        jobs.append({**info, **far, "epochs": epoch,
                                     "tags": {**info["tags"], "pct": pct, "source": ds},
                                     "checkpoint": str(kept_path(ck, pct)),
                                     "out": f"{out}/pct{pct}_transfer_{probe}.json", "spectrum_out": None})
            if claim == "ablation" and c.ablation.transfer:
                t = c.ablation.transfer
                jobs.append({**info, "dataset": t, "train_beton": f"data/{t}/train.beton",
                             "test_beton": f"data/{t}/test.beton", "tags": {**info["tags"], "source": ds},
                             "checkpoint": ck, "out": f"{out}/transfer_{t}.json", "spectrum_out": None})
    return jobs
