"""Known answers for jessl.stats: interval coverage on simulated experiments, P(A > B), verdicts at the margin."""

import numpy as np
import pytest

from jessl.stats import (
    Interval,
    accuracy_interval,
    beats,
    decide,
    difference_interval,
    prob_greater,
    seed_interval,
)

THETA, TAU = 2.5, 1.5  # logit of a typical image's accuracy; spread of image difficulty (logit)


def simulate(rng, n_seeds, n_images, sigma, shift=0.0):
    """Per-image 0/1 scores: image difficulty δ ~ N(0, τ), seed effect η ~ N(0, σ),
    P(correct) = sigmoid(θ + shift + δ + η)."""
    delta = rng.normal(0, TAU, n_images)
    eta = rng.normal(0, sigma, n_seeds)
    p = 1 / (1 + np.exp(-(THETA + shift + delta[None, :] + eta[:, None])))
    return (rng.random((n_seeds, n_images)) < p).astype(float)


def true_accuracy(sigma, shift=0.0):
    """The population accuracy (points): E over images and seeds, by Monte Carlo on 2M draws."""
    g = np.random.default_rng(123)
    z = THETA + shift + g.normal(0, TAU, 2_000_000) + g.normal(0, sigma, 2_000_000)
    return 100 * float(np.mean(1 / (1 + np.exp(-z))))


@pytest.mark.parametrize("n_seeds, sigma, top", [(1, 0.0, 0.99), (3, 0.3, 0.99), (5, 0.3, 0.99), (3, 0.0, 1.0)])
def test_accuracy_interval_covers_truth_at_nominal_rate(n_seeds, sigma, top):
    """200 simulated experiments: the 95 % interval holds the population accuracy in 90–99 % of them (with
    seeds that do not vary at all the crossed bootstrap is conservative: it may cover in all 200)."""
    rng = np.random.default_rng(n_seeds * 10 + int(10 * sigma))
    truth = true_accuracy(sigma)
    hits = 0
    for k in range(200):
        iv = accuracy_interval(simulate(rng, n_seeds, 200, sigma), seed=k, n_resamples=600)
        hits += iv.low <= truth <= iv.high
    assert 0.90 <= hits / 200 <= top, hits


def test_one_seed_interval_ignoring_seed_variance_undercovers():
    """Sanity of the simulation: a test-image-only interval misses when seeds vary a lot, so coverage above
    is earned by resampling seeds, not by wide intervals."""
    rng = np.random.default_rng(7)
    truth = true_accuracy(1.0)
    hits = 0
    for k in range(100):
        iv = accuracy_interval(simulate(rng, 1, 300, 1.0), seed=k, n_resamples=500)
        hits += iv.low <= truth <= iv.high
    assert hits / 100 < 0.85


def test_accuracy_interval_fields_and_method():
    x = np.zeros((3, 10))
    x[:, :7] = 1
    iv = accuracy_interval(x)
    assert iv.mean == pytest.approx(70.0)
    assert (iv.n_seeds, iv.n_items) == (3, 10)
    assert iv.low <= iv.mean <= iv.high
    assert "seeds × test images" in iv.method
    one = accuracy_interval(x[:1])
    assert "test-image bootstrap only" in one.method and one.n_seeds == 1
    assert str(iv).startswith("70.00 [")


def test_accuracy_interval_rejects_bad_scores():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        accuracy_interval(np.full((2, 5), 2.0))
    with pytest.raises(ValueError, match="shape"):
        accuracy_interval(np.ones((2, 1)))


def test_difference_interval_covers_true_difference():
    """Paired difference of two simulated methods on the same images: coverage of the true gap at 90–99 %."""
    rng = np.random.default_rng(11)
    truth = true_accuracy(0.3, shift=0.5) - true_accuracy(0.3)
    hits = 0
    for k in range(200):
        delta = rng.normal(0, TAU, 300)
        a = rng.random((3, 300)) < 1 / (1 + np.exp(-(THETA + 0.5 + delta + rng.normal(0, 0.3, (3, 1)))))
        b = rng.random((3, 300)) < 1 / (1 + np.exp(-(THETA + delta + rng.normal(0, 0.3, (3, 1)))))
        iv = difference_interval(a.astype(float), b.astype(float), paired=True, seed=k, n_resamples=600)
        hits += iv.low <= truth <= iv.high
    assert 0.90 <= hits / 200 <= 0.99, hits


