"""Uncertainty of the table's numbers: intervals over seeds and test images, P(A > B), and verdicts.

Every statistic starts from per-image scores, an array of shape (n_seeds, n_images) with one score in
[0, 1] per (training seed, test image) — 1 = classified correctly (a fractional score, e.g. the few-label
probe's mean over its draws, is allowed). All seeds of a run are scored on the same test images, so seeds
and images are *crossed* factors: the bootstrap resamples the seeds (with replacement) and, independently,
the test images, and recomputes the statistic on the crossed resample (Owen 2007, "The pigeonhole
bootstrap", Ann. Appl. Stat. 1(2), eq. 2.1; the hierarchical bootstrap over seeds and then the test
sample, with one image resample shared by all the seeds drawn). With one seed it is the test-image
bootstrap alone, and `Interval.method` says so. The resampling is `scipy.stats.bootstrap` (percentile
intervals) with one sample per factor; a factor of size 1 is held fixed.

Known behaviour (tests/test_stats.py simulates it): coverage is close to nominal when seeds vary about as
much as the test sample does; with seeds that do not vary it is conservative (the seed × image
interaction is counted in both factors), and with 3 seeds whose spread dominates it runs below nominal
(a bootstrap over 3 values underestimates their variance by (n − 1)/n).

Accuracies and differences are in points (percent); P(A > B) is a probability in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as sps

N_RESAMPLES = 4000
Test = Literal["superiority", "non_inferiority", "equivalence"]
Verdict = Literal["reproduced", "not_reproduced", "inconclusive"]


@dataclass(frozen=True)
class Interval:
    """A point estimate with its `confidence` interval [low, high]; `method` names how it was computed."""

    mean: float
    low: float
    high: float
    method: str
    n_seeds: int
    n_items: int

    def __str__(self) -> str:
        return f"{self.mean:.2f} [{self.low:.2f}, {self.high:.2f}]"


def _scores(x: np.ndarray, name: str = "scores") -> np.ndarray:
    """`x` as a float (n_seeds, n_images) array, refused unless finite, in [0, 1], ≥ 1 seed and ≥ 2 images."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 2:
        raise ValueError(f"{name}: need per-image scores of shape (n_seeds, n_images ≥ 2), got shape {a.shape}")
    if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
        raise ValueError(f"{name}: per-image scores must be finite and in [0, 1]")
    return a


