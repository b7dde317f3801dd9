import numpy as np
import pytest

from jessl.evaluate.knn import knn_top1
from jessl.evaluate.linear_probe import few_label_indices, few_label_probe, linear_probe
from jessl.evaluate.spectrum import rankme


def test_knn_hand_case():
    # two training clusters on the axes; test points near each, one ambiguous point decided by weights
    train = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
    ytr = np.array([0, 0, 1, 1])
    test = np.array([[1, 0.05], [0.05, 1], [0.6, 0.4]], dtype=np.float32)
    assert knn_top1(train, ytr, test, np.array([0, 1, 0]), k=2) == 100.0
    # with k=4 every point votes; closeness must still win thanks to exp(s/τ) weights
    assert knn_top1(train, ytr, test, np.array([0, 1, 0]), k=4, temperature=0.05) == 100.0
    assert knn_top1(train, ytr, test, np.array([1, 0, 1]), k=2) == 0.0


def test_linear_probe_separable_and_chance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = (x[:, 0] > 0).astype(int)
    assert linear_probe(x[:300], y[:300], x[300:], y[300:]) > 95
    noise_y = rng.integers(0, 2, 400)
    assert linear_probe(x[:300], noise_y[:300], x[300:], noise_y[300:]) < 70


def test_few_label_draws_are_balanced_and_seeded():
    y = np.repeat(np.arange(3), 20)
    idx = few_label_indices(y, 4, seed=1)
    assert np.bincount(y[idx]).tolist() == [4, 4, 4]
    assert np.array_equal(idx, few_label_indices(y, 4, seed=1))
    assert not np.array_equal(idx, few_label_indices(y, 4, seed=2))
    with pytest.raises(ValueError, match="fewer than few_shot_per_class=30"):
        few_label_indices(y, 30, seed=0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)) + y[:, None] * 4
    mean, std = few_label_probe(x, y, x, y, per_class=3, repeats=3)
    assert mean > 90 and std >= 0


def test_rankme_closed_forms():
    # singular values all equal → uniform p → rank = number of them
    assert rankme(np.eye(6)) == pytest.approx(6, rel=1e-5)
    # rank-one matrix → one non-zero singular value → rank ≈ 1
    v = np.arange(1, 5, dtype=float)
    assert rankme(np.outer(v, v)) == pytest.approx(1, abs=1e-3)
    # two singular values in ratio 3:1 → exp(H(3/4, 1/4))
    h = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    assert rankme(np.diag([3.0, 1.0])) == pytest.approx(np.exp(h), rel=1e-5)