def test_difference_interval_is_zero_for_identical_and_antisymmetric():
    rng = np.random.default_rng(3)
    a = simulate(rng, 3, 200, 0.3)
    same = difference_interval(a, a, paired=True)
    assert same.mean == 0 and same.low < 0 < same.high
    b = simulate(rng, 3, 200, 0.3, shift=-1.0)
    ab, ba = difference_interval(a, b, paired=True), difference_interval(b, a, paired=True)
    assert ab.mean == pytest.approx(-ba.mean)
    assert ab.low == pytest.approx(-ba.high, abs=1.0)
    assert "paired" in ab.method
    with pytest.raises(ValueError, match="same test images"):
        difference_interval(a, b[:, :100], paired=True)
    assert "independent" in difference_interval(a, b[:, :100], paired=False).method


def test_prob_greater_is_half_for_identical_samples():
    rng = np.random.default_rng(5)
    a = simulate(rng, 3, 300, 0.3)
    p = prob_greater(a, a.copy())
    assert p.mean == 0.5
    assert p.low < 0.5 < p.high
    assert not beats(p)


def test_prob_greater_tends_to_one_for_a_clearly_better_method():
    rng = np.random.default_rng(6)
    a, b = simulate(rng, 3, 300, 0.2, shift=1.5), simulate(rng, 3, 300, 0.2)
    p = prob_greater(a, b)
    assert p.mean == 1.0 and p.low > 0.9
    assert beats(p)
    q = prob_greater(b, a)
    assert q.mean == 0.0 and q.high < 0.1 and not beats(q)


def test_prob_greater_counts_ties_half():
    a = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], dtype=float)  # accuracies 0.5, 0.25
    b = np.array([[1, 0, 1, 0]], dtype=float)  # 0.5
    assert prob_greater(a, b).mean == pytest.approx((0.5 + 0.0) / 2)


def iv(low, high):
    return Interval((low + high) / 2, low, high, "test", 3, 100)


@pytest.mark.parametrize("test, cases", [
    ("superiority", [((1.01, 5), "reproduced"), ((1.0, 5), "inconclusive"), ((-3, 1.0), "not_reproduced"),
                     ((-3, 1.01), "inconclusive")]),
    ("non_inferiority", [((-0.99, 5), "reproduced"), ((-1.0, 5), "inconclusive"), ((-5, -1.01), "not_reproduced"),
                         ((-5, -1.0), "inconclusive")]),
    ("equivalence", [((-0.99, 0.99), "reproduced"), ((-1.0, 0.5), "inconclusive"), ((-0.5, 1.0), "inconclusive"),
                     ((1.0, 3), "not_reproduced"), ((0.99, 3), "inconclusive"), ((-3, -1.0), "not_reproduced"),
                     ((-3, -0.99), "inconclusive")]),
])
def test_decide_flips_exactly_at_the_margin(test, cases):
    margin = 1.0
    for (low, high), expected in cases:
        assert decide(iv(low, high), margin, test) == expected, (test, low, high)


def test_decide_rejects_bad_margin_and_test():
    with pytest.raises(ValueError, match="margin"):
        decide(iv(0, 1), -1.0, "superiority")
    with pytest.raises(ValueError, match="test must be"):
        decide(iv(0, 1), 1.0, "better")  # type: ignore[arg-type]


def test_seed_interval_is_the_t_interval_and_covers_at_nominal_rate():
    iv = seed_interval([1.0, 2.0, 3.0])
    assert iv.mean == 2.0 and iv.high - 2.0 == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-5)  # t_{0.975,2}
    assert seed_interval([5.0]).low == seed_interval([5.0]).high == 5.0
    rng = np.random.default_rng(0)
    draws = rng.normal(10, 2, (2000, 3))
    hits = sum(iv.low <= 10 <= iv.high for iv in map(seed_interval, draws))
    assert 0.93 <= hits / 2000 <= 0.97