def _bootstrap(sizes: Sequence[int], statistic: Callable[..., np.ndarray], confidence: float, seed: int,
               n_resamples: int) -> tuple[float, float]:
    """Percentile interval of `statistic(*index_arrays)` with each factor's indices resampled independently.

    `sizes` are the factors' lengths; `statistic` receives one integer index array per factor, all of shape
    (..., size_k), and returns an array of shape (...). Factors of size 1 are held fixed (index 0)."""
    free = [k for k, n in enumerate(sizes) if n > 1]

    def stat(*idx: np.ndarray, axis: int = -1) -> np.ndarray:
        lead = idx[0].shape[:-1]
        full, it = [], iter(idx)
        for k in range(len(sizes)):
            full.append(next(it) if k in free else np.zeros(lead + (1,), dtype=int))
        return statistic(*full)

    res = sps.bootstrap(tuple(np.arange(sizes[k]) for k in free), stat, paired=False, vectorized=True,
                        confidence_level=confidence, n_resamples=n_resamples, method="percentile",
                        random_state=np.random.default_rng(seed),
                        batch=max(1, 2_000_000 // max(1, int(np.prod(sizes)))))
    low, high = res.confidence_interval
    return float(low), float(high)


def _method(n_seeds: int, what: str) -> str:
    if n_seeds == 1:
        return (f"{what}: test-image bootstrap only (1 seed; seed variance not included), percentile, "
                f"scipy.stats.bootstrap")
    return (f"{what}: bootstrap over seeds × test images (crossed, {n_seeds} seeds), percentile, "
            f"scipy.stats.bootstrap")


def accuracy_interval(scores: np.ndarray, confidence: float = 0.95, seed: int = 0,
                      n_resamples: int = N_RESAMPLES) -> Interval:
    """Mean accuracy (points) over seeds and test images with its bootstrap interval (see the module)."""
    x = _scores(scores)
    s, n = x.shape

    def stat(si: np.ndarray, ii: np.ndarray) -> np.ndarray:
        return x[si[..., :, None], ii[..., None, :]].mean(axis=(-2, -1))

    low, high = _bootstrap((s, n), stat, confidence, seed, n_resamples)
    return Interval(100 * float(x.mean()), 100 * low, 100 * high, _method(s, f"{confidence:.0%} interval"), s, n)


def difference_interval(a: np.ndarray, b: np.ndarray, paired: bool, confidence: float = 0.95, seed: int = 0,
                        n_resamples: int = N_RESAMPLES) -> Interval:
    """Effect mean(a) − mean(b) in points with its bootstrap interval.

    `paired`: a and b are scored on the same test images (columns aligned), so one image resample is
    shared by both; otherwise each side's images are resampled on their own. Seeds are resampled
    independently per side (different runs)."""
    x, y = _scores(a, "a"), _scores(b, "b")
    if paired and x.shape[1] != y.shape[1]:
        raise ValueError(f"paired scores need the same test images: a has {x.shape[1]}, b has {y.shape[1]}")

    def acc(z: np.ndarray, si: np.ndarray, ii: np.ndarray) -> np.ndarray:
        return z[si[..., :, None], ii[..., None, :]].mean(axis=(-2, -1))

    if paired:
        sizes = (x.shape[0], y.shape[0], x.shape[1])
        def stat(sa, sb, ii):  # noqa: E306
            return acc(x, sa, ii) - acc(y, sb, ii)
    else:
        sizes = (x.shape[0], x.shape[1], y.shape[0], y.shape[1])
        def stat(sa, ia, sb, ib):  # noqa: E306
            return acc(x, sa, ia) - acc(y, sb, ib)
    low, high = _bootstrap(sizes, stat, confidence, seed, n_resamples)
    n_seeds = min(x.shape[0], y.shape[0])
    kind = "paired images" if paired else "independent images"
    return Interval(100 * float(x.mean() - y.mean()), 100 * low, 100 * high,
                    _method(n_seeds, f"{confidence:.0%} interval of the difference ({kind})"),
                    n_seeds, min(x.shape[1], y.shape[1]))


def _p_greater(acc_a: np.ndarray, acc_b: np.ndarray) -> np.ndarray:
    """P(a run of A beats a run of B) over all (A seed, B seed) pairs, ties counted ½ (Mann–Whitney)."""
    d = acc_a[..., :, None] - acc_b[..., None, :]
    return ((d > 0) + 0.5 * (d == 0)).mean(axis=(-2, -1))


def prob_greater(a: np.ndarray, b: np.ndarray, confidence: float = 0.95, seed: int = 0,
                 n_resamples: int = N_RESAMPLES) -> Interval:
    """P(A > B): the probability that a random seed-run of A scores a higher accuracy than one of B on the
    same test sample, with its percentile bootstrap interval over seeds and test images (Bouthillier et al.
    2021, "Accounting for variance in machine learning benchmarks", MLSys, §4: P(A > B) estimated over runs
    with their sources of variance randomised, the test set resampled by the bootstrap; A "beats" B when
    the interval's lower bound is above 0.5). A and B are scored on the same test images (columns aligned)."""
    x, y = _scores(a, "a"), _scores(b, "b")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"P(A > B) needs the same test images: a has {x.shape[1]}, b has {y.shape[1]}")

    def stat(sa: np.ndarray, sb: np.ndarray, ii: np.ndarray) -> np.ndarray:
        acc_a = x[sa[..., :, None], ii[..., None, :]].mean(axis=-1)
        acc_b = y[sb[..., :, None], ii[..., None, :]].mean(axis=-1)
        return _p_greater(acc_a, acc_b)

    low, high = _bootstrap((x.shape[0], y.shape[0], x.shape[1]), stat, confidence, seed, n_resamples)
    point = float(_p_greater(x.mean(axis=1), y.mean(axis=1)))
    return Interval(point, low, high, _method(min(x.shape[0], y.shape[0]), f"P(A > B), {confidence:.0%} interval"),
                    min(x.shape[0], y.shape[0]), x.shape[1])


def seed_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean of one number per seed (a RankMe, a dimension count) with its t-interval over the seeds
    (Student's t, n − 1 degrees of freedom, `scipy.stats.t`); one seed: no interval (low = high = mean)."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) == 0 or not np.isfinite(v).all():
        raise ValueError(f"need one finite value per seed, got {values!r}")
    mean = float(v.mean())
    if len(v) == 1:
        return Interval(mean, mean, mean, "1 seed: no interval", 1, 0)
    sem = float(v.std(ddof=1) / np.sqrt(len(v)))
    low, high = (mean, mean) if sem == 0 else sps.t.interval(confidence, len(v) - 1, loc=mean, scale=sem)
    return Interval(mean, float(low), float(high), f"{confidence:.0%} t-interval over {len(v)} seeds", len(v), 0)


def beats(p: Interval) -> bool:
    """A beats B when P(A > B)'s interval lies above 0.5 (Bouthillier et al. 2021)."""
    return p.low > 0.5


def decide(effect: Interval, margin: float, test: Test) -> Verdict:
    """The verdict of `effect` (an interval of A − B) against `margin` (≥ 0, the effect's unit).

    superiority: reproduced if low > margin, not_reproduced if high ≤ margin;
    non_inferiority: reproduced if low > −margin, not_reproduced if high < −margin;
    equivalence (two one-sided tests): reproduced if −margin < low and high < margin, not_reproduced if
    low ≥ margin or high ≤ −margin; anything else is inconclusive."""
    if margin < 0 or not np.isfinite(margin):
        raise ValueError(f"margin must be a finite number ≥ 0, got {margin}")
    low, high = effect.low, effect.high
    if test == "superiority":
        yes, no = low > margin, high <= margin
    elif test == "non_inferiority":
        yes, no = low > -margin, high < -margin
    elif test == "equivalence":
        yes, no = -margin < low and high < margin, low >= margin or high <= -margin
    else:
        raise ValueError(f"test must be superiority, non_inferiority or equivalence, got {test!r}")
    return "reproduced" if yes else "not_reproduced" if no else "inconclusive"
