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


def test_per_image_scores_round_trip_and_agree_with_the_top1():
    """The stored per-image scores decode to the probe's correctness, and their mean is its top-1."""
    from jessl.config import EvaluateConfig
    from jessl.evaluate.run import probes
    from jessl.report.tables import MetricError, per_image, per_image_matrix

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    x = rng.normal(size=(120, 4)) + y[:, None] * 1.5
    cfg = EvaluateConfig(few_shot_per_class=5, few_shot_repeats=3, label_fractions=[])
    metrics, scores = probes(x[::2], y[::2], x[1::2], y[1::2], cfg)
    entry = {"dataset": "d", "method": "m", "seed": 0, "metrics": metrics, "per_image": scores}
    for probe in ("linear_top1", "fewshot_top1", "knn_top1"):
        s = per_image(entry, probe)
        assert s.shape == (60,) and s.min() >= 0 and s.max() <= 1
        assert round(100 * s.mean(), 2) == pytest.approx(metrics[probe], abs=0.01)
    assert set(np.unique(per_image(entry, "linear_top1"))) <= {0.0, 1.0}
    assert set(np.unique(per_image(entry, "fewshot_top1") * 3)) <= {0.0, 1.0, 2.0, 3.0}
    assert per_image_matrix([{**entry, "seed": 1}, entry], "knn_top1").shape == (2, 60)
    with pytest.raises(MetricError, match="no per-image knn_top1"):
        per_image({"dataset": "d", "method": "m", "seed": 0, "path": "x.json"}, "knn_top1")
    with pytest.raises(MetricError, match="x.json: d/m/seed0: 60 per-image"):
        per_image({**entry, "path": "x.json", "per_image": {**scores, "n": 61}}, "linear_top1")


def test_per_image_encoding_is_compact_and_checked():
    from jessl.evaluate import per_image

    counts = np.array([0, 1, 2, 3, 3, 0])
    stored = per_image.encode(counts, 3)
    assert np.array_equal(per_image.decode(stored) * 3, counts)
    assert len(stored["counts"]) == 8  # base64: 4 characters per 3 images
    with pytest.raises(ValueError, match="0 … of"):
        per_image.encode(np.array([0, 4]), 3)
