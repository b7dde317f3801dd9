"""Linear probes on frozen, standardised features (deterministic: L-BFGS logistic regression)."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..config import ConfigError


def check_split(train_y, test_y, probe: str = "linear probe") -> None:
    """A probe needs >= 2 classes to fit and >= 1 sample to score; say which split is too small."""
    if len(np.unique(train_y)) < 2:
        raise ConfigError(f"{probe}: the train split has {len(train_y)} sample(s) in {len(np.unique(train_y))} "
                          f"class(es); it needs >= 2 classes: lower the dataset's test_fraction or add data")
    if len(test_y) == 0:
        raise ConfigError(f"{probe}: the test split is empty, so there is nothing to score; raise the dataset's "
                          f"test_fraction or add test images")


def linear_correct(train_x, train_y, test_x, test_y, c: float = 1.0) -> np.ndarray:
    """Per test image: whether a multinomial logistic regression on standardised features classifies it right."""
    check_split(train_y, test_y)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    clf.fit(train_x, train_y)
    return clf.predict(test_x) == test_y


def linear_probe(train_x, train_y, test_x, test_y, c: float = 1.0) -> float:
    """Top-1 accuracy (%) of a multinomial logistic regression on standardised features."""
    return 100.0 * float(linear_correct(train_x, train_y, test_x, test_y, c).mean())


def few_label_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """`per_class` training indices of each class, drawn with a fixed seed."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < per_class:
        raise ConfigError(
            f"evaluate.few_shot_per_class: class {classes[counts.argmin()]} has {counts.min()} training sample(s), "
            f"fewer than few_shot_per_class={per_class}; lower evaluate.few_shot_per_class in params.yaml to "
            f"<= {counts.min()} or use a larger train split"
        )
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in classes]
    return np.sort(np.concatenate(picks))


def few_label_correct(train_x, train_y, test_x, test_y, per_class: int, repeats: int,
                      c: float = 1.0) -> tuple[float, float, np.ndarray]:
    """Mean and std of the linear probe's top-1 (%) over `repeats` seeded draws of `per_class` labels, and per
    test image the number of draws that classified it right (0 … repeats)."""
    accs, counts = [], np.zeros(len(test_y), dtype=int)
    for r in range(repeats):
        idx = few_label_indices(train_y, per_class, seed=r)
        right = linear_correct(train_x[idx], train_y[idx], test_x, test_y, c)
        accs.append(100.0 * float(right.mean()))
        counts += right
    return float(np.mean(accs)), float(np.std(accs)), counts


def few_label_probe(train_x, train_y, test_x, test_y, per_class: int, repeats: int, c: float = 1.0):
    """Mean and std of the linear probe's top-1 (%) over `repeats` seeded draws of `per_class` labels."""
    return few_label_correct(train_x, train_y, test_x, test_y, per_class, repeats, c)[:2]


def fraction_indices(labels: np.ndarray, pct: float, seed: int) -> np.ndarray:
    """A stratified `pct` % of the training indices (at least one per class), drawn with a fixed seed."""
    rng = np.random.default_rng(seed)
    picks = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        picks.append(rng.choice(idx, max(1, round(len(idx) * pct / 100)), replace=False))
    return np.sort(np.concatenate(picks))


def validation_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit, validation) indices: a stratified `fraction` of the training split (at least one image per class,
    at least one left to fit on), drawn with a fixed seed. Selections (a sweep's best point) are made on the
    validation part, so no test label ever reaches them."""
    if not 0 < fraction < 1:
        raise ConfigError(f"claims.validation.fraction: {fraction} must be in (0, 1); e.g. 0.2")
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            raise ConfigError(f"claims.validation: class {c} has {len(idx)} training image(s); a validation split "
                              "needs >= 2 per class; use a larger train split")
        val.append(rng.choice(idx, min(len(idx) - 1, max(1, round(len(idx) * fraction))), replace=False))
    v = np.sort(np.concatenate(val))
    return np.setdiff1d(np.arange(len(labels)), v), v


def validation_top1(train_x, train_y, fraction: float, seed: int, c: float = 1.0) -> float:
    """The linear probe fitted on the fit part of the training split and scored on its validation part (%)."""
    fit, val = validation_split(np.asarray(train_y), fraction, seed)
    return linear_probe(train_x[fit], train_y[fit], train_x[val], train_y[val], c)
