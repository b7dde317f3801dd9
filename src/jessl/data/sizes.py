"""How many training images a dataset holds, without loading it: from its conversion record once converted
(`data/<name>/train.beton.run.json`), else from the source's split sizes (the digit sets' seeded split:
an estimate). `check` refuses, before any job runs, a batch larger than a pretraining set and a label
fraction below one label per class (a Snakemake job would first remove the good outputs it replaces)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import Params
    from ..schema import DatasetConfig

# source: (images per class in its train split, or in the whole set where test_fraction splits it; classes)
PER_CLASS = {"digits": (179.7, 10), "mnist5k": (500, 10), "cifar10": (5000, 10), "cifar100": (500, 100),
             "stl10": (500, 10)}
FIXED_SPLIT = {"cifar10", "cifar100", "stl10"}  # official train/test splits: test_fraction does not apply
STL10_UNLABELED = 100_000


@dataclass(frozen=True)
class Size:
    train: int  # images of the split that pretraining reads
    labelled: int  # labelled training images (what the probes fit on)
    classes: int | None
    exact: bool  # counted in the converted file, or an official split (else estimated from the source)

    def say(self, n: int) -> str:
        return f"{n:,}" if self.exact else f"about {n:,}"


def _recorded(root: Path, name: str, split: str, cfg: DatasetConfig) -> int | None:
    """The samples the conversion record of `split` counted, if it was converted with the current params."""
    try:
        rec = json.loads((root / "data" / name / f"{split}.beton.run.json").read_text())
    except (OSError, ValueError):
        return None
    params = rec.get("params") or {}
    if any(params.get(k) != v for k, v in cfg.data_params().items()):
        return None  # converted with other params: it will be rebuilt
    samples = (rec.get("metrics") or {}).get("samples")
    return samples if isinstance(samples, int) else None


def train_size(name: str, cfg: DatasetConfig, root: str | Path = ".") -> Size | None:
    """The training images of dataset `name` (None: an image folder not yet listed)."""
    root = Path(root)
    known = PER_CLASS.get(cfg.source)
    classes = len(cfg.classes) if cfg.classes else (known[1] if known else None)
    labelled = _recorded(root, name, "train", cfg)
    exact = labelled is not None or cfg.source in FIXED_SPLIT  # an official split's size is known
    if labelled is None:
        if known is None:
            return None
        n = known[0] * classes
        labelled = int(n if cfg.source in FIXED_SPLIT else n - math.ceil(n * cfg.test_fraction))
    train = labelled
    if cfg.unlabeled:
        pre = _recorded(root, name, "pretrain", cfg)
        train = pre if pre is not None else labelled + STL10_UNLABELED
    return Size(train, labelled, classes, exact)


def problems(p: Params, root: str | Path = ".") -> list[str]:
    """Batches larger than the data they are drawn from; label fractions below one label per class."""
    out = []
    sizes = {d: train_size(d, c, root) for d, c in p.datasets.items()}
    for d in p.pretrain_datasets:
        size = sizes[d]
        for name, m in p.methods.items() if size else ():
            batch = p.run_config(name).pretrain.batch_size
            if batch > size.train:
                key = f"methods.{name}.batch_size" if m.batch_size else "pretrain.batch_size"
                out.append(f"{key}: {batch} is larger than the {size.say(size.train)} training images of {d} (an "
                           f"epoch would hold no full batch); lower it to at most {size.train:,}")
    probed = [*p.table_datasets, *(t for _, t in p.transfer_pairs)]
    for d in dict.fromkeys(probed):
        size = sizes[d]
        if not size or not size.classes:
            continue
        per_class = size.labelled / size.classes
        for q in p.evaluate.label_fractions:
            if per_class * q / 100 < 1:
                out.append(f"evaluate.label_fractions: {q:g} % of {d}'s {size.say(round(per_class))} training labels "
                           f"per class is under one label per class; fractions are percentages (50 = half): use at "
                           f"least {math.ceil(10000 / per_class) / 100:g}")
    return list(dict.fromkeys(out))


def check(p: Params, root: str | Path = ".", source: str = "params.yaml") -> None:
    """Raise `ConfigError` with every problem of `problems`, one line each."""
    found = problems(p, root)
    if found:
        raise ConfigError("\n".join([f"{source}: invalid configuration ({len(found)} problem(s)):",
                                     *(f"  - {line}" for line in found)]))
